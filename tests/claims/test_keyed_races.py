"""Claims from papers at the same moment, on PostgreSQL (issue 15 part 3): two reviewers
keying the same slip again at once accept it once; the check and the bureau's record of the
same stay arriving at once leave one claim for the stay, on the bureau's record."""

from __future__ import annotations

import pytest
from django.db import connection  # noqa: F401 - skipif

from huzhu.accounts.models import User
from huzhu.accounts.roles import Role
from huzhu.claims.ingest import settlement_ingest
from huzhu.claims.keyed import keyed_check
from huzhu.claims.models import Claim, KeyedStatus, KeyedStay
from huzhu.errors import DomainError
from huzhu.payouts.models import Payout
from tests.concurrency import run_together

from .bureau_samples import envelope_2304
from .conftest import record
from .test_keyed_entry import AS_OF, key, slip
from .test_races import whole

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif("connection.vendor != 'postgresql'",
                       reason="SQLite serialises every writer; the race needs PostgreSQL"),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def w(money_world):
    return money_world


def test_two_reviewers_checking_one_slip_at_once_accept_it_once(w):
    other = User.objects.create_user(username="liushen", password="x", role=Role.REVIEWER,
                                     organisation=w.county_a, display_name="刘审")
    k = key(w)

    def check(who):
        return lambda: keyed_check(keyed=k, amounts=slip(), actor=who, as_of=AS_OF)

    results = run_together([check(w.wangwu), check(other)])
    won = [r for r in results if isinstance(r, KeyedStay)]
    lost = [r for r in results if isinstance(r, DomainError)]
    assert len(won) == 1 and len(lost) == 1, results
    assert "不能再复核" in lost[0].message
    assert Claim.objects.count() == 1 and Payout.objects.count() == 1
    assert KeyedStay.objects.get().status == KeyedStatus.ACCEPTED
    whole()


def test_the_check_and_the_bureaus_record_at_once_leave_one_claim(w):
    k = key(w)
    rec = envelope_2304(record("B1", w.zhangsan.id_number, begin="2026-03-01",
                               end="2026-03-10", setl_time="2026-03-10 09:00:00"))

    def push():
        return settlement_ingest(record=rec, actor=w.bureau, as_of=AS_OF)

    def check():
        return keyed_check(keyed=k, amounts=slip(), actor=w.wangwu, as_of=AS_OF)

    results = run_together([push, check])
    assert not isinstance(results[0], Exception), results
    live = Claim.objects.exclude(status="withdrawn")
    # either the check won (its claim moved to the bureau's record) or it was refused
    assert live.count() == 1 or (live.count() == 0 and isinstance(results[1], DomainError))
    assert not live.filter(setl_id__startswith="JBLR").exists()
    assert Payout.objects.count() <= 1
    if isinstance(results[1], KeyedStay):  # the check won: the bureau's record confirmed it
        assert KeyedStay.objects.get().status == KeyedStatus.CONFIRMED
        assert live.get().setl_id == "B1"
    whole()
