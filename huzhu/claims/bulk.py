"""The automatic claims (免申即享) of a large settlement delivery: the same assessment, risk
checks, decisions and grants as the one-claim services, done in memory per part and written
with COPY (PostgreSQL) / executemany (SQLite). The delivery's intake is
:mod:`huzhu.settlements.intake` (then :mod:`huzhu.claims.ingest` decides). See docs/adr/0004.

Assessment uses the scalar engine, so every bulk-assessed claim keeps its full trace and the
same fen as :func:`huzhu.claims.assess.claim_assess`. An approved claim is granted as
:func:`huzhu.claims.approval.claim_grant` grants one: under the member and usage locks, its
usage row, its payable (``ledger_post_many``), its payout and its SMS.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from typing import Any, NamedTuple

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from huzhu import clock
from huzhu.actors import Actor
from huzhu.audit.services import events_last, events_record_many
from huzhu.bulk import among, fewer_collections, insert_rows, pg_array, reserve_ids
from huzhu.enrollment.models import Enrollment, EnrollmentStatus
from huzhu.members.models import Member
from huzhu.notices.services import notices_enqueue_many
from huzhu.products.models import Period, ProductVersion
from huzhu.products.services import product_rules
from huzhu.rules import scalar
from huzhu.rules.model import BenefitUsage, Usage
from huzhu.settlements.models import (
    AMOUNT_FIELDS,
    DecisionKind,
    Settlement,
    SettlementDecision,
    owed,
)
from huzhu.settlements.stays import effective, stays_of

from .assess import line_doc, reason_codes, trace_doc, usage_add, usage_doc
from .facts import CoverRow, EventFacts, Setl, claim_facts
from .grants import Granted, approved_notice, dumps, grant_many, notice_params
from .levels import levels_of
from .models import Assessment, Claim, ClaimSource, MemberPeriodUsage
from .notify import routed
from .resettle import stays_follow
from .risk import (
    LIVE,
    Cover,
    PolicyBook,
    Stay,
    decision,
    findings,
    policy_stamp,
    rules_reasons_zh,
)
from .screen import claims_on_corrected_settlement
from .status import GRANTED, ClaimStatus, transition_check
from .workdays import add_workdays

# Claims are decided in parts of about 2 × CHUNK settlements (whole members).
CHUNK = settings.BULK_PART


# --------------------------------------------------------------------------- claims


class _Payable(NamedTuple):
    payable_fen: int


class EventPlan(NamedTuple):
    """An event claim's part of a plan (keyed by its claim key): its facts, its kind in
    words for the SMS, and the payee (name, phone, card) when not the member."""

    facts: EventFacts
    what: str
    payee: tuple[str, str, str] | None


SETL_FIELDS = ("id", "setl_id", "member_id", "mdtrt_id", "insutype", "begndate", "enddate",
               "setl_time", "hosp_lv", "diag_code",
               *(f"{n}_fen" for n in AMOUNT_FIELDS if n != "hosp_part_amt"))
ASSESSED_AMOUNTS = tuple(n for n in AMOUNT_FIELDS if n != "hosp_part_amt")


def _settlements(ids: list[int]) -> list[Setl]:
    out = []
    for row in (Settlement.objects.filter(among(Settlement, "id", ids)).filter(owed())
                .order_by("member_id", "enddate", "id").values_list(*SETL_FIELDS)):
        # Settlement.amounts() leaves out absent (NULL) 4101 fields; so does this.
        amounts = {n: v for n, v in zip(ASSESSED_AMOUNTS, row[10:], strict=True)
                   if v is not None}
        out.append(Setl(*row[:10], amounts))  # type: ignore[call-arg]  # a 10-field row, unpacked
    return out


def enrollments_of(member_ids: list[int], codes: Any = None) -> dict[int, list[CoverRow]]:
    """The members' active enrollments (in the products ``codes`` when given), without
    loading each one's rule document."""
    periods: dict[int, Any] = {}
    versions = ProductVersion.objects.all() if codes is None else ProductVersion.objects.filter(
        code__in=codes)
    version_codes = dict(versions.values_list("id", "code"))
    out: dict[int, list[CoverRow]] = defaultdict(list)
    rows = list(Enrollment.objects.filter(
        among(Enrollment, "member", member_ids), status=EnrollmentStatus.ACTIVE,
        product_version_id__in=version_codes).order_by("id").values_list(
        "id", "member_id", "product_version_id", "period_id", "shares", "continuous_since",
        "coverage_start", "first_time", "waiting_until"))
    for p in Period.objects.filter(pk__in={r[3] for r in rows}):
        periods[p.pk] = p
    for pk, mid, vid, pid, shares, since, start, first, waiting in rows:
        out[mid].append(CoverRow(pk, mid, version_codes[vid], vid, periods[pid], shares, since,
                               start, first, waiting))
    return out


def _history(member_ids: list[int]) -> dict[int, list[tuple]]:
    out: dict[int, list[tuple]] = defaultdict(list)
    for row in Claim.objects.filter(among(Claim, "member", member_ids), status__in=LIVE).values_list(
            "member_id", "pk", "product_code", "setl_id", "settlement__mdtrt_id",
            "settlement__begndate", "settlement__enddate", "event_date", "status", "period_id",
            "assessment__lines", "assessment__payable_fen").order_by("id"):
        if row[5] is None:  # an event claim (no settlement): its event day is its stay
            row = (*row[:5], row[7], row[7], *row[7:])
        out[row[0]].append(row[1:])
    return out


def _usage(rows: list[tuple], code: str, period_id: int) -> Usage:
    """What the member drew from ``code`` before: the same sums as
    :func:`huzhu.claims.assess.usage_for` (this period's benefits, lifetime counts over every
    period, whether an earlier period paid anything)."""
    benefits: dict[str, list[int]] = {}
    lifetime: dict[str, int] = {}
    paid = 0
    ended = prior = False
    for _pk, c, _s, _m, _b, _e, _ev, status, pid, lines, payable in rows:
        if c != code or status not in GRANTED or lines is None:
            continue
        same = pid == period_id
        for ln in lines:
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
    names = set(benefits) | set(lifetime)
    out = {}
    for b in names:
        fen, counted, base = benefits.get(b, [0, 0, 0])
        out[b] = BenefitUsage(fen, counted, base, lifetime.get(b, 0))
    return Usage(out, paid, bool(ended), prior)


CLAIM_COLS = ("id", "member_id", "settlement_id", "setl_id", "kind", "product_code",
              "product_version_id",
              "enrollment_id", "period_id", "event_date", "source", "status", "payable_fen",
              "risk", "assessment_id", "org_path", "fund_region_id", "created_by_id",
              "created_at", "decided_at", "review_level", "due_on", "level_since", "policy")
ASSESSMENT_COLS = ("id", "claim_id", "settlement_id", "product_version_id", "payable_fen",
                   "lines", "reasons", "trace", "usage", "input_hash", "as_of", "engine",
                   "created_at")
def settlements_decide(settlement_ids: list[int], *, actor: Actor = None,
                       as_of: datetime.date | None = None) -> dict[str, int]:
    """Decide the matched current settlements among ``settlement_ids`` that have no decision
    yet (work a delivery owes, or a crash left): their automatic claims (免申即享) created,
    assessed, checked and decided, approved ones granted (usage row, payable, payout, SMS),
    refused ones told; a new version's claims assessed again. Each settlement is marked
    decided in the same transaction as its claims, so a re-run finishes what a crash cut
    short and never doubles. Returns the automatic claims made, by status.

    The one road for a push of one record and for a delivery of 100,000: parts of whole
    members, each the task :func:`huzhu.work.tasks.decide_part`, run by the task workers (and
    by the caller while it waits; ADR 0009)."""
    from huzhu.work.parts import run_parts
    from huzhu.work.tasks import decide_part

    pending = _pending(settlement_ids)
    if not pending:
        return {}
    day = (as_of or clock.today()).isoformat()
    actor_id = getattr(actor, "pk", None)
    counts: dict[str, int] = defaultdict(int)
    for part_counts in run_parts(decide_part, [
            {"settlement_ids": part, "as_of": day, "actor_id": actor_id}
            for part in _member_parts(pending, CHUNK * 2)]):
        for status, n in part_counts.items():
            counts[status] += n
    return dict(counts)


def decide_part_here(settlement_ids: list[int], *, actor: Actor = None,
                     as_of: datetime.date | None = None) -> dict[str, int]:
    """One part of :func:`settlements_decide` (whole members), in this process: a new
    version's claims assessed again, then the part's automatic claims, each settlement marked
    decided with them. What was decided meanwhile is left alone."""
    with fewer_collections():
        return _decide_part(settlement_ids, actor=actor, as_of=as_of)


def _decide_part(settlement_ids: list[int], *, actor: Actor,
                 as_of: datetime.date | None) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    pending = _pending(settlement_ids)
    if not pending:
        return {}
    corrected = set(Settlement.objects.filter(among(Settlement, "id", pending)).filter(
        Exists(Claim.objects.filter(setl_id=OuterRef("setl_id")))).values_list("id", flat=True))
    for pk in sorted(corrected):
        _reassess_corrected(pk, actor=actor, as_of=as_of)
    stays_follow(pending, actor=actor)  # a stay settled again or refunded (ADR 0015)
    policies = PolicyBook.load()  # every region's settings: one query for the part
    versions = {v.pk: v for v in ProductVersion.objects.filter(code__in=policies.auto_codes())}
    _process_chunk(pending, policies, versions, actor, as_of or clock.today(), counts)
    # Once more after the part's locks: a stay keyed from papers whose check committed while
    # this part waited on the member's lock (the first pass, unlocked, could not see it yet)
    # gives its claim to the bureau's record now (docs/adr/0027). One query when none did.
    stays_follow(pending, actor=actor)
    return dict(counts)


def _owed_among(ids: list[int]) -> Any:
    """The owed decisions among settlements ``ids``. Only a current settlement is owed one (a
    new version takes over its predecessor's, in the transaction that stores it), so no join
    to the wide settlement rows is needed."""
    return SettlementDecision.objects.filter(
        among(SettlementDecision, "settlement", ids), decided_at__isnull=True)


def _pending(settlement_ids: list[int]) -> list[int]:
    """Those of ``settlement_ids`` still owed a decision, in the order given."""
    out: set[int] = set()
    for start in range(0, len(settlement_ids), 50_000):
        out.update(_owed_among(settlement_ids[start:start + 50_000])
                   .values_list("settlement_id", flat=True))
    return [pk for pk in dict.fromkeys(settlement_ids) if pk in out]


def settlements_pending(limit: int | None = None, older_than: int = 0) -> list[int]:
    """Every settlement still owed a decision (oldest first), received at least
    ``older_than`` seconds ago: what the worker's sweep finishes (a younger one is most
    likely still on its way through its delivery)."""
    qs = SettlementDecision.objects.filter(decided_at__isnull=True, settlement__is_current=True)
    if older_than:
        qs = qs.filter(settlement__created_at__lte=timezone.now()
                       - datetime.timedelta(seconds=older_than))
    ids = qs.order_by("settlement_id").values_list("settlement_id", flat=True)
    return list(ids[:limit] if limit else ids)


def _reassess_corrected(pk: int, *, actor: Actor, as_of: datetime.date | None) -> None:
    """A new version of a settlement with claims: the claims assessed again, under the
    member's lock first and with the events last (docs/adr/0008). Its automatic claims for
    products not yet claimed, and its decision, follow in the parts."""
    with transaction.atomic(), events_last():
        member_id = Settlement.objects.filter(pk=pk).values_list("member_id", flat=True).get()
        Member.objects.select_for_update(no_key=True).filter(id=member_id).first()
        if not _owed_among([pk]).exists():
            return  # decided meanwhile
        claims_on_corrected_settlement(Settlement.objects.get(pk=pk), actor=actor)


def _member_parts(settlement_ids: list[int], size: int) -> list[list[int]]:
    """The matched current settlements among ``settlement_ids`` in parts of about ``size``,
    each member's settlements all in one part: no two parts lock the same member or usage
    row, and a member's claims are decided together, in the order of their stays."""
    parts: list[list[int]] = [[]]
    last = None
    for start in range(0, len(settlement_ids), 50_000):
        rows = (_owed_among(settlement_ids[start:start + 50_000])
                .values_list("settlement__member_id", "settlement_id"))
        for member_id, pk in sorted(rows):
            if len(parts[-1]) >= size and member_id != last:
                parts.append([])
            parts[-1].append(pk)
            last = member_id
    return [p for p in parts if p]


def lock_members(member_ids: list[int], keys: list[tuple[int, str, int]]) -> dict[tuple, int]:
    """The locks :func:`claim_file` and :func:`claim_grant` take, in their order: the members'
    rows, then their usage rows (created once), each set in one stable order. Returns the
    usage row id per (member, product, period)."""
    list(Member.objects.select_for_update(no_key=True).filter(among(Member, "id", member_ids)).order_by("pk")
         .values_list("pk", flat=True))
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO claims_memberperiodusage (member_id, product_code, period_id,"
                " granted_fen, claims) SELECT k.m, k.c, k.p, 0, 0 FROM unnest("
                "%s::bigint[], %s::varchar[], %s::bigint[]) AS k(m, c, p) ORDER BY 1, 2, 3"
                " ON CONFLICT (member_id, product_code, period_id) DO NOTHING",
                [pg_array(k[0] for k in keys), pg_array(k[1] for k in keys),
                 pg_array(k[2] for k in keys)])
    else:
        MemberPeriodUsage.objects.bulk_create(
            [MemberPeriodUsage(member_id=m, product_code=c, period_id=p) for m, c, p in keys],
            ignore_conflicts=True, batch_size=2000)
    return {(m, c, p): pk for pk, m, c, p in MemberPeriodUsage.objects.select_for_update(no_key=True)
            .filter(among(MemberPeriodUsage, "member", member_ids))
            .order_by("member_id", "product_code", "period_id")
            .values_list("pk", "member_id", "product_code", "period_id")}


def _process_chunk(ids: list[int], policies: PolicyBook, versions: dict, actor: Actor,
                   as_of: datetime.date, counts: dict) -> None:
    """Decide one part: each settlement's automatic claims made (one per product 免申即享 in
    the member's fund region, whose period holds the stay), the settlements marked decided
    with them."""
    setls = _settlements(ids)
    if not setls:
        return
    member_ids = sorted({s.member_id for s in setls})
    auto = policies.auto_codes()
    covers = enrollments_of(member_ids) if auto else {}
    regions = dict(Member.objects.filter(among(Member, "id", member_ids)).values_list(
        "id", "fund_region_id")) if covers else {}
    plan = []
    for s in setls:
        for e in covers.get(s.member_id, ()):
            if (policies.get(e.code, regions[s.member_id]).auto_claim
                    and e.period.coverage_start <= s.begndate <= e.period.coverage_end):
                plan.append((s, e))
    now = timezone.now()
    with transaction.atomic():
        usage_rows = lock_members(member_ids, sorted({(s.member_id, e.code, e.period.pk)
                                               for s, e in plan}))
        # Read under the locks: which are still owed a decision, and what is already claimed
        # and granted, can no longer move.
        still = set(_owed_among([s.pk for s in setls]).values_list("settlement_id", flat=True))
        # Of a stay's settlements only the one that counts gets claims (docs/adr/0015); read
        # under the locks, so two deliveries of one stay never both make them.
        aside = {pk: DecisionKind.REFUNDED if eff is None else DecisionKind.SUPERSEDED
                 for pk, rows in stays_of(sorted(still)).items()
                 if (eff := effective(rows)) != pk}
        for what in (DecisionKind.REFUNDED, DecisionKind.SUPERSEDED):
            pks = sorted(pk for pk, k in aside.items() if k == what)
            if pks:
                SettlementDecision.objects.filter(among(SettlementDecision, "settlement", pks)
                                                  ).update(decided_at=now, decision=what)
        still -= set(aside)
        done = set(Claim.objects.filter(
            among(Claim, "setl_id", [s.setl_id for s, _ in plan], "text"))
                   .values_list("setl_id", "product_code"))
        covered = {s.pk for s, _ in plan}
        plan = [(s, e) for s, e in plan if s.pk in still and (s.setl_id, e.code) not in done]
        made = {s.pk for s, _ in plan}
        _mark_decided(still, made=made, covered=covered, now=now)
        if plan:
            file_many(plan, member_ids=member_ids, usage_rows=usage_rows, covers=covers,
                      versions=versions, policies=policies, source=ClaimSource.AUTO,
                      actor=actor, as_of=as_of, counts=counts, now=now)


def file_many(plan: list[tuple[Setl, CoverRow]], *, member_ids: list[int],
              usage_rows: dict[tuple, int], covers: dict[int, list[CoverRow]], versions: dict,
              source: str, actor: Actor, as_of: datetime.date,
              counts: dict, now: datetime.datetime, policies: PolicyBook | None = None,
              events: dict[str, EventPlan] | None = None) -> list[int]:
    """File, assess, check and decide the claims ``plan`` names (settlement, enrollment), in
    the caller's transaction, under the locks of :func:`lock_members` (``usage_rows``): the one road
    of every new claim, automatic (a part of a delivery) or filed by a member, an agent or an
    agency point (:func:`huzhu.claims.services.claim_file`, a plan of one). Approved ones are
    granted (:func:`grant_many`), refused ones told; each step an event, as the one-claim
    services record them. ``events``: the plan's event claims (no settlement; their ``Setl``
    is :func:`huzhu.claims.facts.setl_of_event`'s), by claim key. Claims entering review
    hold their payable in the pending-claims reserve (:mod:`huzhu.claims.reserve`). Each claim
    is checked under its fund region's claim settings (``policies``, else loaded for the
    plan's products in one query) and records them (``Claim.policy``). Returns the new claims'
    ids, in plan order."""
    from .reserve import reserve_postings

    events = events or {}
    if policies is None:
        policies = PolicyBook.load({e.code for _s, e in plan})
    entry: dict[int, tuple[int, datetime.date | None, str]] = {}

    def review_entry(region_id: int, to: str) -> tuple[int, datetime.date | None, str]:
        """Level 1 of the region, its due date and name (as ``review_enter`` gives them)."""
        if to != ClaimStatus.IN_REVIEW:
            return (0, None, "")
        if region_id not in entry:
            first = levels_of(region_id)[0]
            entry[region_id] = (first.level, add_workdays(clock.today(), first.working_days),
                                first.name)
        return entry[region_id]

    stamps: dict[int, str] = {}  # a policy's stamp, as stored: one text per policy row

    def stamp_of(policy: Any) -> str:
        if id(policy) not in stamps:
            stamps[id(policy)] = dumps(policy_stamp(policy))
        return stamps[id(policy)]

    today = clock.today()
    actor_id = getattr(actor, "pk", None)
    members = {row[0]: row for row in Member.objects.filter(among(Member, "id", member_ids)).values_list(
        "id", "gender", "birth_date", "is_union_member", "org_path", "fund_region_id",
        "name", "phone", "bank_card")}
    missing = {e.version_id for _s, e in plan} - set(versions)
    if missing:
        versions = {**versions, **{v.pk: v for v in ProductVersion.objects.filter(pk__in=missing)}}
    history = _history(member_ids)
    claim_ids = reserve_ids(Claim, len(plan))
    assessment_ids = reserve_ids(Assessment, len(plan))
    claims, assessments, events_out, granted = [], [], [], []
    reserving: list[tuple[int, int, str, int]] = []
    notices: list[dict[str, Any]] = []
    usage: dict[tuple[int, str, int], Usage] = {}
    for cid, aid, (s, e) in zip(claim_ids, assessment_ids, plan, strict=True):
        mid, gender, birth, union, path, region_id, name, phone, card = members[s.member_id]
        code, period = e.code, e.period
        key = (mid, code, period.pk)
        rows = history[mid]
        if key not in usage:
            usage[key] = _usage(rows, code, period.pk)
        held = tuple(x.code for x in covers.get(mid, ()) if x.period.pk == period.pk)
        setl_date = clock.today(s.setl_time)
        plan_ev = events.get(s.setl_id)
        facts = claim_facts(claim_id=cid, member=(mid, gender, birth, union), s=s, e=e,
                            held=held, as_of=as_of, ev=plan_ev.facts if plan_ev else None)
        kind = plan_ev.facts.kind if plan_ev else "hospital"
        version = versions[e.version_id]
        before = usage[key]
        result = scalar.assess(facts, product_rules(version), before, as_of)
        fen = result.payable_fen
        lines = [line_doc(ln) for ln in result.lines]
        reasons = reason_codes(lines)
        me = Stay(cid, code, s.setl_id, s.mdtrt_id, s.begndate, s.enddate, s.begndate)
        others = [Stay(r[0], r[1], r[2], r[3] or "", r[4], r[5], r[6]) for r in rows]
        policy = policies.get(code, region_id)
        found = findings(me, payable_fen=fen, reasons=reasons, setl_date=setl_date,
                         cover=Cover(e.coverage_start, period.coverage_end, e.waiting_until),
                         others=others, policy=policy, as_of=as_of)
        to = str(decision(_Payable(fen), found))  # type: ignore[arg-type]
        transition_check(ClaimStatus.SUBMITTED, to)
        counts[to] += 1
        base = {"name": name, "claim": cid, "product": version.name}
        to_phone, to_card = phone, card
        if plan_ev is not None:
            base["what"] = plan_ev.what
            if plan_ev.payee is not None:
                base["payee"], to_phone, to_card = plan_ev.payee
        if source != ClaimSource.AUTO:
            submitted = routed("CLAIM_SUBMITTED", kind)
            notices.append({"key": f"claim-submitted:{cid}", "template": submitted,
                            "phone": to_phone or "", "member_id": mid, "org_path": path,
                            "params": notice_params(submitted, base)})
        if to == ClaimStatus.APPROVED:
            usage[key] = usage_add(usage[key], lines, fen)
            granted.append(Granted(cid, mid, fen, path, region_id, code, period,
                                   usage_rows.get(key),
                                   approved_notice(base, mid, to_phone, path, fen, to_card,
                                                   kind)))
            why = "straight_through"
        elif to == ClaimStatus.IN_REVIEW:
            why = ", ".join(f["code"] for f in found)
        else:
            why = ", ".join(reasons) or "nothing_payable"
            rejected = routed("CLAIM_REJECTED", kind)
            notices.append({"key": f"claim-rejected:{cid}:screen",
                            "template": rejected, "phone": to_phone or "",
                            "member_id": mid, "org_path": path,
                            "params": notice_params(rejected, {
                                **base, "reason": rules_reasons_zh(reasons)})})
        rows.append((cid, code, s.setl_id, s.mdtrt_id, s.begndate, s.enddate, s.begndate, to,
                     period.pk, lines if to == ClaimStatus.APPROVED else None, fen))
        level, due, level_name = review_entry(region_id, to)
        if to == ClaimStatus.IN_REVIEW and fen > 0:
            reserving.append((cid, region_id, code, fen))
        claims.append((cid, mid, s.pk, s.setl_id, kind, code, e.version_id, e.pk, period.pk,
                       s.begndate, source, to, fen, dumps(found), aid, path,
                       region_id, actor_id, now, now if to != ClaimStatus.IN_REVIEW else None,
                       level, due, today if level else None, stamp_of(policy)))
        assessments.append((aid, cid, s.pk, e.version_id, fen, dumps(lines),
                            dumps(reasons), dumps(trace_doc(result)),
                            dumps(usage_doc(before)), result.input_hash, as_of, "scalar",
                            now))
        # Filed and decided in one transaction: one event says both (its status, the
        # reason and the amount, as a claim.transition says a later move).
        events_out.append({"action": "claim.filed", "object_type": "claims.claim",
                       "object_id": str(cid), "org_path": path,
                       "after": {"setl_id": s.setl_id, "kind": kind, "product": code,
                                 "source": str(source),
                                 "status": to, "reason": why, "payable_fen": fen}})
        if to == ClaimStatus.IN_REVIEW:
            events_out.append({"action": "claim.level", "object_type": "claims.claim",
                           "object_id": str(cid), "org_path": path,
                           "before": {"level": 0},
                           "after": {"level": level, "name": level_name,
                                     "due_on": due.isoformat() if due else None,
                                     "why": why}})
    # The part's own rows first: no other part locks them, so a part beside this one (in
    # another worker) writes its own meanwhile. Then the rows every part shares (ledger
    # balances, then the event chain head, the lock order of ADR 0008), held until commit.
    insert_rows(Claim, CLAIM_COLS, claims)
    insert_rows(Assessment, ASSESSMENT_COLS, assessments)
    notices_enqueue_many(notices)
    # The reserve's accounts before the grants' (as a reviewer's approval takes them: the
    # release at the move, then the payable), so two paths never wait on each other's rows.
    reserve_postings(reserving, today=today, actor=actor)
    grant_many(granted, today=today, actor=actor, now=now)
    events_record_many(events_out, actor=actor)
    return claim_ids


def _mark_decided(ids: set[int], *, made: set[int], covered: set[int],
                  now: datetime.datetime) -> None:
    """Settlements ``ids`` decided now: with claims made, already claimed, or not covered by
    any automatic product."""
    groups = {DecisionKind.CLAIMS: ids & made,
              DecisionKind.CLAIMED: (ids & covered) - made,
              DecisionKind.NOT_COVERED: ids - covered}
    for what, pks in groups.items():
        if pks:
            SettlementDecision.objects.filter(
                among(SettlementDecision, "settlement", sorted(pks))).update(
                decided_at=now, decision=what)


