"""The scalar engine: one claim → an :class:`Assessment` with lines, reasons and a trace.

It is the oracle for :mod:`huzhu.rules.vector`. The steps for each benefit, in order:
applicability → product gates (cover, eligibility, deadline) → benefit gates (prior payment,
hospital level, disease, waiting) → formula → floor → share cap → per-claim cap → claim count
→ lifetime count → benefit period cap; then the product's period cap across benefits in
catalog order.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from datetime import date

from huzhu.rules import eligibility, formulas, timing
from huzhu.rules.model import (
    Assessment,
    Benefit,
    BenefitUsage,
    ClaimFacts,
    Line,
    LumpAmount,
    Product,
    Reason,
    ReasonItem,
    Usage,
    WaitingTier,
)
from huzhu.rules.money import apply_ratio
from huzhu.rules.trace import Trace, pct, y

EMPTY_USAGE = Usage()


@dataclass(frozen=True)
class Context:
    """What the facts mean for this product, computed once per claim."""

    period_start: date | None
    period_end: date | None
    coverage_start: date | None
    deadline: date | None
    claim_date: date
    waiting_applies: bool
    shares: int
    not_eligible: tuple[ReasonItem, ...]
    coverage_ended: bool


def build_context(facts: ClaimFacts, product: Product, usage: Usage, as_of: date) -> Context:
    t = product.timing
    start, end = timing.period_bounds(facts, t)
    cover = facts.coverage_start or start
    return Context(
        period_start=start, period_end=end, coverage_start=cover,
        deadline=timing.deadline(facts, t, end), claim_date=facts.claim_date or as_of,
        waiting_applies=timing.waiting_applies(facts, t),
        shares=eligibility.effective_shares(facts, product.eligibility),
        not_eligible=tuple(eligibility.check(facts, product.eligibility, cover)),
        coverage_ended=usage.coverage_ended,
    )


def product_gates(ctx: Context, event: date | None) -> list[ReasonItem]:
    """Return the reasons that stop every benefit of the product for this claim."""
    out: list[ReasonItem] = []
    if ctx.coverage_ended:
        out.append(ReasonItem(Reason.COVERAGE_ENDED, {"by": "earlier_payment"}))
    out.extend(ctx.not_eligible)
    if event is not None:
        if ctx.coverage_start and event < ctx.coverage_start:
            out.append(ReasonItem(Reason.NOT_YET_COVERED, {"event": event.isoformat(),
                                                           "start": ctx.coverage_start.isoformat()}))
        if ctx.period_end and event > ctx.period_end:
            out.append(ReasonItem(Reason.COVERAGE_ENDED, {"event": event.isoformat(),
                                                          "period_end": ctx.period_end.isoformat()}))
    if ctx.deadline is not None and ctx.claim_date > ctx.deadline:
        out.append(ReasonItem(Reason.DEADLINE_PASSED, {"deadline": ctx.deadline.isoformat(),
                                                       "claim_date": ctx.claim_date.isoformat()}))
    return out


def applies(b: Benefit, f: ClaimFacts) -> bool:
    """Return whether the claim triggers the benefit (type, subject, flags, lump/accident facts)."""
    if f.claim_type not in b.claim_types or f.subject not in b.subjects:
        return False
    if not b.requires_flags <= set(f.flags) or b.excludes_flags & set(f.flags):
        return False
    if b.kind == "lump":
        return f.disease is not None
    if b.kind == "accident":
        return f.accident_outcome is not None
    return True


def lump_match(b: Benefit, disease: str | None) -> LumpAmount | None:
    """Return the first amount row whose list holds the disease (Nanping: by class)."""
    for row in b.amounts:
        if disease in row.codes:
            return row
    return None


def waiting_tier(b: Benefit, ctx: Context, event: date | None) -> tuple[WaitingTier | None, int]:
    """Return the waiting tier the event falls in (None once past waiting) and its day number."""
    if not (b.waiting and ctx.waiting_applies and event and ctx.coverage_start):
        return None, 0
    day = timing.day_number(event, ctx.coverage_start)
    for tier in b.waiting:
        if day <= tier.upto_day:
            return tier, day
    return None, day


class _Line:
    """Mutable working state of one benefit line."""

    def __init__(self, b: Benefit, tr: Trace | None) -> None:
        self.b, self.tr = b, tr
        self.amount = 0
        self.reasons: list[ReasonItem] = []
        self.base = 0
        self.ends = b.ends_coverage
        self.counted = False

    def why(self, code: Reason, **params: object) -> None:
        self.reasons.append(ReasonItem(code, dict(params)))

    def note(self, step: str, zh: str, en: str) -> None:
        if self.tr is not None:
            self.tr.add(f"{self.b.id}.{step}", zh, en)

    def freeze(self) -> Line:
        return Line(self.b.id, self.b.name, self.b.kind, self.amount, tuple(self.reasons),
                    self.counted, self.ends, self.base)


def _ratio(ln: _Line, f: ClaimFacts, u: BenefitUsage) -> None:
    b = ln.b
    assert b.base is not None and b.tiers is not None
    base = max(b.base.evaluate(f.amounts), 0)
    ln.base = base
    if ln.tr:
        ln.note("base", f"费用基数 {b.base.text} = {y(base)} 元", f"cost base {b.base.text} = {y(base)} yuan")
    if base == 0:
        return ln.why(Reason.NO_COST)
    d = b.deductible_fen
    if b.stays == "cumulated":
        prev = u.base_fen
        net = max(prev + base - d, 0) - max(prev - d, 0)
        hi, why, parts = formulas.tier_amount(b.tiers, max(prev + base - d, 0))
        lo = formulas.tier_amount(b.tiers, max(prev - d, 0))[0]
        amount = max(hi - lo, 0)
        if ln.tr:
            ln.note("cumulate", f"本期累计基数 {y(prev)} + {y(base)}，累计给付 {y(hi)} − 此前 {y(lo)} = {y(amount)} 元",
                    f"period base {y(prev)} + {y(base)}; benefit {y(hi)} − earlier {y(lo)} = {y(amount)} yuan")
    else:
        net = base - d
        amount, why, parts = formulas.tier_amount(b.tiers, max(net, 0))
        _note_tiers(ln, parts, amount)
    if d:
        if ln.tr:
            ln.note("deductible", f"起付线 {y(d)} 元，扣除后 {y(max(net, 0))} 元",
                    f"deductible {y(d)}, leaves {y(max(net, 0))} yuan")
    if net <= 0:
        return ln.why(Reason.DEDUCTIBLE_NOT_MET, deductible_fen=d, base_fen=base)
    if why:
        ln.why(Reason(why), base_fen=net)
    elif b.min_benefit_fen and amount < b.min_benefit_fen:
        floor = min(b.min_benefit_fen, net) if b.min_benefit_within_base else b.min_benefit_fen
        if floor > amount:
            if ln.tr:
                ln.note("floor", f"不足最低给付 {y(b.min_benefit_fen)} 元，按 {y(floor)} 元",
                        f"below the minimum {y(b.min_benefit_fen)}: paid {y(floor)}")
            ln.why(Reason.MIN_BENEFIT, min_fen=b.min_benefit_fen, computed_fen=amount)
            amount = floor
    ln.amount = amount
    if b.share_cap is not None:
        cap = apply_ratio(max(b.share_cap.base.evaluate(f.amounts), 0), b.share_cap.bp)
        if ln.tr:
            ln.note("share_cap", f"不超过 {b.share_cap.base.text} 的 {pct(b.share_cap.bp)} = {y(cap)} 元",
                    f"at most {pct(b.share_cap.bp)} of {b.share_cap.base.text} = {y(cap)} yuan")
        if amount > cap:
            ln.why(Reason.RATIO_SHARE_CAP, rate_bp=b.share_cap.bp, cap_fen=cap, computed_fen=amount)
            ln.amount = cap


def _note_tiers(ln: _Line, parts: list, amount: int) -> None:
    if ln.tr is None:
        return
    mode = ln.b.tiers.mode if ln.b.tiers else "marginal"
    terms = " + ".join(f"{y(seg)}×{pct(t.bp)}" for t, seg in parts) or "0"
    label = "分段累进" if mode == "marginal" else "全额分档"
    if ln.tr:
        ln.note("tiers", f"{label}: {terms} = {y(amount)} 元（四舍五入到分）",
                f"{mode} tiers: {terms} = {y(amount)} yuan (half up to the fen)")


def _daily(ln: _Line, f: ClaimFacts, product: Product) -> None:
    b = ln.b
    days = timing.stay_days(f, product.timing)
    if days < b.min_stay_days:
        if ln.tr:
            ln.note("stay", f"住院 {days} 天，需至少 {b.min_stay_days} 天", f"stay {days} days, needs {b.min_stay_days}")
        return ln.why(Reason.STAY_TOO_SHORT, days=days, min_stay_days=b.min_stay_days)
    paid = formulas.paid_days(days, b.count_from_day)
    if paid == 0:
        return ln.why(Reason.STAY_TOO_SHORT, days=days, count_from_day=b.count_from_day)
    rate = formulas.daily_rate(b.per_day_fen, b.rates_by_year, f.membership_years)
    ln.amount = paid * rate
    if ln.tr:
        ln.note("days", f"住院 {days} 天，从第 {b.count_from_day} 天起计 {paid} 天 × {y(rate)} 元 = {y(ln.amount)} 元",
                f"stay {days} days, from day {b.count_from_day}: {paid} × {y(rate)} = {y(ln.amount)} yuan")


def _lump(ln: _Line, row: LumpAmount, shares: int) -> None:
    n = shares if ln.b.per_share else 1
    ln.amount = row.amount_fen * n
    if ln.tr:
        ln.note("lump", f"{row.label}: {y(row.amount_fen)} 元 × {n} 份 = {y(ln.amount)} 元",
                f"{row.label}: {y(row.amount_fen)} × {n} share(s) = {y(ln.amount)} yuan")


def _accident(ln: _Line, f: ClaimFacts) -> None:
    b = ln.b
    amount = formulas.accident_amount(f.accident_outcome, f.disability_grade, f.during_stay,
                                      (b.death_fen, b.death_stay_fen),
                                      (b.disability_max_fen, b.disability_stay_fen), b.grades_bp)
    if amount is None:
        return ln.why(Reason.NOT_APPLICABLE, outcome=f.accident_outcome, grade=f.disability_grade)
    ln.amount = amount
    stay = "（住院期间）" if f.during_stay else ""
    if ln.tr:
        ln.note("accident", f"意外{f.accident_outcome} {f.disability_grade or ''}{stay}: {y(amount)} 元",
                f"accident {f.accident_outcome} {f.disability_grade or ''}: {y(amount)} yuan")


def _consolation(ln: _Line, f: ClaimFacts) -> None:
    b = ln.b
    assert b.base is not None
    base = max(b.base.evaluate(f.amounts), 0)
    ln.base = base
    if base < b.threshold_fen:
        if ln.tr:
            ln.note("threshold", f"{b.base.text} = {y(base)} 元，未达 {y(b.threshold_fen)} 元",
                    f"{b.base.text} = {y(base)}, below {y(b.threshold_fen)}")
        return ln.why(Reason.BELOW_THRESHOLD, base_fen=base, threshold_fen=b.threshold_fen)
    ln.amount = b.amount_fen
    if ln.tr:
        ln.note("consolation", f"{y(base)} 元 ≥ {y(b.threshold_fen)} 元，慰问金 {y(b.amount_fen)} 元",
                f"{y(base)} ≥ {y(b.threshold_fen)}: consolation {y(b.amount_fen)} yuan")


def _limits(ln: _Line, u: BenefitUsage) -> None:
    b = ln.b
    if b.per_claim_cap_fen is not None and ln.amount > b.per_claim_cap_fen:
        if ln.tr:
            ln.note("per_claim_cap", f"单次上限 {y(b.per_claim_cap_fen)} 元", f"per-claim cap {y(b.per_claim_cap_fen)}")
        ln.why(Reason.PER_CLAIM_CAP, cap_fen=b.per_claim_cap_fen, computed_fen=ln.amount)
        ln.amount = b.per_claim_cap_fen
    if ln.amount <= 0:
        return
    if b.claim_limit is not None and u.claims >= b.claim_limit:
        if ln.tr:
            ln.note("claim_limit", f"本期已理赔 {u.claims} 次，上限 {b.claim_limit} 次",
                    f"{u.claims} claims already this period, limit {b.claim_limit}")
        ln.why(Reason.CLAIM_COUNT_EXCEEDED, limit=b.claim_limit, claims=u.claims)
        ln.amount = 0
        return
    if b.lifetime_limit is not None and u.lifetime_claims >= b.lifetime_limit:
        ln.why(Reason.LIFETIME_LIMIT, limit=b.lifetime_limit, claims=u.lifetime_claims)
        ln.amount = 0
        return
    ln.counted = True
    if b.period_cap_fen is not None:
        room = max(b.period_cap_fen - u.paid_fen, 0)
        if ln.amount > room:
            if ln.tr:
                ln.note("period_cap", f"本期上限 {y(b.period_cap_fen)} 元，已付 {y(u.paid_fen)} 元，余 {y(room)} 元",
                        f"period cap {y(b.period_cap_fen)}, paid {y(u.paid_fen)}, room {y(room)}")
            ln.why(Reason.PERIOD_CAP, cap_fen=b.period_cap_fen, paid_fen=u.paid_fen, computed_fen=ln.amount)
            ln.amount = room


def _apply_waiting(ln: _Line, tier: WaitingTier, day: int, shares: int) -> None:
    b = ln.b
    if tier.pay == "consolation":
        ln.amount = tier.amount_fen * (shares if b.per_share else 1)
        ln.why(Reason.WAITING_CONSOLATION, day=day, upto_day=tier.upto_day, amount_fen=ln.amount)
    else:
        full = ln.amount
        ln.amount = apply_ratio(full, tier.bp)
        ln.why(Reason.WAITING_CONSOLATION, day=day, upto_day=tier.upto_day, share_bp=tier.bp, full_fen=full)
    ln.ends = tier.ends_coverage
    if ln.tr:
        ln.note("waiting", f"等待期第 {day} 天（≤{tier.upto_day}），给付 {y(ln.amount)} 元",
                f"day {day} of the waiting period (≤{tier.upto_day}): pays {y(ln.amount)} yuan")


def benefit_line(b: Benefit, f: ClaimFacts, product: Product, usage: Usage, ctx: Context,
                 tr: Trace | None) -> Line:
    """Return the line of one benefit before the product's own period cap."""
    ln = _Line(b, tr)
    if not applies(b, f):
        ln.why(Reason.NOT_APPLICABLE, claim_type=f.claim_type, subject=f.subject)
        return ln.freeze()
    event = timing.event_date(f, product.timing, b.kind)
    gates = product_gates(ctx, event)
    if b.requires_prior_payment and not usage.prior_period_paid:
        gates.append(ReasonItem(Reason.NO_PRIOR_PAYMENT, {}))
    if b.min_hospital_level and (f.hospital_level or 0) < b.min_hospital_level:
        gates.append(ReasonItem(Reason.HOSPITAL_LEVEL, {"level": f.hospital_level,
                                                        "required": b.min_hospital_level}))
    row = lump_match(b, f.disease) if b.kind == "lump" else None
    if b.kind == "lump" and row is None:
        gates.append(ReasonItem(Reason.DISEASE_NOT_LISTED, {"disease": f.disease}))
    tier, day = waiting_tier(b, ctx, event)
    if tier is not None and tier.pay == "none":
        gates.append(ReasonItem(Reason.WAITING_PERIOD, {"day": day, "upto_day": tier.upto_day}))
    if gates:
        ln.reasons.extend(gates)
        if ln.tr:
            ln.note("gate", "不予给付: " + ", ".join(g.code.value for g in gates),
                    "not payable: " + ", ".join(g.code.value for g in gates))
        return ln.freeze()
    u = usage.of(b.id)
    if b.kind == "ratio":
        _ratio(ln, f, u)
    elif b.kind == "daily":
        _daily(ln, f, product)
    elif b.kind == "lump":
        _lump(ln, row, ctx.shares)  # type: ignore[arg-type]
    elif b.kind == "accident":
        _accident(ln, f)
    else:
        _consolation(ln, f)
    if tier is not None:
        _apply_waiting(ln, tier, day, ctx.shares)
    _limits(ln, u)
    return ln.freeze()


def _product_cap(lines: list[Line], product: Product, usage: Usage, tr: Trace | None) -> list[Line]:
    if product.period_cap_fen is None:
        return lines
    room = max(product.period_cap_fen - usage.product_paid_fen, 0)
    out = []
    for ln in lines:
        if ln.payable_fen > room:
            if tr is not None:
                tr.add(f"{ln.benefit_id}.product_cap", f"产品本期总上限 {y(product.period_cap_fen)} 元，余 {y(room)} 元",
                       f"product period cap {y(product.period_cap_fen)}, room {y(room)}")
            reason = ReasonItem(Reason.PRODUCT_PERIOD_CAP, {"cap_fen": product.period_cap_fen,
                                                            "paid_fen": usage.product_paid_fen,
                                                            "computed_fen": ln.payable_fen})
            ln = dataclasses.replace(ln, payable_fen=room, reasons=(*ln.reasons, reason))
        room -= ln.payable_fen
        out.append(ln)
    return out


# Canonical facts omit fields left at their defaults: the same claim always hashes the same.
_FACT_DEFAULTS = {f.name: (f.default if f.default is not dataclasses.MISSING else {})
                  for f in dataclasses.fields(ClaimFacts)}


def _jsonable(v: object) -> object:
    return v.isoformat() if isinstance(v, date) else str(v)


_ENCODER = json.JSONEncoder(separators=(",", ":"), default=_jsonable, ensure_ascii=False)


def _usage_doc(usage: Usage) -> dict:
    return {"benefits": {k: [u.paid_fen, u.claims, u.base_fen, u.lifetime_claims]
                         for k, u in usage.benefits.items()},
            "product_paid_fen": usage.product_paid_fen, "coverage_ended": usage.coverage_ended,
            "prior_period_paid": usage.prior_period_paid}


def input_hash(f: ClaimFacts, product: Product, usage: Usage, as_of: date) -> str:
    """Return sha256 over a canonical JSON of facts, usage, product version and as_of."""
    # Keys follow the dataclass field order and amounts are sorted, so no sort_keys is needed.
    facts = {k: (v.isoformat() if type(v) is date else v)
             for k, v in vars(f).items() if v != _FACT_DEFAULTS[k]}
    facts["amounts"] = sorted(f.amounts.items())
    doc = {"facts": facts, "usage": _usage_doc(usage) if usage is not EMPTY_USAGE else None,
           "product": [product.id, product.version, product.digest], "as_of": as_of.isoformat()}
    text = _ENCODER.encode(doc)
    return hashlib.sha256(text.encode()).hexdigest()


_FLAGS: dict[tuple[str, str, str], tuple[str, ...]] = {}


def _flags(product: Product) -> tuple[str, ...]:
    key = (product.id, product.version, product.digest)
    if key not in _FLAGS:
        _FLAGS[key] = tuple(f"{a.key}: {a.text}" for a in product.flags)
    return _FLAGS[key]


def assess(facts: ClaimFacts, product: Product, usage: Usage | None = None,
           as_of: date | None = None, *, trace: bool = True) -> Assessment:
    """Assess one claim against one product version, given the usage so far in the period."""
    usage = usage or EMPTY_USAGE
    as_of = as_of or facts.claim_date or facts.enddate or facts.event_date or date(1970, 1, 1)
    tr = Trace() if trace else None
    ctx = build_context(facts, product, usage, as_of)
    lines = [benefit_line(b, facts, product, usage, ctx, tr) for b in product.benefits]
    lines = _product_cap(lines, product, usage, tr)
    return Assessment(
        product_id=product.id, product_version=product.version, claim_id=facts.claim_id,
        payable_fen=sum(ln.payable_fen for ln in lines), lines=tuple(lines),
        input_hash=input_hash(facts, product, usage, as_of), as_of=as_of,
        trace=tuple(tr.steps) if tr else (), flags=_flags(product),
    )


def next_usage(usage: Usage | None, a: Assessment) -> Usage:
    """Return the usage after this assessment is paid (for the member's next claim)."""
    usage = usage or EMPTY_USAGE
    benefits = dict(usage.benefits)
    for ln in a.lines:
        u = usage.of(ln.benefit_id)
        benefits[ln.benefit_id] = BenefitUsage(
            paid_fen=u.paid_fen + ln.payable_fen, claims=u.claims + ln.counted,
            base_fen=u.base_fen + ln.base_fen, lifetime_claims=u.lifetime_claims + ln.counted)
    ended = usage.coverage_ended or any(ln.ends_coverage and ln.payable_fen > 0 for ln in a.lines)
    return Usage(benefits, usage.product_paid_fen + a.payable_fen, ended, usage.prior_period_paid)
