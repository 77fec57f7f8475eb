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
from django.db import connection

from huzhu import clock
from huzhu.actors import Actor
from huzhu.audit.services import atomic_events, event_record
from huzhu.bulk import among
from huzhu.enrollment.models import Enrollment, EnrollmentStatus
from huzhu.members.models import Member
from huzhu.products.models import Period, ProductVersion
from huzhu.products.services import product_rules
from huzhu.rules import scalar, vector
from huzhu.rules.model import Product
from huzhu.settlements.models import AMOUNT_FIELDS, Settlement

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


@dataclass
class Replay:
    """A period's claims of one product as read for a replay, in member and discharge order."""

    claim_ids: np.ndarray
    member_ids: np.ndarray
    recorded_fen: np.ndarray  # the payable each claim carries now
    cost_fen: np.ndarray  # the stay's total medical cost (medfee_sumamt)
    org_paths: list[str]
    stays: vector.StayFacts
    _columns: dict[Any, vector.Columns] = field(default_factory=dict, repr=False)

    @property
    def n(self) -> int:
        return len(self.claim_ids)


# (name, ORM path for values_list, SQL expression for PostgreSQL): dates as ordinals there.
_ORD = "(({}) - DATE '0001-01-01' + 1)"
_DAY = "((({}) AT TIME ZONE 'Asia/Shanghai')::date - DATE '0001-01-01' + 1)"
_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("id", "id", "c.id"), ("member", "member_id", "c.member_id"),
    ("org_path", "org_path", "c.org_path"), ("payable", "payable_fen", "c.payable_fen"),
    ("claim_date", "created_at", _DAY.format("c.created_at")),
    ("begndate", "settlement__begndate", _ORD.format("s.begndate")),
    ("enddate", "settlement__enddate", _ORD.format("s.enddate")),
    ("setl_date", "settlement__setl_time", _DAY.format("s.setl_time")),
    ("insutype", "settlement__insutype", "s.insutype"),
    ("hosp_lv", "settlement__hosp_lv", "s.hosp_lv"),
    ("diag_code", "settlement__diag_code", "s.diag_code"),
    ("gender", "member__gender", "m.gender"),
    ("birth_date", "member__birth_date", _ORD.format("m.birth_date")),
    ("union", "member__is_union_member", "m.is_union_member"),
    ("enrolled", "enrollment_id", "e.id"),
    ("shares", "enrollment__shares", "e.shares"),
    ("since", "enrollment__continuous_since", _ORD.format("e.continuous_since")),
    ("coverage_start", "enrollment__coverage_start", _ORD.format("e.coverage_start")),
    ("first_time", "enrollment__first_time", "e.first_time"),
    ("period_start", "enrollment__period__coverage_start", _ORD.format("p.coverage_start")),
    ("period_end", "enrollment__period__coverage_end", _ORD.format("p.coverage_end")),
    *((f"a:{n}", f"settlement__{n}_fen", f"s.{n}_fen") for n in ASSESSED),
)
_DATES = {"claim_date", "begndate", "enddate", "setl_date", "birth_date", "since",
          "coverage_start", "period_start", "period_end"}


def _rows(qs: Any) -> list[tuple]:
    """The replay's rows: on PostgreSQL one SQL statement giving dates as ordinals (no Python
    date objects for a hundred thousand rows); elsewhere the same values through the ORM."""
    if connection.vendor != "postgresql":
        out = []
        for row in qs.values_list(*(f[1] for f in _FIELDS)):
            row = list(row)
            for i, (name, _orm, _sql) in enumerate(_FIELDS):
                v = row[i]
                if name in ("claim_date", "setl_date") and v is not None:
                    row[i] = clock.today(v).toordinal()
                elif name in _DATES and v is not None:
                    row[i] = v.toordinal()
            out.append(tuple(row))
        return out
    inner, params = qs.values("id").query.sql_with_params()
    sql = (f"SELECT {', '.join(f[2] for f in _FIELDS)} FROM {Claim._meta.db_table} c "
           f"JOIN {Settlement._meta.db_table} s ON s.id = c.settlement_id "
           f"JOIN {Member._meta.db_table} m ON m.id = c.member_id "
           f"LEFT JOIN {Enrollment._meta.db_table} e ON e.id = c.enrollment_id "
           f"LEFT JOIN {Period._meta.db_table} p ON p.id = e.period_id "
           f"WHERE c.id IN ({inner}) ORDER BY c.member_id, s.enddate, c.id")
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def _ints(col: tuple, missing: int = vector.NO_DATE) -> np.ndarray:
    return np.fromiter((missing if v is None else v for v in col), np.int64, len(col))


def replay_read(*, code: str, period: Period, org_path: str = "",
                statuses: tuple[str, ...] = (*GRANTED, *OPEN)) -> Replay:
    """Read the period's claims of product ``code`` (those under ``org_path`` when given) with
    their settlements, members and enrollments in one query, as the columns of stays
    (:class:`huzhu.rules.vector.StayFacts`, the facts :func:`huzhu.claims.facts.claim_facts`
    gives one by one)."""
    qs = Claim.objects.filter(product_code=code, period=period, status__in=statuses)
    if org_path:
        qs = qs.filter(org_path__startswith=org_path)
    rows = _rows(qs.order_by("member_id", "settlement__enddate", "id"))
    n = len(rows)
    names = [f[0] for f in _FIELDS]
    cols = dict(zip(names, zip(*rows, strict=True), strict=True)) if n else {
        name: () for name in names}
    held: dict[int, tuple[str, ...]] = defaultdict(tuple)
    for member_id, held_code in Enrollment.objects.filter(
            period=period, status=EnrollmentStatus.ACTIVE,
            member_id__in=qs.values("member_id")).values_list("member_id",
                                                              "product_version__code"):
        held[member_id] += (held_code,)
    member = _ints(cols["member"], 0)
    enrolled = np.fromiter((v is not None for v in cols["enrolled"]), bool, n)
    begndate = _ints(cols["begndate"])
    since = _ints(cols["since"])
    since = np.where(since == vector.NO_DATE, _ints(cols["coverage_start"]), since)
    years = np.where((since == vector.NO_DATE) | (begndate < since), 1,
                     (begndate - since) // 365 + 1)
    amounts = {}
    for name in ASSESSED:
        col = cols[f"a:{name}"]
        if n and all(v is None for v in col):
            continue  # absent from every record (Settlement.amounts() leaves NULLs out)
        amounts[name] = _ints(col, 0)
    stays = vector.StayFacts(
        member=member, begndate=begndate, enddate=_ints(cols["enddate"]),
        setl_date=_ints(cols["setl_date"]), claim_date=_ints(cols["claim_date"]),
        coverage_start=_ints(cols["coverage_start"]), period_start=_ints(cols["period_start"]),
        period_end=_ints(cols["period_end"]), birth_date=_ints(cols["birth_date"]),
        gender=np.array([g or "" for g in cols["gender"]], dtype=object),
        insutype=np.array([t or "" for t in cols["insutype"]], dtype=object),
        union_member=np.array(cols["union"], bool),
        shares=np.where(enrolled, _ints(cols["shares"], 1), 1),
        membership_years=np.where(enrolled, years, 1),
        first_time=np.array([bool(v) for v in cols["first_time"]], bool),
        hospital_level=_ints(cols["hosp_lv"], 0),
        disease=np.array([d or None for d in cols["diag_code"]], dtype=object),
        held=[held[m] for m in cols["member"]], amounts=amounts)
    return Replay(
        claim_ids=_ints(cols["id"], 0), member_ids=member,
        recorded_fen=_ints(cols["payable"], 0),
        cost_fen=amounts.get("medfee_sumamt", np.zeros(n, np.int64)),
        org_paths=list(cols["org_path"]), stays=stays)


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
        cols = replay._columns[key] = vector.columns_from_stays(replay.stays, product)
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



