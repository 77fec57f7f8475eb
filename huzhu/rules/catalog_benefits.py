"""Read one ``[[benefits]]`` table into a :class:`~huzhu.rules.model.Benefit`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from huzhu.rules.catalog_reader import Reader
from huzhu.rules.expr import Expr, ExprError, compile_expr
from huzhu.rules.model import (
    CLAIM_TYPES,
    KINDS,
    SUBJECTS,
    Benefit,
    LumpAmount,
    ShareCap,
    Tier,
    Tiers,
    Timing,
    WaitingTier,
)

if TYPE_CHECKING:
    from huzhu.rules.catalog import DiseaseList

DEFAULT_CLAIM_TYPES = {
    "ratio": ("hospital",),
    "daily": ("hospital",),
    "lump": ("diagnosis", "hospital"),
    "accident": ("accident",),
    "consolation": ("hospital",),
}


def _expr(r: Reader, name: str, required: bool = True) -> Expr | None:
    text = r.text(name, required=required)
    if not text:
        return None
    try:
        return compile_expr(text)
    except ExprError as exc:
        r.issue(name, f"费用基数表达式错误 (bad base expression): {exc}")
        return None


def _read_tiers(r: Reader) -> Tiers | None:
    rate = r.ratio("rate")
    rows = r.tables("tiers")
    if rate is not None and rows:
        r.issue("rate", "rate 与 tiers 只能二选一 (give rate or tiers, not both)")
    if rate is not None:
        return Tiers("marginal", "upper", (Tier(0, None, rate, "全部"),))
    if not rows:
        return None
    mode = r.choice("tier_mode", ("marginal", "whole"), required=True)
    gaps = r.choice("gaps", ("upper", "lower", "none"), required=True)
    if mode == "marginal" and gaps == "none":
        r.issue("gaps", "分段累进不能用 gaps = \"none\" (marginal tiers need upper or lower)")
    published: list[tuple[int | None, int | None, int]] = []
    for i, t in enumerate(rows):
        lo, hi = t.money("from", required=True), t.money("to")
        bp = t.ratio("rate", required=True)
        if hi is None and i != len(rows) - 1:
            t.issue("to", "只有最后一档可以没有上限 (only the last tier may be open-ended)")
        if lo is not None and hi is not None and hi < lo:
            t.issue("to", "分档上限小于下限 (tier to < from)")
        if published and lo is not None and published[-1][0] is not None:
            prev_lo, prev_hi = published[-1][0], published[-1][1]
            if lo <= prev_lo:
                t.issue("from", "分档没有按从小到大排列 (unordered tiers)")
            elif prev_hi is not None and lo < prev_hi:
                t.issue("from", f"分档重叠 (overlapping tiers): from {lo / 100:.2f} < 上一档 to {prev_hi / 100:.2f}")
        published.append((lo, hi, bp or 0))
        t.done()
    return _effective_tiers(mode or "marginal", gaps or "upper", published)


def _effective_tiers(mode: str, gaps: str, rows: list) -> Tiers:
    """Apply the gap reading: 'upper' puts a gap into the next bracket, 'lower' into the previous."""
    items = []
    for i, (lo, hi, bp) in enumerate(rows):
        lo = lo or 0
        label = f"{lo / 100:.0f}-{'' if hi is None else f'{hi / 100:.0f}'}"
        if gaps == "upper":
            eff_lo = lo if i == 0 else (rows[i - 1][1] or 0)
            items.append(Tier(eff_lo, hi, bp, label))
        elif gaps == "lower":
            eff_hi = rows[i + 1][0] if i + 1 < len(rows) else None
            items.append(Tier(lo, eff_hi, bp, label))
        else:
            items.append(Tier(lo, hi, bp, label))
    return Tiers(mode, gaps, tuple(items))


def _read_waiting(r: Reader, timing: Timing) -> tuple[WaitingTier, ...]:
    out: list[WaitingTier] = []
    for w in r.tables("waiting"):
        day = w.integer("upto_day", required=True, minimum=0) or 0
        if out and day <= out[-1].upto_day:
            w.issue("upto_day", "等待期分段没有按天数递增 (unordered waiting tiers)")
        pay = w.choice("pay", ("none", "consolation", "share"), required=True) or "none"
        amount = w.money("amount", required=pay == "consolation") or 0
        bp = w.ratio("share", required=pay == "share") or 0
        out.append(WaitingTier(day, pay, amount, bp, w.boolean("ends_coverage")))
        w.done()
    if not out and timing.waiting_days:
        out.append(WaitingTier(timing.waiting_days, "none"))
    return tuple(out)


def _lump_amounts(r: Reader, lists: dict[str, DiseaseList]) -> tuple[LumpAmount, ...]:
    out = []
    single = r.text("disease_list")
    rows = r.tables("amounts")
    if single:
        amount = r.money("amount", required=True) or 0
        if single not in lists:
            r.issue("disease_list", f"未知的病种清单 (unknown disease list) {single!r}")
        else:
            out.append(LumpAmount(lists[single].name, lists[single].codes, amount))
    elif not rows:
        r.issue("disease_list", "一次性给付需要 disease_list 或 amounts (lump sum needs a disease list)")
    for a in rows:
        list_id = a.text("list", required=True)
        amount = a.money("amount", required=True) or 0
        if list_id not in lists:
            a.issue("list", f"未知的病种清单 (unknown disease list) {list_id!r}")
            a.done()
            continue
        codes = set(a.strings("codes")) or set(lists[list_id].codes)
        for bad in sorted(codes - lists[list_id].codes):
            a.issue("codes", f"病种 {bad!r} 不在清单 {list_id!r} 中 (unknown disease code)")
        out.append(LumpAmount(a.text("label") or lists[list_id].name, frozenset(codes), amount))
        a.done()
    return tuple(out)


def _read_ratio(r: Reader, kw: dict) -> None:
    kw["base"] = _expr(r, "base")
    kw["deductible_fen"] = r.money("deductible") or 0
    kw["tiers"] = _read_tiers(r)
    if kw["tiers"] is None:
        r.issue("tiers", "比例给付需要 rate 或 tiers (a ratio benefit needs rate or tiers)")
    sc = r.table("share_cap")
    if sc.present:
        base, bp = _expr(sc, "base"), sc.ratio("rate", required=True)
        if base is not None and bp is not None:
            kw["share_cap"] = ShareCap(base, bp)
        sc.done()
    kw["min_benefit_fen"] = r.money("min_benefit") or 0
    if kw["min_benefit_fen"]:
        kw["min_benefit_within_base"] = r.boolean("min_benefit_within_base", default=False)
        if "min_benefit_within_base" not in r.data:
            r.issue("min_benefit_within_base", "最低给付需说明是否以本次基数为限 ([G] reading must be explicit)")
    kw["stays"] = r.choice("stays", ("separate", "cumulated"), required=True) or "separate"


def _read_daily(r: Reader, kw: dict) -> None:
    kw["per_day_fen"] = r.money("per_day") or 0
    rates = []
    for t in r.tables("rates_by_year"):
        rates.append((t.integer("from_year", required=True, minimum=1) or 1,
                      t.money("per_day", required=True) or 0))
        if len(rates) > 1 and rates[-1][0] <= rates[-2][0]:
            t.issue("from_year", "按会龄的日额没有按年递增 (unordered rates_by_year)")
        t.done()
    if rates and rates[0][0] != 1:
        r.issue("rates_by_year", "按会龄的日额必须从第 1 年开始 (must start at from_year = 1)")
    if not rates and not kw["per_day_fen"]:
        r.issue("per_day", "住院津贴需要 per_day 或 rates_by_year (daily allowance needs an amount)")
    kw["rates_by_year"] = tuple(rates)
    kw["min_stay_days"] = r.integer("min_stay_days", default=0, minimum=0)
    kw["count_from_day"] = r.integer("count_from_day", required=True, minimum=1) or 1


def _read_accident(r: Reader, kw: dict) -> None:
    kw["death_fen"] = r.money("death") or 0
    kw["death_stay_fen"] = r.money("death_during_stay") or kw["death_fen"]
    kw["disability_max_fen"] = r.money("disability_max") or 0
    kw["disability_stay_fen"] = r.money("disability_max_during_stay") or kw["disability_max_fen"]
    grades = []
    for i, g in enumerate(r.strings("grades")):
        sub = Reader(r.file, {"grade": g}, r.issues, r.key(f"grades[{i}]"))
        grades.append(sub.ratio("grade") or 0)
    kw["grades_bp"] = tuple(grades)
    if kw["disability_max_fen"] and not grades:
        r.issue("grades", "伤残给付需要等级表 grades (disability needs a grade table)")


def _read_kind(r: Reader, kind: str, kw: dict, lists: dict) -> None:
    if kind == "ratio":
        _read_ratio(r, kw)
    elif kind == "daily":
        _read_daily(r, kw)
    elif kind == "lump":
        kw["amounts"] = _lump_amounts(r, lists)
        kw["per_share"] = r.boolean("per_share")
        kw["ends_coverage"] = r.boolean("ends_coverage")
    elif kind == "accident":
        _read_accident(r, kw)
    elif kind == "consolation":
        kw["base"] = _expr(r, "base")
        kw["threshold_fen"] = r.money("threshold", required=True) or 0
        kw["amount_fen"] = r.money("amount", required=True) or 0


def _read_limits(r: Reader, kw: dict, timing: Timing) -> None:
    kw["per_claim_cap_fen"] = r.money("per_claim_cap")
    kw["period_cap_fen"] = r.money("period_cap")
    kw["claim_limit"] = r.integer("claim_limit", minimum=1)
    kw["lifetime_limit"] = r.integer("lifetime_limit", minimum=1)
    if "cap" in r.data:
        r.issue("cap", "上限没有说明期间 (cap with no period): 用 per_claim_cap 或 period_cap")
    if timing.period_months == 0:
        for name in ("period_cap", "claim_limit"):
            if name in r.data:
                r.issue(name, "上限没有期间 (cap with no period): time.period_months = 0")


def read_benefit(r: Reader, lists: dict[str, DiseaseList], timing: Timing) -> Benefit:
    kind = r.choice("kind", KINDS, required=True) or "ratio"
    claim_types = r.strings("claim_types") or list(DEFAULT_CLAIM_TYPES[kind])
    for ct in claim_types:
        if ct not in CLAIM_TYPES:
            r.issue("claim_types", f"未知的理赔类型 (unknown claim type) {ct!r}")
    subjects = r.strings("subjects") or ["member"]
    for s in subjects:
        if s not in SUBJECTS:
            r.issue("subjects", f"未知的对象 (unknown subject) {s!r}")
    kw: dict = {
        "id": r.text("id", required=True), "name": r.text("name", required=True), "kind": kind,
        "claim_types": frozenset(claim_types), "subjects": frozenset(subjects),
        "requires_flags": frozenset(r.strings("requires_flags")),
        "excludes_flags": frozenset(r.strings("excludes_flags")),
        "requires_prior_payment": r.boolean("requires_prior_payment"),
        "min_hospital_level": r.integer("min_hospital_level", default=0, minimum=0),
        "waiting": _read_waiting(r, timing), "note": r.text("note"),
    }
    _read_kind(r, kind, kw, lists)
    _read_limits(r, kw, timing)
    r.used.add("cap")
    r.done()
    return Benefit(**kw)
