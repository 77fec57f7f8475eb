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

Usage in the period starts from nothing for each member: counts and caps replay within the
period, over hospital stays and event claims (diagnosis lump sums, accidents, family illness:
docs/adr/0016) alike, in the order of their discharge or event date. What earlier periods carry
in is read when a product uses it (:func:`needs_carried`): each benefit's counted claims in a
life and whether the product paid the member before (from the granted claims' assessments, as
:func:`huzhu.claims.assess.usage_for` reads them).

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
    INSUTYPE_OF,
    claim_day,
    claim_facts,
    line_doc,
    reason_codes,
    trace_doc,
    usage_add,
    usage_doc,
)
from .models import Assessment, Claim, ClaimEvent, ClaimKind
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
    org_index: np.ndarray  # each claim's organisation, an index into org_paths
    org_paths: list[str]  # the distinct organisation paths
    stays: vector.StayFacts
    kinds: np.ndarray  # str: each claim's ClaimKind (hospital, diagnosis, …)
    diseases: bool = True  # False: diagnosis codes not read (no product asked for them)
    held: bool = True  # False: the other products members hold not read
    carried: bool = True  # False: earlier periods' payments and lifetime counts not read
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
    ("union", "member__is_union_member", "m.is_union_member::int"),
    ("enrolled", "enrollment_id", "e.id"),
    ("shares", "enrollment__shares", "e.shares"),
    ("since", "enrollment__continuous_since", _ORD.format("e.continuous_since")),
    ("coverage_start", "enrollment__coverage_start", _ORD.format("e.coverage_start")),
    ("first_time", "enrollment__first_time", "e.first_time::int"),
    ("period_start", "enrollment__period__coverage_start", _ORD.format("p.coverage_start")),
    ("period_end", "enrollment__period__coverage_end", _ORD.format("p.coverage_end")),
    *((f"a:{n}", f"settlement__{n}_fen", f"s.{n}_fen") for n in ASSESSED),
    # an event claim (no settlement, docs/adr/0016): its ClaimEvent, and the member's basic
    # insurance as the insurance type (what facts.setl_of_event gives)
    ("kind", "kind", "c.kind"),
    ("event_date", "event__event_date", _ORD.format("ev.event_date")),
    ("claim_type", "event__claim_type", "ev.claim_type"),
    ("subject", "event__subject", "ev.subject"),
    ("flags", "event__flags",
     "array_to_string(ARRAY(SELECT jsonb_array_elements_text(ev.flags::jsonb)), '|')"),
    ("outcome", "event__accident_outcome", "ev.accident_outcome"),
    ("grade", "event__disability_grade", "ev.disability_grade"),
    ("during_stay", "event__during_stay", "ev.during_stay::int"),
    ("insurance_type", "member__insurance_type", "m.insurance_type"),
    ("ev_disease", "event__disease", "ev.disease"),
)
_DATES = {"claim_date", "begndate", "enddate", "setl_date", "birth_date", "since",
          "coverage_start", "period_start", "period_end", "event_date"}
_ENCRYPTED = {"diag_code": "s.diag_code", "ev_disease": "ev.disease"}


def needs_diseases(product: Product) -> bool:
    """Whether a product reads the diagnosis (a lump sum or a disease list): only then are the
    encrypted diagnosis codes read and decrypted for a replay."""
    return bool(vector.disease_vocabulary(product)) or any(b.kind == "lump"
                                                           for b in product.benefits)


_TEXT = {"org_path", "insutype", "gender", "diag_code", "kind", "claim_type", "subject", "flags",
         "outcome", "insurance_type", "ev_disease"}
_SEP = "\x1f"  # the unit separator: in no path, code, flag or insurance type
_MISSING = {"enrolled": 0, "shares": 1, "hosp_lv": 0, "union": 0, "first_time": 0, "grade": 0,
            "during_stay": 0}


def needs_carried(product: Product) -> bool:
    """Whether a product reads what earlier periods carry in: a benefit paid only after an
    earlier period paid (次年继续治疗) or limited in a life (首次确诊: once)."""
    return any(b.requires_prior_payment or b.lifetime_limit is not None for b in product.benefits)


def _carried(qs: Any, code: str, period: Period) -> tuple[set[int], dict[str, dict[int, int]]]:
    """What the members' earlier periods carry into a replay of ``period``, as the scalar
    engine's usage has it (:func:`huzhu.claims.assess.usage_for`, from granted claims): the
    members the product paid anything, and each benefit's counted claims per member."""
    earlier = Claim.objects.filter(
        product_code=code, status__in=GRANTED, assessment__isnull=False,
        period__coverage_start__lt=period.coverage_start, member_id__in=qs.values("member_id"))
    paid: set[int] = set()
    counts: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for member_id, fen, lines in earlier.values_list("member_id", "payable_fen",
                                                      "assessment__lines"):
        if fen > 0:
            paid.add(member_id)
        for ln in lines or ():
            if ln.get("counted"):
                counts[ln["benefit_id"]][member_id] += 1
    return paid, counts


def carried_usage(replay: Replay, i: int) -> Any:
    """Claim ``i``'s member's usage carried in from earlier periods, for the scalar engine
    (what :func:`huzhu.rules.vector.columns_from_stays` gives the vector one)."""
    from huzhu.rules.model import BenefitUsage, Usage

    s = replay.stays
    benefits = {bid: BenefitUsage(0, 0, 0, int(n[i])) for bid, n in s.lifetime.items() if n[i]}
    prior = bool(s.prior_paid[i]) if s.prior_paid is not None else False
    return Usage(benefits, 0, False, prior)


def needs_held(product: Product) -> bool:
    """Whether a product's eligibility reads the other products a member holds."""
    return bool(product.eligibility.requires_products)


def _read_orm(qs: Any) -> dict[str, Any]:
    """The replay's columns through the ORM (SQLite and other databases)."""
    cols: dict[str, Any] = {f[0]: [] for f in _FIELDS}
    for row in qs.values_list(*(f[1] for f in _FIELDS)):
        for (name, _orm, _sql), v in zip(_FIELDS, row, strict=True):
            if v is not None and name in ("claim_date", "setl_date"):
                v = clock.today(v).toordinal()
            elif v is not None and name in _DATES:
                v = v.toordinal()
            elif name == "flags":
                v = "|".join(v or ())
            cols[name].append(v)
    out: dict[str, Any] = {}
    for name, values in cols.items():
        if name in _TEXT:
            out[name] = [v or "" for v in values]
        elif name.startswith("a:") and values and all(v is None for v in values):
            out[name] = None  # absent from every record (Settlement.amounts() leaves NULLs out)
        else:
            miss = 0 if name.startswith("a:") else _MISSING.get(name, vector.NO_DATE)
            out[name] = np.array([miss if v is None else int(v) for v in values], np.int64)
    return out


def _read_pg(where: str, params: list[Any], diseases: bool) -> dict[str, Any]:
    """The replay's columns on PostgreSQL: one statement aggregating each column into one text
    (dates as ordinals), parsed by numpy; no Python object per claim and field."""
    aggs = []
    for name, _orm, expr in _FIELDS:
        if name in _ENCRYPTED:
            continue  # encrypted: read below, only when a product needs it
        if name in _TEXT:
            aggs.append(f"string_agg(coalesce({expr}, ''), E'\\x1f')")
        elif name.startswith("a:"):
            aggs.append(f"string_agg(coalesce({expr}, 0)::text, ','), count({expr})")
        else:
            miss = _MISSING.get(name, vector.NO_DATE)
            aggs.append(f"string_agg(coalesce(({expr})::int8, {miss})::text, ',')")
    joins = (f"FROM {Claim._meta.db_table} c "
             f"LEFT JOIN {Settlement._meta.db_table} s ON s.id = c.settlement_id "
             f"LEFT JOIN {ClaimEvent._meta.db_table} ev ON ev.claim_id = c.id "
             f"JOIN {Member._meta.db_table} m ON m.id = c.member_id "
             f"LEFT JOIN {Enrollment._meta.db_table} e ON e.id = c.enrollment_id "
             f"LEFT JOIN {Period._meta.db_table} p ON p.id = e.period_id WHERE {where}")
    with connection.cursor() as cur:
        cur.execute(f"SELECT count(*), {', '.join(aggs)} {joins}", params)
        row = list(cur.fetchone())
        diag: dict[int, str] = {}
        if diseases:  # a settlement's diagnosis, or an event claim's disease
            s_field = Settlement._meta.get_field("diag_code")
            ev_field = ClaimEvent._meta.get_field("disease")
            cur.execute(f"SELECT c.id, s.diag_code, ev.disease {joins} AND "
                        "(s.diag_code IS NOT NULL OR ev.disease IS NOT NULL)", params)
            diag = {pk: (s_field.from_db_value(a, None, connection) if a is not None else
                         ev_field.from_db_value(b, None, connection)) or ""
                    for pk, a, b in cur.fetchall()}
    n = int(row.pop(0))
    out: dict[str, Any] = {}
    for name, _orm, _expr in _FIELDS:
        if name in _ENCRYPTED:
            continue
        text = row.pop(0) or ""
        if name in _TEXT:
            out[name] = text.split(_SEP) if n else []
        elif name.startswith("a:"):
            present = row.pop(0)
            out[name] = (np.array(text.split(","), np.int64) if n else np.zeros(0, np.int64)
                         ) if present or not n else None
        else:
            out[name] = np.array(text.split(","), np.int64) if n else np.zeros(0, np.int64)
    out["diag_code"] = [diag.get(int(pk), "") for pk in out["id"]] if diseases else [""] * n
    out["ev_disease"] = [""] * n
    return out


def _held(qs: Any, period: Period) -> dict[int, tuple[str, ...]]:
    held: dict[int, tuple[str, ...]] = defaultdict(tuple)
    for member_id, held_code in Enrollment.objects.filter(
            period=period, status=EnrollmentStatus.ACTIVE,
            member_id__in=qs.values("member_id")).values_list("member_id",
                                                              "product_version__code"):
        held[member_id] += (held_code,)
    return held


def replay_read(*, code: str, period: Period, org_path: str = "", diseases: bool = True,
                held: bool = True, carried: bool = True,
                statuses: tuple[str, ...] = (*GRANTED, *OPEN)) -> Replay:
    """Read the period's claims of product ``code`` (those under ``org_path`` when given) with
    their settlements, members and enrollments in one query, as the columns of stays
    (:class:`huzhu.rules.vector.StayFacts`, the facts :func:`huzhu.claims.facts.claim_facts`
    gives one by one), in member and discharge order. ``diseases`` and ``held`` say whether
    to read the (encrypted) diagnoses and the other products each member holds: only products
    that use them need them (:func:`needs_diseases`, :func:`needs_held`); ``carried`` whether
    to read what the members' earlier periods carry in (:func:`needs_carried`).

    Event claims (no settlement, docs/adr/0016) are read beside the stays, with their
    ``ClaimEvent``: the same columns :func:`claim_facts` gives them one by one, ordered by
    their event date among the stays' discharge dates."""
    qs = Claim.objects.filter(product_code=code, period=period, status__in=statuses)
    if org_path:
        qs = qs.filter(org_path__startswith=org_path)
    if connection.vendor == "postgresql":
        where = "c.product_code = %s AND c.period_id = %s AND c.status = ANY(%s)"
        params: list[Any] = [code, period.pk, list(statuses)]
        if org_path:
            where += " AND c.org_path LIKE %s"
            params.append(org_path.replace("%", "\\%").replace("_", "\\_") + "%")
        cols = _read_pg(where, params, diseases)
    else:
        cols = _read_orm(qs)
    n = len(cols["id"])
    # a stay in discharge order, an event claim on its event date (the engines' order)
    cols["day"] = np.where(cols["enddate"] != vector.NO_DATE, cols["enddate"],
                           np.where(cols["event_date"] != vector.NO_DATE, cols["event_date"], 0))
    order = np.lexsort((cols["id"], cols["day"], cols["member"]))
    cols = {k: (None if v is None else [v[i] for i in order] if isinstance(v, list) else v[order])
            for k, v in cols.items()}
    held_of = _held(qs, period) if held else {}
    paid_before, lifetime_of = _carried(qs, code, period) if carried else (set(), {})
    member = cols["member"]
    enrolled = cols["enrolled"] != 0
    begndate = cols["begndate"]
    event_date = cols["event_date"]
    kind = np.array(cols["kind"], dtype=str)
    event = kind != ClaimKind.HOSPITAL
    # membership years at the stay's admission, or at the event
    ref = np.where(begndate != vector.NO_DATE, begndate, event_date)
    since = np.where(cols["since"] == vector.NO_DATE, cols["coverage_start"], cols["since"])
    years = np.where((since == vector.NO_DATE) | (ref < since), 1, (ref - since) // 365 + 1)
    insutype = np.array(cols["insutype"], dtype=str)
    if event.any():
        basic = np.array([INSUTYPE_OF.get(t, "") for t in cols["insurance_type"]], dtype=str)
        insutype = np.where(event, basic, insutype)
    disease = np.array([a or b for a, b in zip(cols["diag_code"], cols["ev_disease"],
                                               strict=True)] if diseases else [""] * n, dtype=str)
    paths: dict[str, int] = {}
    org_index = np.fromiter((paths.setdefault(p, len(paths)) for p in cols["org_path"]),
                            np.int64, n)
    amounts = {name: cols[f"a:{name}"] for name in ASSESSED if cols[f"a:{name}"] is not None}
    stays = vector.StayFacts(
        member=member, begndate=begndate, enddate=cols["enddate"],
        setl_date=cols["setl_date"], claim_date=cols["claim_date"],
        coverage_start=cols["coverage_start"], period_start=cols["period_start"],
        period_end=cols["period_end"], birth_date=cols["birth_date"],
        gender=np.array(cols["gender"], dtype=str), insutype=insutype,
        union_member=cols["union"] != 0, shares=np.where(enrolled, cols["shares"], 1),
        membership_years=np.where(enrolled, years, 1), first_time=cols["first_time"] != 0,
        hospital_level=cols["hosp_lv"], disease=disease,
        held=[held_of.get(int(m), ()) for m in member] if held else [()] * n, amounts=amounts,
        event_date=np.where(event, event_date, vector.NO_DATE),
        claim_type=np.where(event, np.array(cols["claim_type"], dtype=str), ""),
        subject=np.where(event, np.array(cols["subject"], dtype=str), ""),
        flags=np.where(event, np.array(cols["flags"], dtype=str), ""),
        outcome=np.array([vector.OUTCOMES.get(o or None, 0) for o in cols["outcome"]], np.int64),
        grade=np.where(event, cols["grade"], 0), during_stay=event & (cols["during_stay"] != 0),
        prior_paid=np.isin(member, np.fromiter(paid_before, np.int64, len(paid_before))),
        lifetime={bid: np.array([per.get(int(m), 0) for m in member], np.int64)
                  for bid, per in lifetime_of.items()})
    return Replay(
        claim_ids=cols["id"], member_ids=member, recorded_fen=cols["payable"], kinds=kind,
        cost_fen=amounts.get("medfee_sumamt", np.zeros(n, np.int64)),
        org_index=org_index, org_paths=list(paths), stays=stays, diseases=diseases, held=held,
        carried=carried)


def replay_assess(replay: Replay, product: Product) -> np.ndarray:
    """Each claim's payable fen under ``product`` (vector engine; usage from nothing per
    member-period). The columns are built once for every product that reads the facts alike
    (same timing, eligibility and vocabularies), so a lever that moves only amounts costs one
    vector run."""
    if not replay.n:
        return np.zeros(0, np.int64)
    if (not replay.diseases and needs_diseases(product)) or (
            not replay.held and needs_held(product)) or (
            not replay.carried and needs_carried(product)):
        raise ValueError("this replay was read without facts the product needs")
    key = vector.columns_key(product)
    cols = replay._columns.get(key)
    if cols is None:
        cols = replay._columns[key] = vector.columns_from_stays(replay.stays, product)
    return vector.assess_columns(cols, product).payable.astype(np.int64)


def claims_reassess_rule(*, version: ProductVersion, period: Period, actor: Actor = None,
                         dry_run: bool = False) -> ReassessReport:
    """Re-assess the period's claims of ``version.code`` under ``version`` (see module text)."""
    product = product_rules(version)
    replay = replay_read(code=version.code, period=period, diseases=needs_diseases(product),
                         held=needs_held(product), carried=needs_carried(product))
    report = ReassessReport(claims=replay.n)
    if not replay.n:
        return report
    new = replay_assess(replay, product)
    moved = new != replay.recorded_fen
    if dry_run or not moved.any():
        for pk, was, fen in zip(replay.claim_ids[moved], replay.recorded_fen[moved], new[moved],
                                strict=True):
            _count(report, int(pk), int(was), int(fen))
        return report  # a dry run: what the correction would change
    changed_members = set(replay.member_ids[moved].tolist())
    new_of = dict(zip(replay.claim_ids.tolist(), new.tolist(), strict=True))
    index_of = {int(pk): i for i, pk in enumerate(replay.claim_ids.tolist())}
    claims = list(Claim.objects.filter(product_code=version.code, period=period,
                                       status__in=[*GRANTED, *OPEN])
                  .filter(among(Claim, "member", changed_members))
                  .select_related("member", "settlement", "event", "enrollment__period",
                                  "enrollment__product_version", "assessment"))
    claims.sort(key=_replay_order)  # the vector run's order: discharge, or the event's date
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
            before = usage.get(c.member_id) or carried_usage(replay, index_of[c.pk])
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


def _replay_order(c: Claim) -> tuple[int, int, int]:
    day = c.settlement.enddate if c.settlement is not None else c.event.event_date
    return (c.member_id, day.toordinal(), c.pk)


def _count(report: ReassessReport, pk: int, was: int, fen: int) -> None:
    report.changed += 1
    report.changed_ids.append(pk)
    if fen > was:
        report.up_fen += fen - was
    else:
        report.down_fen += was - fen



