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

The reading and the vector run are one road, :func:`replay_read` then :func:`replay_assess`,
shared with the policy simulator (:mod:`huzhu.insights.simulator`, ADR 0020): the claims are
read set-wise in one joined query (no model objects) and turned into facts by the one adapter
:func:`huzhu.claims.facts.claim_facts`, so a correction and a simulation replay the same facts.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from huzhu import clock
from huzhu.actors import Actor
from huzhu.audit.services import atomic_events, event_record
from huzhu.bulk import among
from huzhu.enrollment.models import Enrollment, EnrollmentStatus
from huzhu.products.models import Period, ProductVersion
from huzhu.products.services import product_rules
from huzhu.rules import scalar, vector
from huzhu.rules.model import ClaimFacts, Product
from huzhu.settlements.models import AMOUNT_FIELDS

from . import facts as facts_adapter
from .assess import (
    claim_facts,
    claim_day,
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


ASSESSED = tuple(n for n in AMOUNT_FIELDS if n != "hosp_part_amt")
_CLAIM = ("id", "member_id", "org_path", "payable_fen", "status", "created_at", "enrollment_id")
_SETL = ("settlement_id", "settlement__setl_id", "settlement__member_id", "settlement__mdtrt_id",
         "settlement__insutype", "settlement__begndate", "settlement__enddate",
         "settlement__setl_time", "settlement__hosp_lv", "settlement__diag_code")
_MEMBER = ("member__gender", "member__birth_date", "member__is_union_member")
_COVER = ("enrollment__member_id", "enrollment__product_version__code",
          "enrollment__product_version_id", "enrollment__period_id", "enrollment__shares",
          "enrollment__continuous_since", "enrollment__coverage_start", "enrollment__first_time",
          "enrollment__waiting_until")


@dataclass
class Replay:
    """A period's claims of one product as read for a replay, in member and discharge order."""

    claim_ids: np.ndarray
    member_ids: np.ndarray
    recorded_fen: np.ndarray  # the payable each claim carries now
    cost_fen: np.ndarray  # the stay's total medical cost (medfee_sumamt)
    org_paths: list[str]
    statuses: list[str]
    facts: list[ClaimFacts]
    _columns: dict[Any, vector.Columns] = field(default_factory=dict, repr=False)

    @property
    def n(self) -> int:
        return len(self.facts)


def replay_read(*, code: str, period: Period, org_path: str = "",
                statuses: tuple[str, ...] = (*GRANTED, *OPEN)) -> Replay:
    """Read the period's claims of product ``code`` (those under ``org_path`` when given) with
    their settlements, members and enrollments in one query, as the engines' facts."""
    qs = Claim.objects.filter(product_code=code, period=period, status__in=statuses)
    if org_path:
        qs = qs.filter(org_path__startswith=org_path)
    amounts = tuple(f"settlement__{n}_fen" for n in ASSESSED)
    rows = list(qs.order_by("member_id", "settlement__enddate", "id").values_list(
        *_CLAIM, *_SETL, *_MEMBER, *_COVER, *amounts))
    held: dict[int, tuple[str, ...]] = defaultdict(tuple)
    for member_id, held_code in Enrollment.objects.filter(
            period=period, status=EnrollmentStatus.ACTIVE,
            member_id__in=qs.values("member_id")).values_list("member_id",
                                                              "product_version__code"):
        held[member_id] += (held_code,)
    periods = {period.pk: period}
    n_claim, n_setl, n_member = len(_CLAIM), len(_SETL), len(_MEMBER)
    a0 = n_claim + n_setl + n_member + len(_COVER)
    facts: list[ClaimFacts] = []
    cost = np.zeros(len(rows), np.int64)
    medfee = ASSESSED.index("medfee_sumamt")
    for i, row in enumerate(rows):
        pk, mid, _path, _fen, _status, created, enrollment_id = row[:n_claim]
        amount = {n: v for n, v in zip(ASSESSED, row[a0:], strict=True) if v is not None}
        cost[i] = row[a0 + medfee] or 0
        setl = facts_adapter.Setl(*row[n_claim:n_claim + n_setl], amount)  # type: ignore[call-arg]
        member = (mid, *row[n_claim + n_setl:n_claim + n_setl + n_member])
        c = row[n_claim + n_setl + n_member:a0]
        cover = None
        if enrollment_id is not None:
            pid = c[3]
            if pid not in periods:
                periods[pid] = Period.objects.get(pk=pid)
            cover = facts_adapter.CoverRow(enrollment_id, c[0], c[1], c[2], periods[pid], *c[4:])
        facts.append(facts_adapter.claim_facts(
            claim_id=pk, member=member, s=setl, e=cover, held=held[mid],
            as_of=clock.today(created)))
    return Replay(
        claim_ids=np.array([r[0] for r in rows], np.int64),
        member_ids=np.array([r[1] for r in rows], np.int64),
        recorded_fen=np.array([r[3] for r in rows], np.int64), cost_fen=cost,
        org_paths=[r[2] for r in rows], statuses=[r[4] for r in rows], facts=facts)


def replay_assess(replay: Replay, product: Product) -> np.ndarray:
    """Each claim's payable fen under ``product`` (vector engine; usage from nothing per
    member-period). The columns are built once for every product that reads the facts alike
    (same timing, eligibility and vocabularies), so a lever that moves only amounts costs one
    vector run."""
    if not replay.n:
        return np.zeros(0, np.int64)
    key = vector.columns_key(product)
    cols = replay._columns.get(key)
    if cols is None:
        cols = replay._columns[key] = vector.columns_from_facts(replay.facts, product)
    return vector.assess_columns(cols, product).payable.astype(np.int64)


def claims_reassess_rule(*, version: ProductVersion, period: Period, actor: Actor = None,
                         dry_run: bool = False) -> ReassessReport:
    """Re-assess the period's claims of ``version.code`` under ``version`` (see module text)."""
    replay = replay_read(code=version.code, period=period)
    report = ReassessReport(claims=replay.n)
    if not replay.n:
        return report
    product = product_rules(version)
    new = replay_assess(replay, product)
    moved = new != replay.recorded_fen
    if dry_run or not moved.any():
        for pk, was, fen in zip(replay.claim_ids[moved], replay.recorded_fen[moved], new[moved],
                                strict=True):
            _count(report, int(pk), int(was), int(fen))
        return report  # a dry run: what the correction would change
    changed_members = set(replay.member_ids[moved].tolist())
    new_of = dict(zip(replay.claim_ids.tolist(), new.tolist(), strict=True))
    claims = list(Claim.objects.filter(product_code=version.code, period=period,
                                       status__in=[*GRANTED, *OPEN])
                  .filter(among(Claim, "member", changed_members))
                  .select_related("member", "settlement", "enrollment__period",
                                  "enrollment__product_version", "assessment")
                  .order_by("member_id", "settlement__enddate", "id"))
    held: dict[int, tuple[str, ...]] = defaultdict(tuple)
    for member_id, code in Enrollment.objects.filter(
            member_id__in=changed_members, period=period,
            status=EnrollmentStatus.ACTIVE).values_list("member_id", "product_version__code"):
        held[member_id] += (code,)
    days = {c.pk: claim_day(c) for c in claims}
    facts = [claim_facts(c, c.settlement, c.enrollment, held[c.member_id], days[c.pk])
             for c in claims]
    new_fen = [new_of[c.pk] for c in claims]
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
            _count(report, c.pk, c.payable_fen, fen)
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


def _count(report: ReassessReport, pk: int, was: int, fen: int) -> None:
    report.changed += 1
    report.changed_ids.append(pk)
    if fen > was:
        report.up_fen += fen - was
    else:
        report.down_fen += was - fen



