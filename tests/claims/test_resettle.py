"""Refunds and re-settlement (issue 15 part 2): a refunded or re-settled stay keeps one claim,
on the settlement that counts, whichever order the records arrive in; a granted claim goes
the correction road (追回, or a top-up the caps allow)."""

from __future__ import annotations

import pytest

from huzhu.claims.corrections import correction_decide, corrections_pending
from huzhu.claims.ingest import settlement_import_file, settlement_ingest
from huzhu.claims.models import Claim, ClaimPolicy, MemberPeriodUsage, Recovery
from huzhu.ledger.models import Transaction
from huzhu.notices.models import OutboxMessage
from huzhu.payouts.models import Payout, PayoutStatus
from huzhu.payouts.services import batch_build, payouts_reconcile
from huzhu.payouts.shown import claim_state, claims_in_state, claims_shown
from huzhu.settlements.format import SettlementError
from huzhu.settlements.models import Settlement, SettlementDecision

from .bureau_samples import envelope_2304, one_line, record_5203, refund_2305
from .conftest import MEDICAL, ledger_clean, record
from .test_claim_types import pay


@pytest.fixture
def w(money_world):
    ClaimPolicy.objects.create(product_code=MEDICAL, auto_claim=True)
    return money_world


def push(w, message):
    return settlement_ingest(record=message, actor=w.bureau).settlement


def decision(setl_id):
    return SettlementDecision.objects.get(settlement__setl_id=setl_id,
                                          settlement__is_current=True).decision


def test_a_refund_after_payment_goes_to_recovery(w, tmp_path):
    rec = record("A1", w.zhangsan.id_number)
    push(w, envelope_2304(rec))
    claim = Claim.objects.get()
    assert claim.status == "approved" and claim.payable_fen == 140_000
    pay(w, tmp_path)
    push(w, refund_2305(rec, "R1"))
    assert Payout.objects.get(claim=claim).status == PayoutStatus.PAID
    claim.refresh_from_db()
    assert claim.status == "approved" and claim.payable_fen == 140_000  # money left alone
    a = corrections_pending(Claim.objects.all()).get()
    assert a.payable_fen == 0 and a.correction_was_fen == 140_000
    assert any("已退费" in r["message"] for r in claim.risk)
    assert decision("R1") == "refunded" and Claim.objects.count() == 1
    correction_decide(claim=claim, assessment=a, actor=w.wangwu, kind="recovery")
    assert Recovery.objects.get(claim=claim).amount_fen == 140_000
    claim.refresh_from_db()
    assert claim.payable_fen == 0


def test_a_refund_before_payment_cancels_the_payout_and_nothing_is_paid(w):
    rec = record("A1", w.zhangsan.id_number)
    push(w, envelope_2304(rec))
    claim = Claim.objects.get()
    assert claim.payable_fen == 140_000
    push(w, refund_2305(rec, "R1"))
    push(w, refund_2305(rec, "R1"))  # delivered twice: cancelled once
    claim.refresh_from_db()
    payout = Payout.objects.get(claim=claim)
    assert payout.status == PayoutStatus.CANCELLED and payout.amount_fen == 140_000
    assert claim.status == "approved" and claim.payable_fen == 0
    assert not corrections_pending(Claim.objects.all()).exists()  # nothing to recover
    assert not Recovery.objects.exists()
    assert MemberPeriodUsage.objects.get(member=w.zhangsan).granted_fen == 0
    cancel = Transaction.objects.get(key=f"payout-cancelled:{payout.pk}")
    assert sorted(leg.amount_fen for leg in cancel.legs.all()) == [-140_000, 140_000]
    assert batch_build(fund_region=w.province, actor=w.qianjiu).batch is None
    rec_ = payouts_reconcile(fund_region=w.province)
    assert rec_.ok and rec_.owed_fen == 0 and rec_.ledger_payable_fen == 0
    assert ledger_clean() == []
    assert claim_state(claim) == "pay_cancelled"
    assert claims_shown(Claim.objects.all()).get().shown_status == "pay_cancelled"
    assert list(claims_in_state(Claim.objects.all(), "pay_cancelled")) == [claim]
    assert not claims_in_state(Claim.objects.all(), "approved").exists()
    sms = OutboxMessage.objects.filter(template="CLAIM_CANCELLED")
    assert sms.count() == 1 and "1,400.00" in str(sms.get().params)
    assert any("已作废" in r["message"] for r in claim.risk)


def test_a_refund_after_batching_waits_for_recovery(w):
    rec = record("A1", w.zhangsan.id_number)
    push(w, envelope_2304(rec))
    claim = Claim.objects.get()
    batch = batch_build(fund_region=w.province, actor=w.qianjiu).batch
    assert batch is not None
    push(w, refund_2305(rec, "R1"))
    assert Payout.objects.get(claim=claim).status == PayoutStatus.BATCHED  # left alone
    a = corrections_pending(Claim.objects.all()).get()
    assert a.payable_fen == 0 and a.correction_was_fen == 140_000


def test_a_refund_cancelled_then_settled_again_pays_the_new_figure_once(w, tmp_path):
    first = record("A1", w.zhangsan.id_number)
    push(w, envelope_2304(first))
    push(w, refund_2305(first, "R1"))
    claim = Claim.objects.get()
    assert claim.payable_fen == 0
    again = record("B1", w.zhangsan.id_number, inscp=800_000, hifp=560_000,
                   mdtrt_id="MDA1", setl_time="2026-03-12 11:00:00")
    push(w, envelope_2304(again))
    latest = corrections_pending(Claim.objects.all()).order_by("pk").last()
    assert latest.correction_was_fen == 0 and latest.payable_fen > 0
    correction_decide(claim=claim, assessment=latest, actor=w.wangwu, kind="top_up")
    claim.refresh_from_db()
    assert claim.payable_fen == latest.payable_fen and claim_state(claim) == "approved"
    pay(w, tmp_path)
    assert claim_state(claim) == "paid"
    paid = Payout.objects.filter(claim=claim, status=PayoutStatus.PAID)
    assert [p.amount_fen for p in paid] == [latest.payable_fen]
    assert payouts_reconcile(fund_region=w.province).ok and ledger_clean() == []


def test_a_refund_before_its_original_means_no_claim(w):
    rec = record("A1", w.zhangsan.id_number)
    refund = record_5203(record("R1", w.zhangsan.id_number), refd_setl_flag="1",
                         mdtrt_id="MDA1", setl_time="2026-03-12 10:00:00")
    info = refund["output"]["setlinfo"]
    for k in ("medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt",
              "inscp_scp_amt", "hifp_pay", "fund_pay_sumamt", "psn_pay", "cash_payamt"):
        if info[k] not in ("0.00", "0"):
            info[k] = f"-{info[k]}"
    push(w, refund)  # 5203 of the refund carries the person: it arrives first
    push(w, envelope_2304(rec))
    assert not Claim.objects.exists()
    assert decision("R1") == "refunded" and decision("A1") == "refunded"


def test_a_stay_settled_again_corrects_the_first_claim(w, tmp_path):
    first = record("A1", w.zhangsan.id_number)
    push(w, envelope_2304(first))
    pay(w, tmp_path)  # paid: the difference is recovered (unpaid, it is cancelled: above)
    push(w, refund_2305(first, "R1"))
    again = record("B1", w.zhangsan.id_number, inscp=800_000, hifp=560_000,
                   mdtrt_id="MDA1", setl_time="2026-03-12 11:00:00")
    push(w, envelope_2304(again))
    claim = Claim.objects.get()  # one claim for one stay, now on the new settlement
    assert claim.setl_id == "B1" and claim.settlement.setl_id == "B1"
    pending = list(corrections_pending(Claim.objects.all()).order_by("pk"))
    latest = pending[-1]
    assert latest.correction_was_fen == 140_000 and 0 < latest.payable_fen < 140_000
    assert decision("B1") == "claimed"
    correction_decide(claim=claim, assessment=latest, actor=w.wangwu, kind="recovery")
    assert Recovery.objects.get().amount_fen == 140_000 - latest.payable_fen


@pytest.mark.parametrize("order", ["old_first", "new_first"])
def test_two_settlements_of_one_stay_in_either_order_give_one_claim(w, order):
    old = envelope_2304(record("A1", w.zhangsan.id_number))
    new = envelope_2304(record("B1", w.zhangsan.id_number, inscp=800_000, hifp=560_000,
                               mdtrt_id="OTHER", setl_time="2026-03-11 09:00:00"))
    for m in ([old, new] if order == "old_first" else [new, old]):
        push(w, m)  # same person, hospital and dates: the same stay
    claim = Claim.objects.get()
    assert claim.setl_id == "B1"
    if order == "new_first":
        assert decision("A1") == "superseded" and claim.payable_fen < 140_000
        assert not corrections_pending(Claim.objects.all()).exists()


def test_both_in_one_file_give_one_claim(w):
    old = envelope_2304(record("A1", w.zhangsan.id_number))
    new = envelope_2304(record("B1", w.zhangsan.id_number, mdtrt_id="MDA1",
                               setl_time="2026-03-11 09:00:00"))
    report = settlement_import_file(path_or_bytes=one_line(old, new), file_name="d.jsonl",
                                    actor=w.bureau)
    assert report.ok and report.created == 2
    assert list(Claim.objects.values_list("setl_id", flat=True)) == ["B1"]


def test_a_claim_in_review_is_refused_when_its_stay_is_refunded(w):
    ClaimPolicy.objects.filter(product_code=MEDICAL).update(review_threshold_fen=100)
    rec = record("A1", w.zhangsan.id_number)
    push(w, envelope_2304(rec))
    assert Claim.objects.get().status == "in_review"
    push(w, refund_2305(rec, "R1"))
    assert Claim.objects.get().status == "rejected"
    assert not corrections_pending(Claim.objects.all()).exists()


def test_another_regions_refund_does_not_find_this_regions_stay(w):
    rec = record("A1", w.zhangsan.id_number)
    push(w, envelope_2304(rec))
    with pytest.raises(SettlementError) as exc:
        settlement_ingest(record=refund_2305(rec, "R9"), actor=w.bureau_b)
    assert exc.value.field == "mdtrt_id" and "本统筹区" in exc.value.text()
    assert Claim.objects.get().payable_fen == 140_000
    assert not corrections_pending(Claim.objects.all()).exists()
    assert not Settlement.objects.filter(setl_id="R9").exists()


def test_two_visits_of_one_day_at_one_hospital_are_two_stays(world):
    from huzhu.settlements.stays import stays_of

    a = push(world, envelope_2304(record("O1", world.zhangsan.id_number, begin="2026-03-01",
                                         end="2026-03-01", med_type="11")))
    b = push(world, envelope_2304(record("O2", world.zhangsan.id_number, begin="2026-03-01",
                                         end="2026-03-01", med_type="11")))
    assert stays_of([a.pk, b.pk]) == {}
    c = push(world, envelope_2304(record("O3", world.zhangsan.id_number, mdtrt_id="MDO1",
                                         begin="2026-03-01", end="2026-03-01")))
    assert [r.pk for r in stays_of([c.pk])[c.pk]] == [a.pk, c.pk]  # the same mdtrt_id


def test_each_refund_cancels_the_settlement_with_its_total():
    import datetime

    from huzhu.settlements.stays import StayRow, effective

    def row(pk, hour, fen):
        return StayRow(pk, 1, "MD", "b", "H", datetime.date(2026, 3, 1),
                       datetime.date(2026, 3, 5), datetime.datetime(2026, 3, 5, hour, tzinfo=datetime.UTC), fen, 1)

    assert effective([row(1, 9, 100)]) == 1
    assert effective([row(1, 9, 100), row(2, 10, -100)]) is None
    assert effective([row(1, 9, 100), row(2, 10, -100), row(3, 11, 90)]) == 3
    # a refund of the first after the second was settled: the second still counts
    assert effective([row(1, 9, 100), row(3, 11, 90), row(2, 12, -100)]) == 3
    assert effective([row(3, 11, 90), row(1, 9, 100)]) == 3  # arrival order does not matter


def test_no_one_files_a_claim_on_a_refund_or_a_superseded_settlement(w):
    from huzhu.claims.services import claim_file
    from huzhu.errors import DomainError

    rec = record("A1", w.zhangsan.id_number)
    push(w, envelope_2304(rec))
    refund = push(w, refund_2305(rec, "R1"))
    with pytest.raises(DomainError) as exc:
        claim_file(member=w.zhangsan, settlement=refund, product_code=MEDICAL)
    assert "退费" in str(exc.value)
    ClaimPolicy.objects.filter(product_code=MEDICAL).update(auto_claim=False)
    old = push(w, envelope_2304(record("C1", w.zhangsan.id_number, begin="2026-05-01",
                                       end="2026-05-04")))
    push(w, envelope_2304(record("C2", w.zhangsan.id_number, mdtrt_id="MDC1",
                                 begin="2026-05-01", end="2026-05-04",
                                 setl_time="2026-05-05 09:00:00")))
    with pytest.raises(DomainError) as exc:
        claim_file(member=w.zhangsan, settlement=old, product_code=MEDICAL)
    assert "C2" in str(exc.value) and not Claim.objects.filter(setl_id="C1").exists()


def test_one_stay_is_one_stay_across_a_blind_index_key_rotation(world, settings):
    """The first settlement indexed under the old key, the second (another mdtrt_id) under the
    new one while ``huzhu keys rotate --index`` has not reached the first: still one stay."""
    from huzhu.settlements.stays import stays_of

    a = push(world, envelope_2304(record("K1", world.zhangsan.id_number)))
    settings.PII_INDEX_KEY = f"1:{settings.PII_INDEX_KEY},2:k{'x' * 40}"
    b = push(world, envelope_2304(record("K2", world.zhangsan.id_number,
                                         setl_time="2026-03-10 11:00:00")))
    assert not a.certno_bidx.startswith("v") and b.certno_bidx.startswith("v2:")
    assert sorted(r.pk for r in stays_of([b.pk])[b.pk]) == [a.pk, b.pk]
