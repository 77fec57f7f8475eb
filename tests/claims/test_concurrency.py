"""Approvals and payouts racing on real PostgreSQL: one member's claims approved from many
threads at once never pass the claim count (two a year for chongqing-2015-medical); the same
claim granted from many threads makes one payout and one payable; one result file imported
from many threads pays once."""

from __future__ import annotations

import datetime
from collections import Counter
from typing import Any

import pytest
from django.db import connection, connections  # noqa: F401 - connection: skipif

from huzhu.claims.approval import claim_grant
from huzhu.claims.ingest import settlement_ingest
from huzhu.claims.models import Claim, ClaimPolicy, MemberPeriodUsage, ReviewAction, ReviewLevel
from huzhu.claims.review import claim_review
from huzhu.claims.services import claim_file
from huzhu.claims.status import GRANTED, ClaimStatus
from huzhu.ledger.models import Transaction
from huzhu.notices.models import OutboxMessage
from huzhu.payouts import bankfile
from huzhu.payouts.channels import FileDropChannel
from huzhu.payouts.models import LineStatus, Payout, PayoutLine, ResultFile
from huzhu.payouts.services import (
    batch_approve,
    batch_build,
    batch_file,
    batch_send,
    payout_create,
    payouts_reconcile,
    result_import,
)
from huzhu.payouts.shown import ClaimState, claims_in_state
from tests.concurrency import run_together

from .conftest import MEDICAL, ledger_clean, record

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif("connection.vendor != 'postgresql'",
                       reason="SQLite serialises every writer; the race needs PostgreSQL"),
    pytest.mark.django_db(transaction=True),
]
AS_OF = datetime.date(2026, 12, 31)
STAYS = [("2026-03-01", "2026-03-10"), ("2026-05-01", "2026-05-10"),
         ("2026-07-01", "2026-07-10"), ("2026-09-01", "2026-09-10"),
         ("2026-11-01", "2026-11-10")]




def in_review(w: Any, n: int) -> list[Claim]:
    """``n`` claims of 张三 on separate stays, all waiting in review (drawn as samples)."""
    ClaimPolicy.objects.update_or_create(product_code=MEDICAL, defaults={"sample_percent": 100})
    out = []
    for i in range(n):
        begin, end = STAYS[i]
        s = settlement_ingest(record=record(f"R{i}", w.zhangsan.id_number, begin=begin, end=end),
                              actor=w.bureau).settlement
        c = claim_file(member=w.zhangsan, settlement=s, product_code=MEDICAL, actor=w.lisi,
                       source="agent", as_of=AS_OF)
        assert c.status == ClaimStatus.IN_REVIEW
        out.append(c)
    return out


def assert_claim_count_held(claims: list[Claim]) -> None:
    statuses = Counter(Claim.objects.filter(pk__in=[c.pk for c in claims])
                       .values_list("status", flat=True))
    assert statuses == {ClaimStatus.APPROVED: 2, ClaimStatus.REJECTED: len(claims) - 2}, statuses
    granted = list(Claim.objects.filter(pk__in=[c.pk for c in claims], status__in=GRANTED))
    usage = MemberPeriodUsage.objects.get(member_id=claims[0].member_id, product_code=MEDICAL)
    assert (usage.claims, usage.granted_fen) == (2, sum(c.payable_fen for c in granted))
    assert Payout.objects.filter(claim__in=claims).count() == 2
    assert Transaction.objects.filter(source_type="claims.claim").count() == 2
    for c in Claim.objects.filter(pk__in=[c.pk for c in claims], status=ClaimStatus.REJECTED):
        assert c.payable_fen == 0 and "CLAIM_COUNT_EXCEEDED" in c.assessment.reasons
    assert OutboxMessage.objects.filter(template="CLAIM_APPROVED").count() == 2
    assert ledger_clean() == []


def test_parallel_grants_of_one_members_claims_never_pass_the_claim_count(money_world):
    claims = in_review(money_world, 5)
    results = run_together([lambda c=c: claim_grant(Claim.objects.get(pk=c.pk),
                                                    actor=money_world.top_reviewer)
                            for c in claims])
    assert all(isinstance(r, Claim) for r in results), results
    assert_claim_count_held(claims)


def test_parallel_review_approvals_of_one_members_claims_never_pass_the_claim_count(money_world):
    w = money_world
    ReviewLevel.objects.create(fund_region=w.province, level=1, name="协会审核",
                               org_kind="region", working_days=2)
    claims = in_review(w, 4)
    results = run_together([lambda c=c: claim_review(Claim.objects.get(pk=c.pk),
                                                     actor=w.top_reviewer,
                                                     action=ReviewAction.APPROVE)
                            for c in claims])
    assert all(isinstance(r, Claim) for r in results), results
    assert_claim_count_held(claims)


def test_a_review_approval_racing_new_filings_of_the_same_member_holds_the_count(money_world):
    """Reviews and new filings of one member take their locks in one order (no deadlock)."""
    w = money_world
    ReviewLevel.objects.create(fund_region=w.province, level=1, name="协会审核",
                               org_kind="region", working_days=2)
    claims = in_review(w, 2)
    ClaimPolicy.objects.filter(product_code=MEDICAL).update(sample_percent=0)
    later = [settlement_ingest(record=record(f"N{i}", w.zhangsan.id_number, begin=b, end=e),
                               actor=w.bureau).settlement for i, (b, e) in enumerate(STAYS[2:4])]
    results = run_together(
        [lambda c=c: claim_review(Claim.objects.get(pk=c.pk), actor=w.top_reviewer,
                                  action=ReviewAction.APPROVE) for c in claims]
        + [lambda s=s: claim_file(member=w.zhangsan, settlement=s, product_code=MEDICAL,
                                  actor=w.lisi, source="agent", as_of=AS_OF) for s in later])
    assert all(isinstance(r, Claim) for r in results), results
    assert_claim_count_held(list(Claim.objects.filter(member=w.zhangsan)))


def test_the_same_claim_granted_from_many_threads_makes_one_payout_and_one_payable(money_world):
    w = money_world
    claim = in_review(w, 1)[0]
    results = run_together([lambda: claim_grant(Claim.objects.get(pk=claim.pk),
                                                actor=w.top_reviewer)] * 6)
    ok = [r for r in results if isinstance(r, Claim)]
    assert len(ok) == 1, results
    from huzhu.claims.status import IllegalTransition

    assert all(isinstance(r, IllegalTransition) for r in results if r not in ok), results
    assert Payout.objects.filter(claim=claim).count() == 1
    assert Transaction.objects.filter(source_type="claims.claim").count() == 1
    usage = MemberPeriodUsage.objects.get(member=w.zhangsan, product_code=MEDICAL)
    assert usage.claims == 1
    assert OutboxMessage.objects.filter(key=f"claim-approved:{claim.pk}").count() == 1

    # payout_create itself, raced on an approved claim that has no payout yet
    Payout.objects.filter(claim=claim).delete()
    made = run_together([lambda: payout_create(claim=Claim.objects.get(pk=claim.pk)).pk] * 6)
    assert all(isinstance(r, int) for r in made), made
    assert len(set(made)) == 1 and Payout.objects.filter(claim=claim).count() == 1
    assert ledger_clean() == []


def test_one_result_file_imported_from_many_threads_pays_once(money_world, tmp_path):
    w = money_world
    for i, (b, e) in enumerate(STAYS[:2]):
        s = settlement_ingest(record=record(f"P{i}", w.zhangsan.id_number, begin=b, end=e),
                              actor=w.bureau).settlement
        claim_file(member=w.zhangsan, settlement=s, product_code=MEDICAL, actor=w.lisi,
                   source="agent", as_of=AS_OF)
    batch = batch_build(fund_region=w.province, actor=w.qianjiu).batch
    batch_approve(batch=batch, actor=w.checker)
    batch = batch_send(batch=batch, actor=w.qianjiu, channel=FileDropChannel(tmp_path))
    _no, out = bankfile.parse_batch(batch_file(batch))
    rows = [bankfile.ResultLine(0, batch.number, o.out_detail_no, o.account_no, o.account_name,
                                o.amount_fen, "paid", "", f"BK{i}") for i, o in enumerate(out)]
    utf8 = bankfile.render_result(rows)
    gbk = utf8.decode("utf-8-sig").encode("gbk")  # the same result, other bytes

    results = run_together(
        [lambda: result_import(batch=batch, data=utf8, file_name="r.csv",
                               actor=w.qianjiu).pk] * 4
        + [lambda: result_import(batch=batch, data=gbk, file_name="r-gbk.csv",
                                 actor=w.qianjiu).pk] * 2)
    assert all(isinstance(r, int) for r in results), results
    assert len(set(results[:4])) == 1 and len(set(results[4:])) == 1
    assert ResultFile.objects.count() == 2
    assert sum(ResultFile.objects.values_list("paid", flat=True)) == 2
    assert sum(ResultFile.objects.values_list("repeated", flat=True)) == 2
    assert PayoutLine.objects.filter(status=LineStatus.PAID).count() == 2
    assert Transaction.objects.filter(key__startswith="payout-paid:").count() == 2
    assert OutboxMessage.objects.filter(template="CLAIM_PAID").count() == 2
    assert claims_in_state(Claim.objects.all(), ClaimState.PAID).count() == 2
    assert Claim.objects.filter(status=ClaimStatus.APPROVED).count() == 2
    assert payouts_reconcile(fund_region=w.province).ok
    assert ledger_clean() == []
