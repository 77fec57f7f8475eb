"""The vector engine: many claims at once on int64 fen, the same fen as :mod:`scalar`.

Claims are grouped by member and period (``group``) and ordered by discharge (``order``).
Per-member sequences (claim counts, period caps, cumulated bases, coverage ending after a
lump sum) become clipped cumulative sums within each group: for a claim of amount ``a`` whose
group total including it is ``cum``, the part paid under a cap with ``room`` left is
``min(cum, room) − min(cum − a, room)``. Rounding uses :func:`money.apply_ratio_array`, the
same half-up rule as the scalar engine.

Per-claim facts that are not money (eligibility by age band, waiting applicability, the claim
deadline) are computed once per claim by :func:`columns_from_facts` with the same functions
the scalar engine uses; a batch holds one period per group, and lifetime counts come in
through the usage.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np

from huzhu.rules import eligibility, timing
from huzhu.rules.model import CLAIM_TYPES, SUBJECTS, Benefit, ClaimFacts, Product, Tiers, Usage
from huzhu.rules.money import BP_ONE, apply_ratio_array, half_up_div_array

NEVER = np.iinfo(np.int64).max // 4  # a date ordinal later than any real date
NO_DATE = -1
OUTCOMES = {None: 0, "death": 1, "disability": 2}


@dataclass
class Columns:
    """One row per claim; int64 unless noted. Build with :func:`make_columns`."""

    n: int
    group: np.ndarray
    order: np.ndarray
    amounts: dict[str, np.ndarray]
    claim_type: np.ndarray  # index into CLAIM_TYPES
    subject: np.ndarray  # index into SUBJECTS
    flags: np.ndarray  # bitmask over the product's flag vocabulary
    disease: np.ndarray  # index into the product's disease vocabulary, -1 none, -2 unlisted
    outcome: np.ndarray
    grade: np.ndarray
    during_stay: np.ndarray  # bool
    days: np.ndarray
    hospital_level: np.ndarray
    membership_years: np.ndarray
    shares: np.ndarray
    event_lump: np.ndarray  # date ordinals, NO_DATE when unknown
    event_other: np.ndarray
    cover_start: np.ndarray
    period_end: np.ndarray
    deadline: np.ndarray
    claim_date: np.ndarray
    waiting: np.ndarray  # bool: waiting periods apply to this member
    eligible: np.ndarray  # bool
    usage: dict[str, np.ndarray] = field(default_factory=dict)  # "<benefit>.paid" etc., "product_paid"
    ended: np.ndarray | None = None  # bool: coverage ended before the batch
    prior_paid: np.ndarray | None = None  # bool


def make_columns(n: int, **given: object) -> Columns:
    """Return columns with neutral defaults (a covered hospital claim) for what is not given."""
    def z() -> np.ndarray:
        return np.zeros(n, dtype=np.int64)

    defaults: dict[str, Any] = dict(
        group=lambda: np.arange(n, dtype=np.int64), order=z, amounts=dict, claim_type=z,
        subject=z, flags=z, disease=lambda: z() - 1, outcome=z, grade=z,
        during_stay=lambda: np.zeros(n, bool), days=z, hospital_level=lambda: z() + 3,
        membership_years=lambda: z() + 1, shares=lambda: z() + 1,
        event_lump=lambda: z() + NO_DATE, event_other=lambda: z() + NO_DATE,
        cover_start=lambda: z() + NO_DATE, period_end=lambda: z() + NEVER,
        deadline=lambda: z() + NEVER, claim_date=z, waiting=lambda: np.zeros(n, bool),
        eligible=lambda: np.ones(n, bool),
    )
    values = {k: given[k] if k in given else make() for k, make in defaults.items()}
    values.update({k: v for k, v in given.items() if k not in defaults})
    return Columns(n=n, **values)  # type: ignore[arg-type]


def flag_vocabulary(product: Product) -> list[str]:
    return sorted({f for b in product.benefits for f in b.requires_flags | b.excludes_flags})


def disease_vocabulary(product: Product) -> list[str]:
    return sorted({c for b in product.benefits for row in b.amounts for c in row.codes})


def columns_key(product: Product) -> tuple:
    """What :func:`columns_from_facts` reads of a product: two products with the same key turn
    the same facts into the same columns (a replay builds them once for both)."""
    return (product.timing, product.eligibility, tuple(flag_vocabulary(product)),
            tuple(disease_vocabulary(product)))


def _ord(d: date | None, missing: int = NO_DATE) -> int:
    return d.toordinal() if d is not None else missing


def _row(f: ClaimFacts, product: Product, as_of: date | None, flags: dict, diseases: dict) -> list:
    t = product.timing
    start, end = timing.period_bounds(f, t)
    cover = f.coverage_start or start
    dl = timing.deadline(f, t, end)
    claim_day = f.claim_date or as_of or f.enddate or f.event_date
    lump_event, other_event = timing.event_date(f, t, "lump"), timing.event_date(f, t, "ratio")
    disease = -1 if f.disease is None else diseases.get(f.disease, -2)
    return [
        CLAIM_TYPES.index(f.claim_type), SUBJECTS.index(f.subject),
        sum(1 << i for name, i in flags.items() if name in f.flags), disease,
        OUTCOMES.get(f.accident_outcome, 0), f.disability_grade or 0, int(f.during_stay),
        timing.stay_days(f, t), f.hospital_level or 0, f.membership_years,
        eligibility.effective_shares(f, product.eligibility), _ord(lump_event), _ord(other_event),
        _ord(cover), _ord(end, NEVER), _ord(dl, NEVER), _ord(claim_day, 0),
        int(timing.waiting_applies(f, t)), int(not eligibility.check(f, product.eligibility, cover)),
    ]


_ROW_FIELDS = ("claim_type", "subject", "flags", "disease", "outcome", "grade", "during_stay", "days",
               "hospital_level", "membership_years", "shares", "event_lump", "event_other",
               "cover_start", "period_end", "deadline", "claim_date", "waiting", "eligible")


def _usage_columns(product: Product, usages: list[Usage | None]) -> dict[str, np.ndarray]:
    out = {"product_paid": np.array([u.product_paid_fen if u else 0 for u in usages], np.int64)}
    for b in product.benefits:
        for what in ("paid_fen", "claims", "base_fen", "lifetime_claims"):
            out[f"{b.id}.{what}"] = np.array(
                [getattr(u.of(b.id), what) if u else 0 for u in usages], np.int64)
    return out


def columns_from_facts(claims: list[ClaimFacts], product: Product,
                       usages: dict[tuple[str, date | None], Usage] | None = None,
                       as_of: date | None = None) -> Columns:
    """Convert facts to columns; ``usages`` holds each (member, period start)'s usage before."""
    flags = {name: i for i, name in enumerate(flag_vocabulary(product))}
    diseases = {c: i for i, c in enumerate(disease_vocabulary(product))}
    groups: dict[tuple[str, date | None], int] = {}
    keys = [(f.member_id, timing.period_bounds(f, product.timing)[0]) for f in claims]
    group = np.array([groups.setdefault(k, len(groups)) for k in keys], np.int64)
    order = np.array([_ord(f.enddate or f.event_date or f.diagnosis_date, 0) for f in claims], np.int64)
    rows = np.array([_row(f, product, as_of, flags, diseases) for f in claims], np.int64).reshape(-1, 19)
    names = {k for f in claims for k in f.amounts}
    amounts = {k: np.array([f.amounts.get(k, 0) for f in claims], np.int64) for k in names}
    usage_list = [(usages or {}).get(k) for k in keys]
    given = {name: rows[:, i] for i, name in enumerate(_ROW_FIELDS)}
    for name in ("during_stay", "waiting", "eligible"):
        given[name] = given[name].astype(bool)
    return make_columns(
        len(claims), group=group, order=order, amounts=amounts, usage=_usage_columns(product, usage_list),
        ended=np.array([bool(u and u.coverage_ended) for u in usage_list]),
        prior_paid=np.array([bool(u and u.prior_period_paid) for u in usage_list]), **given)


@dataclass(frozen=True)
class VectorResult:
    benefit_ids: tuple[str, ...]
    lines: np.ndarray  # (n, benefits) payable fen, input order
    payable: np.ndarray  # (n,) payable fen


def group_starts(group: np.ndarray) -> np.ndarray:
    starts = np.empty(len(group), dtype=bool)
    if len(group):
        starts[0] = True
        starts[1:] = group[1:] != group[:-1]
    return starts


def group_cumsum(x: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Inclusive cumulative sum restarting at each group start (x ≥ 0, rows sorted by group)."""
    cs = np.cumsum(x)
    offset = np.maximum.accumulate(np.where(starts, cs - x, 0))
    return cs - offset


def clip_to_room(a: np.ndarray, room: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Return what each claim gets under a cap with ``room`` left before the group's first claim."""
    cum = group_cumsum(a, starts)
    return np.maximum(np.minimum(cum, room) - np.minimum(cum - a, room), 0)


def tier_vector(tiers: Tiers, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (amount, falls-in-no-bracket mask) for non-negative bases ``x`` after deductible."""
    items = tiers.items
    if tiers.mode == "marginal":
        numer = np.zeros_like(x)
        touched = np.zeros(len(x), dtype=bool)
        for t in items:
            top = x if t.hi_fen is None else np.minimum(x, t.hi_fen)
            seg = top - t.lo_fen
            touched |= seg > 0
            numer += np.maximum(seg, 0) * t.bp
        return half_up_div_array(numer, BP_ONE), ~touched & (x > 0)
    los = np.array([t.lo_fen for t in items], np.int64)
    his = np.array([NEVER if t.hi_fen is None else t.hi_fen for t in items], np.int64)
    bps = np.array([t.bp for t in items] + [0], np.int64)
    if tiers.gaps == "upper":
        idx = np.searchsorted(his, x, side="left")
        inside = (idx < len(items)) & ((idx > 0) | (x >= los[0]))
    else:
        idx = np.searchsorted(los, x, side="right") - 1
        inside = idx >= 0
        if tiers.gaps == "none":
            inside &= x <= his[np.maximum(idx, 0)]
    idx = np.where(inside, idx, len(items))
    return apply_ratio_array(x, bps[idx]), ~inside


class _Batch:
    """Sorted columns and the per-group helpers one assessment run needs."""

    def __init__(self, cols: Columns, product: Product) -> None:
        key = cols.group * (1 << 24) + (cols.order - cols.order.min(initial=0))
        self.perm = None if np.all(key[1:] >= key[:-1]) else np.argsort(key, kind="stable")
        self.c = cols
        self.product = product
        self.starts = group_starts(self.take(cols.group))
        self.flag_bits = {name: 1 << i for i, name in enumerate(flag_vocabulary(product))}
        self.disease_index = {c: i for i, c in enumerate(disease_vocabulary(product))}

    def take(self, arr: np.ndarray) -> np.ndarray:
        return arr if self.perm is None else arr[self.perm]

    def col(self, name: str) -> np.ndarray:
        return self.take(getattr(self.c, name))

    def amounts(self) -> dict[str, np.ndarray]:
        return {k: self.take(v) for k, v in self.c.amounts.items()}

    def usage(self, key: str) -> np.ndarray | int:
        arr = self.c.usage.get(key)
        return 0 if arr is None else self.take(arr)

    def bool_col(self, arr: np.ndarray | None) -> np.ndarray:
        return np.zeros(self.c.n, bool) if arr is None else self.take(arr)


def _applies(s: _Batch, b: Benefit) -> np.ndarray:
    ok = np.isin(s.col("claim_type"), [CLAIM_TYPES.index(t) for t in b.claim_types])
    ok &= np.isin(s.col("subject"), [SUBJECTS.index(x) for x in b.subjects])
    flags = s.col("flags")
    need = sum(s.flag_bits[f] for f in b.requires_flags)
    avoid = sum(s.flag_bits[f] for f in b.excludes_flags)
    ok &= ((flags & need) == need) & ((flags & avoid) == 0)
    if b.kind == "lump":
        ok &= s.col("disease") != -1
    elif b.kind == "accident":
        ok &= s.col("outcome") != 0
    return ok


def _waiting_index(s: _Batch, b: Benefit, event: np.ndarray) -> np.ndarray:
    """Return the waiting tier each claim falls in, len(b.waiting) when none applies."""
    none = np.full(s.c.n, len(b.waiting), np.int64)
    if not b.waiting:
        return none
    cover = s.col("cover_start")
    day = event - cover + 1
    idx = np.searchsorted(np.array([w.upto_day for w in b.waiting], np.int64), day, side="left")
    applies = s.col("waiting") & (event != NO_DATE) & (cover != NO_DATE)
    return np.where(applies, idx, none)


def _gates(s: _Batch, b: Benefit, event: np.ndarray, widx: np.ndarray) -> np.ndarray:
    """Return where the claim passes every gate of scalar.product_gates and the benefit's own."""
    cover, has_event = s.col("cover_start"), event != NO_DATE
    stop = s.bool_col(s.c.ended) | ~s.col("eligible")
    stop |= has_event & (cover != NO_DATE) & (event < cover)
    stop |= has_event & (event > s.col("period_end"))
    stop |= s.col("claim_date") > s.col("deadline")
    if b.requires_prior_payment:
        stop |= ~s.bool_col(s.c.prior_paid)
    if b.min_hospital_level:
        stop |= s.col("hospital_level") < b.min_hospital_level
    if b.kind == "lump":
        stop |= _lump_table(s, b)[s.col("disease")] < 0
    none_tiers = [i for i, w in enumerate(b.waiting) if w.pay == "none"]
    if none_tiers:
        stop |= np.isin(widx, none_tiers)
    return ~stop


def _lump_table(s: _Batch, b: Benefit) -> np.ndarray:
    """Amount per disease index (first matching row wins); -1 for unlisted, -2/-1 sentinels."""
    table = np.full(len(s.disease_index) + 2, -1, np.int64)  # last two slots: -2 and -1 indexes
    for code, i in s.disease_index.items():
        for row in b.amounts:
            if code in row.codes:
                table[i] = row.amount_fen
                break
    return table


def _ratio(s: _Batch, b: Benefit, passed: np.ndarray, amounts: dict) -> tuple[np.ndarray, np.ndarray]:
    assert b.base is not None and b.tiers is not None
    base = np.maximum(np.asarray(b.base.evaluate(amounts)) + np.zeros(s.c.n, np.int64), 0)
    contrib = np.where(passed, base, 0)
    d = b.deductible_fen
    if b.stays == "cumulated":
        prev = s.usage(f"{b.id}.base_fen") + group_cumsum(contrib, s.starts) - contrib
        hi, why = tier_vector(b.tiers, np.maximum(prev + base - d, 0))
        lo, _ = tier_vector(b.tiers, np.maximum(prev - d, 0))
        net = np.maximum(prev + base - d, 0) - np.maximum(prev - d, 0)
        amount = np.maximum(hi - lo, 0)
    else:
        net = base - d
        amount, why = tier_vector(b.tiers, np.maximum(net, 0))
    amount = np.where((base > 0) & (net > 0), amount, 0)
    if b.min_benefit_fen:
        floor = np.minimum(b.min_benefit_fen, net) if b.min_benefit_within_base else b.min_benefit_fen
        raise_it = (base > 0) & (net > 0) & ~why & (amount < floor)
        amount = np.where(raise_it, floor, amount)
    if b.share_cap is not None:
        share = np.maximum(np.asarray(b.share_cap.base.evaluate(amounts)) + np.zeros(s.c.n, np.int64), 0)
        amount = np.minimum(amount, apply_ratio_array(share, b.share_cap.bp))
    return amount, contrib


def _daily(s: _Batch, b: Benefit) -> np.ndarray:
    days = s.col("days")
    paid = np.maximum(days - (b.count_from_day - 1), 0)
    rate = np.full(s.c.n, b.per_day_fen, np.int64)
    years = s.col("membership_years")
    for from_year, fen in b.rates_by_year:
        rate = np.where(years >= from_year, fen, rate)
    return np.where(days < b.min_stay_days, 0, paid * rate)


def _accident(s: _Batch, b: Benefit) -> np.ndarray:
    stay, outcome, grade = s.col("during_stay"), s.col("outcome"), s.col("grade")
    death = np.where(stay, b.death_stay_fen, b.death_fen)
    top = np.where(stay, b.disability_stay_fen, b.disability_max_fen)
    bps = np.array((0, *b.grades_bp), np.int64)
    valid = (grade >= 1) & (grade <= len(b.grades_bp))
    disability = np.where(valid, apply_ratio_array(top, bps[np.where(valid, grade, 0)]), 0)
    return np.where(outcome == 1, death, np.where(outcome == 2, disability, 0))


def _formula(s: _Batch, b: Benefit, passed: np.ndarray, amounts: dict) -> np.ndarray:
    if b.kind == "ratio":
        return _ratio(s, b, passed, amounts)[0]
    if b.kind == "daily":
        return _daily(s, b)
    if b.kind == "lump":
        row = np.maximum(_lump_table(s, b)[s.col("disease")], 0)
        return row * (s.col("shares") if b.per_share else 1)
    if b.kind == "accident":
        return _accident(s, b)
    assert b.base is not None
    base = np.maximum(np.asarray(b.base.evaluate(amounts)) + np.zeros(s.c.n, np.int64), 0)
    return np.where(base >= b.threshold_fen, b.amount_fen, 0)


def _waiting_amount(s: _Batch, b: Benefit, amount: np.ndarray, widx: np.ndarray) -> tuple:
    ends = np.full(s.c.n, b.ends_coverage)
    for i, w in enumerate(b.waiting):
        here = widx == i
        if w.pay == "consolation":
            paid = w.amount_fen * (s.col("shares") if b.per_share else 1)
            amount = np.where(here, paid, amount)
        elif w.pay == "share":
            amount = np.where(here, apply_ratio_array(amount, w.bp), amount)
        ends = np.where(here, w.ends_coverage, ends)
    return amount, ends


def _limits(s: _Batch, b: Benefit, amount: np.ndarray) -> np.ndarray:
    if b.per_claim_cap_fen is not None:
        amount = np.minimum(amount, b.per_claim_cap_fen)
    counted = amount > 0
    if b.claim_limit is not None or b.lifetime_limit is not None:
        rank = group_cumsum(counted.astype(np.int64), s.starts)
        allowed = counted.copy()
        if b.claim_limit is not None:
            allowed &= s.usage(f"{b.id}.claims") + rank <= b.claim_limit
        if b.lifetime_limit is not None:
            allowed &= s.usage(f"{b.id}.lifetime_claims") + rank <= b.lifetime_limit
        amount = np.where(allowed, amount, 0)
    if b.period_cap_fen is not None:
        room = np.maximum(b.period_cap_fen - s.usage(f"{b.id}.paid_fen"), 0)
        amount = clip_to_room(amount, room, s.starts)
    return amount


def benefit_vector(s: _Batch, b: Benefit, amounts: dict) -> tuple[np.ndarray, np.ndarray]:
    """Return (payable before the product cap, ends-coverage flag) for one benefit."""
    event = s.col("event_lump" if b.kind == "lump" else "event_other")
    widx = _waiting_index(s, b, event)
    passed = _applies(s, b) & _gates(s, b, event, widx)
    amount, ends = _waiting_amount(s, b, _formula(s, b, passed, amounts), widx)
    return _limits(s, b, np.where(passed, amount, 0)), ends


def assess_columns(cols: Columns, product: Product) -> VectorResult:
    """Assess every claim in ``cols``; results come back in input order."""
    s = _Batch(cols, product)
    amounts = s.amounts()
    pays, ends = zip(*(benefit_vector(s, b, amounts) for b in product.benefits), strict=True)
    lines = np.stack(pays, axis=1)
    if product.period_cap_fen is not None:
        room = np.maximum(product.period_cap_fen - s.usage("product_paid"), 0)
        width = lines.shape[1]
        flat_starts = np.zeros(lines.size, bool)
        flat_starts[::width] = s.starts
        room_flat = np.repeat(np.broadcast_to(room, (cols.n,)), width)
        lines = clip_to_room(lines.ravel(), room_flat, flat_starts).reshape(lines.shape)
    if any(b.ends_coverage or any(w.ends_coverage for w in b.waiting) for b in product.benefits):
        claim_ends = ((lines > 0) & np.stack(ends, axis=1)).any(axis=1).astype(np.int64)
        before = group_cumsum(claim_ends, s.starts) - claim_ends
        lines = np.where((before > 0)[:, None], 0, lines)
    if s.perm is not None:
        inverse = np.empty_like(s.perm)
        inverse[s.perm] = np.arange(cols.n)
        lines = lines[inverse]
    return VectorResult(tuple(b.id for b in product.benefits), lines, lines.sum(axis=1))


def assess_many(claims: list[ClaimFacts], product: Product,
                usages: dict[tuple[str, date | None], Usage] | None = None,
                as_of: date | None = None) -> VectorResult:
    """Convert facts and assess them in one vector run."""
    return assess_columns(columns_from_facts(claims, product, usages, as_of), product)


# --------------------------------------------------------------------------- stored stays
_EPOCH = date(1970, 1, 1).toordinal()


@dataclass
class StayFacts:
    """Many stored claims (the shape :func:`huzhu.claims.facts.claim_facts` gives), one array
    per fact, dates as ordinals (``NO_DATE`` when missing): hospital stays on a settlement
    (claim type ``hospital``, the member as subject, no flags, no event date, no accident) and,
    when the event columns are given, claims without a settlement (docs/adr/0016: an event
    date, no stay, no amounts; their claim type, subject, flags, accident outcome and grade).
    No lapse in either.

    :func:`columns_from_stays` turns them into the same columns as :func:`columns_from_facts`
    turns the equal :class:`ClaimFacts` (a property test holds them equal for every product of
    the catalog), without a Python step per claim: what a replay of a year's claims needs."""

    member: np.ndarray
    begndate: np.ndarray
    enddate: np.ndarray
    setl_date: np.ndarray
    claim_date: np.ndarray
    coverage_start: np.ndarray
    period_start: np.ndarray
    period_end: np.ndarray
    birth_date: np.ndarray
    gender: np.ndarray  # str codes ('' when unknown)
    insutype: np.ndarray  # str codes ('' when unknown)
    union_member: np.ndarray  # bool
    shares: np.ndarray
    membership_years: np.ndarray
    first_time: np.ndarray  # bool
    hospital_level: np.ndarray  # 0 when unknown
    disease: np.ndarray  # str: code, '' when none
    held: list[tuple[str, ...]]  # products held in the period (read only when a product requires one)
    amounts: dict[str, np.ndarray]
    # Event claims (None: every row is a hospital stay). For a stay: NO_DATE, '' (hospital,
    # member, no flags), 0 (no outcome, no grade), False.
    event_date: np.ndarray | None = None
    claim_type: np.ndarray | None = None  # str: an engine claim type, '' for hospital
    subject: np.ndarray | None = None  # str: member | spouse | child, '' for member
    flags: np.ndarray | None = None  # str: the flags joined by '|', '' for none
    outcome: np.ndarray | None = None  # index into OUTCOMES
    grade: np.ndarray | None = None  # disability grade, 0 for none
    during_stay: np.ndarray | None = None  # bool
    # Carried in from the member's earlier periods (None: nothing): whether the product paid
    # them anything (a benefit that requires it), and each benefit's counted claims in a life.
    prior_paid: np.ndarray | None = None  # bool
    lifetime: dict[str, np.ndarray] = field(default_factory=dict)  # benefit id -> claims

    @property
    def n(self) -> int:
        return len(self.member)


def _indexes(values: np.ndarray | None, names: tuple[str, ...], n: int) -> np.ndarray:
    """Each string's index in ``names`` ('' and None: the first)."""
    if values is None or not n:
        return np.zeros(n, np.int64)
    codes, back = np.unique(values, return_inverse=True)
    table = np.array([names.index(str(c)) if c else 0 for c in codes], np.int64)
    return table[np.asarray(back).reshape(-1)]


def _flag_bits(values: np.ndarray | None, product: Product, n: int) -> np.ndarray:
    """Each row's flags ('|'-joined names) as the bitmask over the product's vocabulary."""
    if values is None or not n:
        return np.zeros(n, np.int64)
    bit = {name: 1 << i for i, name in enumerate(flag_vocabulary(product))}
    codes, back = np.unique(values, return_inverse=True)
    table = np.array([sum(bit.get(f, 0) for f in set(str(c).split("|")) if f) for c in codes],
                     np.int64)
    return table[np.asarray(back).reshape(-1)]


def factorize(keys: np.ndarray) -> np.ndarray:
    """Each key's rank among the distinct keys (sorted input: one pass, no sort)."""
    if len(keys) and np.all(keys[1:] >= keys[:-1]):
        changes = np.empty(len(keys), np.int64)
        changes[0] = 0
        changes[1:] = keys[1:] != keys[:-1]
        return np.cumsum(changes)
    return np.asarray(np.unique(keys, return_inverse=True)[1], np.int64).reshape(-1)


def _ymd(ordinals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(year, month × 100 + day) of date ordinals."""
    d = (ordinals - _EPOCH).astype("datetime64[D]")
    year = d.astype("datetime64[Y]").astype(np.int64) + 1970
    month = d.astype("datetime64[M]").astype(np.int64) % 12 + 1
    day = (d - d.astype("datetime64[M]")).astype(np.int64) + 1
    return year, month * 100 + day


def _map_dates(ords: np.ndarray, fn: Any, missing: int) -> np.ndarray:
    """Apply ``fn(date) -> date | None`` to each distinct ordinal (few distinct values)."""
    out = np.full(len(ords), missing, np.int64)
    for value in np.unique(ords):
        if value == NO_DATE:
            continue
        got = fn(date.fromordinal(int(value)))
        out[ords == value] = missing if got is None else got.toordinal()
    return out


def columns_from_stays(s: StayFacts, product: Product, as_of: date | None = None) -> Columns:
    """Columns of stored claims for ``product`` (usage in the period from nothing; what
    earlier periods carry in, when given): see :class:`StayFacts`."""
    t, elig, n = product.timing, product.eligibility, s.n
    ev = s.event_date if s.event_date is not None else np.full(n, NO_DATE, np.int64)
    has = s.period_start != NO_DATE
    start = np.where(has, s.period_start, s.coverage_start)
    end = s.period_end.copy()
    open_end = (end == NO_DATE) & (start != NO_DATE)
    if open_end.any() and t.period_months:
        months = t.period_months
        computed = _map_dates(start, lambda d: timing.add_months(d, months) - timedelta(days=1),
                              NO_DATE)
        end = np.where(open_end, computed, end)
    cover = np.where(s.coverage_start != NO_DATE, s.coverage_start, start)
    end_or_never = np.where(end == NO_DATE, NEVER, end)
    if t.deadline == "days_after_settlement":
        ref = np.where(s.setl_date != NO_DATE, s.setl_date, s.enddate)
        ref = np.where(ref != NO_DATE, ref, ev)
        deadline = np.where(ref == NO_DATE, NEVER, ref + t.deadline_days)
    elif t.deadline == "days_after_period_end":
        deadline = np.where(end == NO_DATE, NEVER, end + t.deadline_days)
    elif t.deadline == "next_year_date":
        dm, dd = t.deadline_month, t.deadline_day
        deadline = _map_dates(end, lambda d: date(d.year + 1, dm, dd), NEVER)
    elif t.deadline == "fixed_date" and t.deadline_date is not None:
        deadline = np.full(n, t.deadline_date.toordinal(), np.int64)
    else:
        deadline = np.full(n, NEVER, np.int64)
    fallback = as_of.toordinal() if as_of is not None else NO_DATE
    claim_day = np.where(s.claim_date != NO_DATE, s.claim_date, fallback)
    claim_day = np.where(claim_day != NO_DATE, claim_day, s.enddate)
    claim_day = np.where(claim_day != NO_DATE, claim_day, ev)
    claim_day = np.where(claim_day == NO_DATE, 0, claim_day)
    stay = s.enddate if t.event_date == "discharge" else s.begndate
    event = np.where(ev != NO_DATE, ev, np.where(stay != NO_DATE, stay, s.enddate))
    both = (s.begndate != NO_DATE) & (s.enddate != NO_DATE)
    nights = s.enddate - s.begndate
    days = np.where(both, nights + 1 if t.stay_days == "inclusive" else np.maximum(nights, 1), 0)
    vocab = {c: i for i, c in enumerate(disease_vocabulary(product))}
    if vocab:
        codes, back = np.unique(s.disease, return_inverse=True)
        table = np.array([-1 if not c else vocab.get(str(c), -2) for c in codes], np.int64)
        disease = table[np.asarray(back).reshape(-1)] if n else np.zeros(0, np.int64)
    else:  # every code is unlisted
        disease = np.where(s.disease == "", -1, -2).astype(np.int64)
    waiting = s.first_time.astype(bool) | (t.waiting_for == "all")
    bad = np.zeros(n, bool)
    if elig.age_bands:
        any_gender = all(b.gender is None for b in elig.age_bands)
        checked = (s.birth_date != NO_DATE) & (cover != NO_DATE) & ((s.gender != "") | any_gender)
        by, bmd = _ymd(np.where(checked, s.birth_date, _EPOCH))
        cy, cmd = _ymd(np.where(checked, cover, _EPOCH))
        age = cy - by - (cmd < bmd)
        ok = np.zeros(n, bool)
        for band in elig.age_bands:
            fits = (age >= band.min_age) & (age <= band.max_age)
            ok |= fits if band.gender is None else fits & (s.gender == band.gender)
        bad |= checked & ~ok
    if elig.insurance_types:
        allowed = np.zeros(n, bool)
        for kind in sorted(elig.insurance_types):
            allowed |= s.insutype == kind
        bad |= (s.insutype != "") & ~allowed
    if elig.union_member:
        bad |= ~s.union_member.astype(bool)
    if elig.requires_products:
        need = elig.requires_products
        bad |= ~np.array([bool(need & set(h)) for h in s.held], bool)
    low = int(start.min(initial=0))
    group = factorize(s.member * (1 << 24) + (start - low + 1))
    z = np.zeros(n, np.int64)
    usage = {"product_paid": z}
    for b in product.benefits:
        for what in ("paid_fen", "claims", "base_fen", "lifetime_claims"):
            usage[f"{b.id}.{what}"] = z
        if b.id in s.lifetime:
            usage[f"{b.id}.lifetime_claims"] = s.lifetime[b.id].astype(np.int64)
    return make_columns(
        n, group=np.asarray(group, np.int64).reshape(-1),
        order=np.where(s.enddate != NO_DATE, s.enddate, np.where(ev != NO_DATE, ev, 0)),
        amounts=dict(s.amounts), claim_type=_indexes(s.claim_type, CLAIM_TYPES, n),
        subject=_indexes(s.subject, SUBJECTS, n), flags=_flag_bits(s.flags, product, n),
        disease=disease, outcome=z if s.outcome is None else s.outcome.astype(np.int64),
        grade=z if s.grade is None else s.grade.astype(np.int64),
        during_stay=(np.zeros(n, bool) if s.during_stay is None
                     else s.during_stay.astype(bool)), days=days, hospital_level=s.hospital_level,
        membership_years=s.membership_years,
        shares=np.maximum(1, np.minimum(s.shares, elig.max_shares)),
        event_lump=event, event_other=event, cover_start=cover, period_end=end_or_never,
        deadline=deadline, claim_date=claim_day, waiting=waiting, eligible=~bad, usage=usage,
        ended=np.zeros(n, bool),
        prior_paid=np.zeros(n, bool) if s.prior_paid is None else s.prior_paid.astype(bool))
