"""Turn a claim into the rules engine's facts and usage, and keep what the engine answers.

Usage is what the member already drew from the product in the claim's period: the current
assessments of their approved claims (lifetime counts over every period).
"""

from __future__ import annotations

import datetime
from typing import Any

from huzhu import clock
from huzhu.audit.services import atomic_events
from huzhu.enrollment.models import Enrollment
from huzhu.products.services import product_rules
from huzhu.rules import scalar
from huzhu.rules.model import Assessment as RuleAssessment
from huzhu.rules.model import BenefitUsage, ClaimFacts, Usage
from huzhu.settlements.models import Settlement

from .facts import claim_facts as facts
from .facts import cover_of, event_facts, setl_of, setl_of_event
from .models import Assessment, Claim
from .status import GRANTED

MEDICAL_INSUTYPES = {"310": "employee", "390": "resident"}
# A member's basic insurance as the platform's insutype code (an event claim has no settlement).
INSUTYPE_OF = {"employee": "310", "resident": "390"}


def claim_day(claim: Claim) -> datetime.date:
    """The day the claim was made (its filing date in Beijing; today before it is saved)."""
    return clock.today(claim.created_at)


def claim_facts(claim: Claim, settlement: Settlement | None, enrollment: Enrollment | None,
                held: tuple[str, ...] = (), as_of: datetime.date | None = None) -> ClaimFacts:
    """The engine's facts of a stored claim: :func:`huzhu.claims.facts.claim_facts`, the one
    adapter from stored rows to facts, given the claim's rows (an event claim: its
    ``ClaimEvent`` instead of a settlement)."""
    m = claim.member
    member = (m.pk, m.gender, m.birth_date, m.is_union_member)
    cover = cover_of(enrollment) if enrollment else None
    if settlement is None:
        ev = event_facts(claim.event, claim.kind)
        s = setl_of_event(setl_id=claim.setl_id, member_id=m.pk,
                          insutype=INSUTYPE_OF.get(m.insurance_type, ""), ev=ev,
                          filed=claim.created_at)
        return facts(claim_id=claim.pk, member=member, s=s, e=cover, held=held, as_of=as_of,
                     ev=ev)
    return facts(claim_id=claim.pk, member=member, s=setl_of(settlement), e=cover, held=held,
                 as_of=as_of)


def line_doc(ln: Any) -> dict[str, Any]:
    return {"benefit_id": ln.benefit_id, "name": ln.name, "kind": ln.kind,
            "payable_fen": ln.payable_fen, "counted": ln.counted,
            "ends_coverage": ln.ends_coverage, "base_fen": ln.base_fen,
            "reasons": [{"code": r.code.value, "params": r.params} for r in ln.reasons]}


def usage_doc(u: Usage) -> dict[str, Any]:
    return {"benefits": {k: {"paid_fen": b.paid_fen, "claims": b.claims, "base_fen": b.base_fen,
                             "lifetime_claims": b.lifetime_claims}
                         for k, b in u.benefits.items()},
            "product_paid_fen": u.product_paid_fen, "coverage_ended": u.coverage_ended,
            "prior_period_paid": u.prior_period_paid}


def usage_for(claim: Claim) -> Usage:
    """What the member drew from this product before this claim (approved claims only)."""
    rows = (Claim.objects.filter(member_id=claim.member_id, product_code=claim.product_code,
                                 status__in=GRANTED, assessment__isnull=False)
            .exclude(pk=claim.pk).values_list("period_id", "assessment__lines",
                                              "assessment__payable_fen"))
    benefits: dict[str, list[int]] = {}
    lifetime: dict[str, int] = {}
    paid = 0
    ended = prior = False
    for period_id, lines, payable in rows:
        same = period_id == claim.period_id
        for ln in lines or []:
            bid = ln["benefit_id"]
            lifetime[bid] = lifetime.get(bid, 0) + bool(ln.get("counted"))
            if same:
                acc = benefits.setdefault(bid, [0, 0, 0])
                acc[0] += ln["payable_fen"]
                acc[1] += bool(ln.get("counted"))
                acc[2] += ln.get("base_fen", 0)
                ended = ended or (ln.get("ends_coverage") and ln["payable_fen"] > 0)
        if same:
            paid += payable
        elif payable > 0:
            prior = True
    drawn: dict[str, BenefitUsage] = {}
    for b in set(benefits) | set(lifetime):
        b_paid, b_claims, b_base = benefits.get(b, [0, 0, 0])
        drawn[b] = BenefitUsage(b_paid, b_claims, b_base, lifetime.get(b, 0))
    return Usage(drawn, paid, bool(ended), prior)


def usage_add(u: Usage, lines: list[dict[str, Any]], payable: int) -> Usage:
    """``u`` after one more granted claim of the same product and period (its lines as
    stored by :func:`line_doc`): how the bulk path and re-assessment carry usage along."""
    benefits = dict(u.benefits)
    for ln in lines:
        b = u.of(ln["benefit_id"])
        benefits[ln["benefit_id"]] = BenefitUsage(
            b.paid_fen + ln["payable_fen"], b.claims + bool(ln["counted"]),
            b.base_fen + ln["base_fen"], b.lifetime_claims + bool(ln["counted"]))
    ended = u.coverage_ended or any(ln["ends_coverage"] and ln["payable_fen"] > 0 for ln in lines)
    return Usage(benefits, u.product_paid_fen + payable, ended, u.prior_period_paid)


def trace_doc(a: RuleAssessment) -> list[dict[str, str]]:
    steps = [{"rule": s.rule, "zh": s.zh} for s in a.trace]
    steps += [{"rule": "assumption", "zh": f"采用的假设：{f}"} for f in a.flags]
    return steps


def reason_codes(lines: list[dict[str, Any]]) -> list[str]:
    out: list[str] = []
    for ln in lines:
        for r in ln["reasons"]:
            if r["code"] != "NOT_APPLICABLE" and r["code"] not in out:
                out.append(r["code"])
    return out


def claim_assess(claim: Claim, *, as_of: datetime.date | None = None) -> Assessment:
    """Assess the claim on its current settlement version; keep the result as a new row."""
    settlement = claim.settlement
    enrollment = (Enrollment.objects.select_related("period", "product_version")
                  .get(pk=claim.enrollment_id)
                  if claim.enrollment_id else None)
    held = tuple(Enrollment.objects.filter(
        member_id=claim.member_id, status="active", period_id=claim.period_id)
        .values_list("product_version__code", flat=True)) if claim.period_id else ()
    as_of = as_of or claim_day(claim)
    facts = claim_facts(claim, settlement, enrollment, held, as_of)
    usage = usage_for(claim)
    product = product_rules(claim.product_version)
    result = scalar.assess(facts, product, usage, as_of)
    lines = [line_doc(ln) for ln in result.lines]
    with atomic_events():
        row = Assessment.objects.create(
            claim=claim, settlement=settlement, product_version=claim.product_version,
            payable_fen=result.payable_fen, lines=lines, reasons=reason_codes(lines),
            trace=trace_doc(result), usage=usage_doc(usage), input_hash=result.input_hash,
            as_of=as_of, engine="scalar")
        claim.assessment, claim.payable_fen = row, row.payable_fen
        Claim.objects.filter(pk=claim.pk).update(assessment=row, payable_fen=row.payable_fen)
    return row
