"""Claims: assessment by the rules engine, usage across claims, risk checks, transitions."""

from __future__ import annotations

import datetime

import pytest

from huzhu.audit.models import Event
from huzhu.claims.ingest import settlement_ingest
from huzhu.claims.models import Assessment, Claim, ClaimPolicy
from huzhu.claims.risk import sampled
from huzhu.claims.services import claim_file, claims_create_auto
from huzhu.claims.status import ClaimStatus, IllegalTransition, claim_transition
from huzhu.enrollment.models import Enrollment
from huzhu.errors import Conflict, DomainError
from huzhu.settlements.models import Settlement

from .conftest import MEDICAL, record

AS_OF = datetime.date(2026, 3, 20)


def settle(w, setl_id, member=None, **kw):
    member = member or w.zhangsan
    return settlement_ingest(record=record(setl_id, member.id_number, **kw),
                             actor=w.bureau).settlement


def file(w, s, member=None, **kw):
    return claim_file(member=member or w.zhangsan, settlement=s, product_code=MEDICAL,
                      actor=w.lisi, source="agent", as_of=kw.pop("as_of", AS_OF), **kw)


def test_chongqing_claim_by_hand_is_approved_straight_through(claims_world):
    w = claims_world
    claim = file(w, settle(w, "S1"))
    # SP_in = 10,000 − 7,000 = 3,000; 70 % = 2,100; capped at 20 % × 7,000 = 1,400.00
    assert claim.payable_fen == 140_000 and claim.status == ClaimStatus.APPROVED
    a = claim.assessment
    assert a.payable_fen == 140_000 and "RATIO_SHARE_CAP" in a.reasons
    assert a.product_version.code == MEDICAL and len(a.input_hash) == 64
    assert any("3,000.00" in step["zh"] for step in a.trace)
    assert any("1,400.00" in step["zh"] for step in a.trace)
    assert claim.risk == [] and claim.decided_at is not None
    events = list(Event.objects.filter(object_type="claims.claim", object_id=str(claim.pk))
                  .values_list("action", "after__status"))
    assert ("claim.filed", "approved") in events  # filed and decided: one event says both


def test_third_claim_of_the_year_is_refused(claims_world):
    w = claims_world
    first = file(w, settle(w, "S1", begin="2026-02-01", end="2026-02-05"))
    second = file(w, settle(w, "S2", begin="2026-03-01", end="2026-03-05"))
    third = file(w, settle(w, "S3", begin="2026-03-12", end="2026-03-15"))
    assert [c.status for c in (first, second)] == ["approved", "approved"]
    assert third.payable_fen == 0 and third.status == ClaimStatus.REJECTED
    assert "CLAIM_COUNT_EXCEEDED" in third.assessment.reasons
    assert third.assessment.usage["benefits"]["medical"]["claims"] == 2


def test_event_before_coverage_is_stopped(claims_world):
    w = claims_world
    claim = file(w, settle(w, "S0", begin="2025-12-20", end="2025-12-28"),
                 as_of=datetime.date(2026, 1, 5))
    assert claim.status == ClaimStatus.IN_REVIEW
    assert "OUTSIDE_COVERAGE" in [r["code"] for r in claim.risk]


def test_waiting_period_is_stopped(claims_world):
    w = claims_world
    Enrollment.objects.filter(member=w.zhangsan).update(waiting_until=datetime.date(2026, 3, 31))
    claim = file(w, settle(w, "S1"))
    assert claim.status == ClaimStatus.IN_REVIEW
    assert [r["code"] for r in claim.risk] == ["WAITING_PERIOD"]


def test_not_enrolled_cannot_claim(claims_world):
    w = claims_world
    with pytest.raises(DomainError):
        claim_file(member=w.zhangsan, settlement=settle(w, "S1"),
                   product_code="beijing-2011-allowance", actor=w.lisi)
    with pytest.raises(DomainError):
        file(w, settle(w, "S2", member=w.chenba))  # 陈八's record filed for 张三


def test_same_settlement_twice_and_overlapping_stays(claims_world):
    w = claims_world
    s = settle(w, "S1")
    first = file(w, s)
    with pytest.raises(Conflict, match=f"理赔编号 {first.pk}"):
        file(w, s)  # one claim per settlement and product
    assert Claim.objects.filter(setl_id="S1").count() == 1
    overlap = file(w, settle(w, "S9", begin="2026-03-05", end="2026-03-12"))
    assert [r["code"] for r in overlap.risk] == ["OVERLAPPING_STAY"]


def test_review_threshold_frequency_deadline_and_sample(claims_world):
    w = claims_world
    ClaimPolicy.objects.create(product_code=MEDICAL, review_threshold_fen=100_000,
                               frequent_claims=1, frequent_days=30, deadline_days=5)
    claim = file(w, settle(w, "S1", begin="2026-03-01", end="2026-03-02"),
                 as_of=datetime.date(2026, 3, 3))
    assert [r["code"] for r in claim.risk] == ["OVER_THRESHOLD"]
    late = file(w, settle(w, "S2", begin="2026-03-10", end="2026-03-11", inscp=100_000,
                          hifp=90_000), as_of=datetime.date(2026, 3, 30))
    assert [r["code"] for r in late.risk] == ["DEADLINE_PASSED", "FREQUENT_CLAIMS"]


def test_random_sample_is_deterministic(claims_world):
    w = claims_world
    ClaimPolicy.objects.create(product_code=MEDICAL, sample_percent=100)
    claim = file(w, settle(w, "S1"))
    assert [r["code"] for r in claim.risk] == ["RANDOM_SAMPLE"]
    assert claim.status == ClaimStatus.IN_REVIEW
    assert sampled(claim.pk, 0) is False
    drawn = sum(sampled(i, 10) for i in range(1, 10_001))
    assert 900 < drawn < 1100 and drawn == sum(sampled(i, 10) for i in range(1, 10_001))


def test_illegal_transitions_raise_and_status_only_moves_by_transition(claims_world):
    w = claims_world
    claim = file(w, settle(w, "S1"))
    with pytest.raises(IllegalTransition):
        claim_transition(claim, ClaimStatus.IN_REVIEW, actor=w.wangwu)
    with pytest.raises(IllegalTransition):
        claim_transition(claim, "paid", actor=w.wangwu)
    claim = Claim.objects.get(pk=claim.pk)
    claim.status = ClaimStatus.REJECTED
    with pytest.raises(ValueError):
        claim.save()
    assert Claim.objects.get(pk=claim.pk).status == ClaimStatus.APPROVED


def test_review_moves(claims_world):
    w = claims_world
    ClaimPolicy.objects.create(product_code=MEDICAL, sample_percent=100)
    claim = file(w, settle(w, "S1"))
    claim_transition(claim, ClaimStatus.RETURNED, actor=w.wangwu, reason="补充发票")
    claim_transition(claim, ClaimStatus.SUBMITTED, actor=w.lisi)
    claim_transition(claim, ClaimStatus.IN_REVIEW, actor=w.lisi)
    claim_transition(claim, ClaimStatus.APPROVED, actor=w.wangwu)
    assert Claim.objects.get(pk=claim.pk).status == "approved"


def test_corrected_settlement_creates_a_new_assessment(claims_world):
    w = claims_world
    ClaimPolicy.objects.create(product_code=MEDICAL, sample_percent=100)
    claim = file(w, settle(w, "S1"))
    assert claim.payable_fen == 140_000 and claim.status == ClaimStatus.IN_REVIEW
    settle(w, "S1", inscp=800_000, hifp=700_000)  # SP_in 1,000 → 700.00
    claim = Claim.objects.get(pk=claim.pk)
    assert claim.payable_fen == 70_000 and claim.settlement.version == 2
    assert list(Assessment.objects.filter(claim=claim).order_by("id")
                .values_list("payable_fen", flat=True)) == [140_000, 70_000]


def test_auto_claims_for_products_that_pay_without_application(claims_world):
    w = claims_world
    settle(w, "S1")
    assert not Claim.objects.exists()  # not a 免申即享 product yet
    ClaimPolicy.objects.create(product_code=MEDICAL, auto_claim=True)
    made = claims_create_auto(as_of=AS_OF)
    assert [(c.setl_id, c.source, c.status) for c in made] == [("S1", "auto", "approved")]
    assert claims_create_auto(as_of=AS_OF) == []
    settle(w, "S2", member=w.chenba, begin="2026-04-01", end="2026-04-03")
    auto = Claim.objects.get(setl_id="S2")
    assert auto.source == "auto" and auto.member_id == w.chenba.pk
    assert Settlement.objects.get(setl_id="S1").claims.count() == 1
