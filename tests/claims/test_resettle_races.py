"""A stay's settlements arriving in two imports at once, on PostgreSQL (issue 15 part 2):
exactly one claim and one payment for the stay, whichever import wins; each fund region's
imports see only their own stays."""

from __future__ import annotations

import pytest
from django.db import connection  # noqa: F401 - skipif

from huzhu.claims.corrections import corrections_pending
from huzhu.claims.ingest import settlement_import_file
from huzhu.claims.models import Claim, ClaimPolicy
from huzhu.payouts.models import Payout
from huzhu.settlements.models import SettlementDecision
from tests.concurrency import run_together

from .bureau_samples import envelope_2304, one_line, record_5203
from .conftest import MEDICAL, record
from .test_races import whole

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif("connection.vendor != 'postgresql'",
                       reason="SQLite serialises every writer; the race needs PostgreSQL"),
    pytest.mark.django_db(transaction=True),
]


def importer(w, data: bytes, name: str, actor=None):
    def go():
        return settlement_import_file(path_or_bytes=data, file_name=name,
                                      actor=actor or w.bureau)
    return go


def stays(w, n: int) -> tuple[bytes, bytes]:
    """``n`` stays of 张三 and 陈八: each settled, and settled again under a new setl_id."""
    first, again = [], []
    for i in range(n):
        who = (w.zhangsan if i % 2 else w.chenba).id_number
        begin, end = f"2026-{1 + i // 4:02d}-{1 + (i % 4) * 7:02d}", f"2026-{1 + i // 4:02d}-{3 + (i % 4) * 7:02d}"
        first.append(envelope_2304(record(f"A{i}", who, begin=begin, end=end)))
        again.append(envelope_2304(record(f"B{i}", who, begin=begin, end=end, mdtrt_id=f"MDA{i}",
                                          inscp=900_000, hifp=630_000,
                                          setl_time=f"{end} 16:00:00")))
    return one_line(*first), one_line(*again)


def test_two_imports_of_the_same_stays_at_once_pay_each_stay_once(money_world):
    w = money_world
    ClaimPolicy.objects.create(product_code=MEDICAL, auto_claim=True)
    first, again = stays(w, 8)
    results = run_together([importer(w, first, "first.jsonl"),
                            importer(w, again, "again.jsonl")], timeout=180)
    assert not [r for r in results if isinstance(r, BaseException)], results
    assert all(r.ok for r in results)
    claims = list(Claim.objects.order_by("setl_id").values_list("setl_id", flat=True))
    assert claims == sorted(f"B{i}" for i in range(8) if Claim.objects.filter(
        setl_id=f"B{i}").exists()) and len(claims) == len(set(claims))
    # one claim per stay, always on the settlement that counts (the later one)
    for i in range(8):
        assert Claim.objects.filter(setl_id__in=[f"A{i}", f"B{i}"]).count() <= 1
        assert not Claim.objects.filter(setl_id=f"A{i}").exists()
    assert Payout.objects.count() == Claim.objects.filter(status="approved").count()
    assert not SettlementDecision.objects.filter(decided_at__isnull=True).exists()
    # a claim granted on a first settlement keeps its money until the correction decision
    for a in corrections_pending(Claim.objects.all()):
        assert a.correction_was_fen > a.payable_fen
    whole()


def test_a_refund_and_its_original_at_once_make_no_claim(money_world):
    w = money_world
    ClaimPolicy.objects.create(product_code=MEDICAL, auto_claim=True)
    originals, refunds = [], []
    for i in range(6):
        rec = record(f"A{i}", w.zhangsan.id_number, begin=f"2026-0{1 + i}-01",
                     end=f"2026-0{1 + i}-05")
        originals.append(envelope_2304(rec))
        refund = record_5203(record(f"R{i}", w.zhangsan.id_number, begin=f"2026-0{1 + i}-01",
                                    end=f"2026-0{1 + i}-05", mdtrt_id=f"MDA{i}",
                                    setl_time=f"2026-0{1 + i}-06 10:00:00"), refd_setl_flag="1")
        info = refund["output"]["setlinfo"]
        for k in ("medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt",
                  "inscp_scp_amt", "hifp_pay", "fund_pay_sumamt", "psn_pay", "cash_payamt"):
            if info[k] not in ("0.00", "0"):
                info[k] = f"-{info[k]}"
        refunds.append(refund)
    results = run_together([importer(w, one_line(*originals), "a.jsonl"),
                            importer(w, one_line(*refunds), "r.jsonl")], timeout=180)
    assert not [r for r in results if isinstance(r, BaseException)], results
    assert all(r.ok for r in results)
    # a claim made before its refund arrived was granted, never paid: its payout is cancelled
    # and it holds 0 (nothing to recover); none is doubled
    assert not corrections_pending(Claim.objects.all()).exists()
    assert all(c.payable_fen == 0 for c in Claim.objects.filter(status="approved"))
    assert set(Payout.objects.values_list("status", flat=True)) <= {"cancelled"}
    assert not Claim.objects.filter(status__in=["in_review", "submitted"]).exists()
    assert not SettlementDecision.objects.filter(decided_at__isnull=True).exists()
    whole()


def test_another_regions_import_at_once_touches_nothing_here(money_world):
    w = money_world
    ClaimPolicy.objects.create(product_code=MEDICAL, auto_claim=True)
    mine = one_line(envelope_2304(record("A1", w.zhangsan.id_number)))
    theirs = one_line(envelope_2304(record("B1", w.zhangsan.id_number, mdtrt_id="MDA1",
                                           setl_time="2026-03-11 09:00:00")))
    results = run_together([importer(w, mine, "mine.jsonl"),
                            importer(w, theirs, "theirs.jsonl", actor=w.bureau_b)], timeout=180)
    assert all(r.ok for r in results), results
    assert list(Claim.objects.values_list("setl_id", flat=True)) == ["A1"]
    assert not corrections_pending(Claim.objects.all()).exists()
    whole()


def test_a_refund_while_finance_builds_a_batch_pays_nothing_or_waits_for_recovery(money_world):
    """The refund cancels the unpaid payout, or the batch took it first and the refund waits
    for 追回: never both, never neither, and the books agree either way."""
    from huzhu.payouts.models import PayoutLine
    from huzhu.payouts.services import batch_build, payouts_reconcile

    from .bureau_samples import refund_2305

    w = money_world
    ClaimPolicy.objects.create(product_code=MEDICAL, auto_claim=True)
    recs = [record(f"A{i}", w.zhangsan.id_number if i % 2 else w.chenba.id_number,
                   begin=f"2026-0{1 + i}-01", end=f"2026-0{1 + i}-05") for i in range(6)]
    settlement_import_file(path_or_bytes=one_line(*[envelope_2304(r) for r in recs]),
                           file_name="a.jsonl", actor=w.bureau)
    assert Payout.objects.filter(status="payable").count() >= 3  # (the caps hold some back)
    refunds = one_line(*[refund_2305(r, f"R{i}", f"2026-0{1 + i}-06 10:00:00")
                         for i, r in enumerate(recs)])
    results = run_together([importer(w, refunds, "r.jsonl"),
                            lambda: batch_build(fund_region=w.province, actor=w.qianjiu)],
                           timeout=180)
    assert not [r for r in results if isinstance(r, BaseException)], results
    pending = {a.claim_id for a in corrections_pending(Claim.objects.all())}
    for claim in Claim.objects.filter(payouts__isnull=False):
        payout = Payout.objects.get(claim=claim)
        lines = PayoutLine.objects.filter(payout=payout).count()
        if payout.status == "cancelled":
            assert claim.payable_fen == 0 and lines == 0 and claim.pk not in pending
        else:
            assert payout.status == "batched" and lines == 1 and claim.pk in pending
    assert payouts_reconcile(fund_region=w.province).ok
    whole()
