"""Two approvers racing on one consolation payment, on real PostgreSQL: it is approved
once, with one payable posting and one payout (the row lock of consolation_decide)."""

from __future__ import annotations

import pytest
from django.db import connection  # noqa: F401 - connection: skipif

from huzhu.accounts.models import User
from huzhu.accounts.roles import Role
from huzhu.claims.models import Consolation, ConsolationStatus
from huzhu.errors import DomainError
from huzhu.ledger.models import Transaction
from huzhu.notices.models import OutboxMessage
from huzhu.payouts.consolation import consolation_decide, consolation_propose
from huzhu.payouts.models import Payout
from tests.claims.conftest import ledger_clean
from tests.concurrency import run_together
from tests.conftest import PASSWORD

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif("connection.vendor != 'postgresql'",
                       reason="SQLite serialises every writer; the race needs PostgreSQL"),
    pytest.mark.django_db(transaction=True),
]


def test_two_approvers_at_once_approve_it_once(world):
    w = world
    proposer, *approvers = (User.objects.create_user(
        username=f"u{i}", password=PASSWORD, role=Role.CITY_STAFF, organisation=w.city_a,
        display_name=f"市经办{i}") for i in range(4))
    row = consolation_propose(member=w.zhangsan, amount_fen=200_000, reason="重病慰问",
                              actor=proposer)

    def approve(user):
        return lambda: consolation_decide(consolation=Consolation.objects.get(pk=row.pk),
                                          approve=True, actor=user)

    results = run_together([approve(u) for u in approvers])
    won = [r for r in results if isinstance(r, Consolation)]
    lost = [r for r in results if isinstance(r, DomainError)]
    assert len(won) == 1 and len(lost) == len(approvers) - 1, results
    assert all("不能再次审批" in r.message for r in lost)
    row.refresh_from_db()
    assert row.status == ConsolationStatus.APPROVED and row.decided_by == won[0].decided_by
    assert Payout.objects.filter(consolation=row).count() == 1
    assert Transaction.objects.filter(key=f"consolation-payable:{row.pk}").count() == 1
    assert OutboxMessage.objects.filter(key=f"consolation-approved:{row.pk}").count() == 1
    assert ledger_clean() == []
