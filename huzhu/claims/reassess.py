"""Re-assessing many claims after a rule correction (a new product version), with the vector
engine.

The claims of a product in a period (granted and open ones; refused and withdrawn ones drawn
nothing) are run through :func:`huzhu.rules.vector.assess_many` under the new version, grouped
by member and period in discharge order, so caps and claim counts replay as they would have.
Only the members whose figures change are then explained one by one by the scalar engine (the
oracle, equal to the fen by the engines' property tests), in the same order with the same
usage accumulation, and each changed claim gets a new :class:`Assessment` beside the old one.

What happens next depends on where the claim stands: an open claim simply carries the new
figure (and its review goes on); a granted claim keeps what was owed or paid and is flagged
``RULE_CORRECTED`` with the difference, for staff to decide a top-up or a recovery
(:mod:`huzhu.claims.corrections`; the new assessment records the granted figure in
``correction_was_fen`` and waits for that decision).

Usage starts from nothing for each member-period: counts and caps replay within the period;
lifetime limits across periods and "paid last period" conditions are not carried in.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from huzhu.actors import Actor
from huzhu.audit.services import atomic_events, event_record
from huzhu.enrollment.models import Enrollment, EnrollmentStatus
from huzhu.products.models import Period, ProductVersion
from huzhu.products.services import product_rules
from huzhu.rules import scalar, vector

from .assess import (
    claim_day,
    claim_facts,
    line_doc,
    reason_codes,
    trace_doc,
    usage_add,
    usage_doc,
)
from .models import Assessment, Claim
from .status import GRANTED, OPEN


@dataclass
class ReassessReport:
    claims: int = 0
    changed: int = 0
    open_updated: int = 0
    granted_flagged: int = 0
    up_fen: int = 0  # Σ increases
    down_fen: int = 0  # Σ decreases (positive number)
    changed_ids: list[int] = field(default_factory=list)


def _y(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}{fen // 100:,}.{fen % 100:02d}"


def claims_reassess_rule(*, version: ProductVersion, period: Period, actor: Actor = None,
                         dry_run: bool = False) -> ReassessReport:
    """Re-assess the period's claims of ``version.code`` under ``version`` (see module text)."""
    claims = list(Claim.objects.filter(product_code=version.code, period=period,
                                       status__in=[*GRANTED, *OPEN])
                  .select_related("member", "settlement", "event", "enrollment__period",
                                  "enrollment__product_version", "assessment")
                  .order_by("member_id", "settlement__enddate", "id"))
    report = ReassessReport(claims=len(claims))
    if not claims:
        return report
    product = product_rules(version)
    held: dict[int, tuple[str, ...]] = defaultdict(tuple)
    for member_id, code in Enrollment.objects.filter(
            member_id__in={c.member_id for c in claims}, period=period,
            status=EnrollmentStatus.ACTIVE).values_list("member_id", "product_version__code"):
        held[member_id] += (code,)
    days = {c.pk: claim_day(c) for c in claims}
    facts = [claim_facts(c, c.settlement, c.enrollment, held[c.member_id], days[c.pk])
             for c in claims]
    result = vector.assess_many(facts, product)
    new_fen = [int(x) for x in result.payable]
    changed_members = {c.member_id for c, fen in zip(claims, new_fen, strict=True)
                       if fen != c.payable_fen}
    if dry_run or not changed_members:
        for c, fen in zip(claims, new_fen, strict=True):
            if fen != c.payable_fen:
                _count(report, c, fen)
        return report  # a dry run: what the correction would change (the policy simulator)
    with atomic_events():
        usage: dict[int, Any] = {}
        for c, f, fen in zip(claims, facts, new_fen, strict=True):
            if c.member_id not in changed_members:
                continue
            before = usage.get(c.member_id, scalar.EMPTY_USAGE)
            a = scalar.assess(f, product, before, days[c.pk])
            if a.payable_fen != fen:  # the engines disagree: never guess, stop here
                raise AssertionError(f"理赔 {c.pk}: 标量 {a.payable_fen} ≠ 向量 {fen}")
            lines = [line_doc(ln) for ln in a.lines]
            usage[c.member_id] = usage_add(before, lines, a.payable_fen)
            if fen == c.payable_fen or Assessment.objects.filter(
                    claim=c, product_version=version, payable_fen=fen).exists():
                continue  # unchanged, or this correction was already applied to it
            row = Assessment.objects.create(
                claim=c, settlement=c.settlement, product_version=version, payable_fen=fen,
                lines=lines, reasons=reason_codes(lines),
                trace=[*trace_doc(a), {"rule": "rule_correction",
                                       "zh": f"规则更正：按 {version.version} 版重新核算（向量引擎批量复算，"
                                             f"标量引擎逐项说明）"}],
                usage=usage_doc(before), input_hash=a.input_hash, as_of=days[c.pk],
                engine="vector", correction_was_fen=None if c.status in OPEN else c.payable_fen)
            _count(report, c, fen)
            if c.status in OPEN:
                Claim.objects.filter(pk=c.pk).update(assessment=row, payable_fen=fen,
                                                     product_version=version)
                report.open_updated += 1
            else:
                note = {"code": "RULE_CORRECTED", "assessment": row.pk,
                        "message": f"规则更正后应为 {_y(fen)} 元（已核准 {_y(c.payable_fen)} 元，"
                                   f"差额 {_y(fen - c.payable_fen)} 元），请决定补付或追回"}
                Claim.objects.filter(pk=c.pk).update(risk=[*(c.risk or []), note])
                report.granted_flagged += 1
            event_record(action="claim.reassessed", actor=actor, obj=c,
                         after={"version": version.version, "payable_fen": fen,
                                "was_fen": c.payable_fen, "engine": "vector"})
    return report


def _count(report: ReassessReport, c: Claim, fen: int) -> None:
    report.changed += 1
    report.changed_ids.append(c.pk)
    if fen > c.payable_fen:
        report.up_fen += fen - c.payable_fen
    else:
        report.down_fen += c.payable_fen - fen



