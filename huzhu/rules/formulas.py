"""The arithmetic of one benefit on one claim, in fen (scalar form).

Rounding steps (the same in :mod:`huzhu.rules.vector`):
1. Marginal tiers: each segment times its rate is summed exactly (basis points), and the sum
   is rounded ROUND_HALF_UP to the fen once.
2. Whole-amount tiers and flat rates: base × rate, rounded half up once.
3. A share cap (Chongqing 20 % of ``hifp_pay``) is rounded half up on its own, then compared.
4. Cumulated stays: the benefit of a stay is f(cumulated base after) − f(before), each f
   rounded as in 1-2, so the sum over a period equals f(total) exactly.
Daily allowances, lump sums and caps are whole fen and need no rounding.
"""

from __future__ import annotations

from huzhu.rules.model import Tier, Tiers
from huzhu.rules.money import BP_ONE, apply_ratio, half_up_div


def marginal(tiers: Tiers, x: int) -> tuple[int, list[tuple[Tier, int]]]:
    """Return the marginal (分段累进) amount and the segments that contributed."""
    numer, parts = 0, []
    for t in tiers.items:
        top = x if t.hi_fen is None else min(x, t.hi_fen)
        seg = top - t.lo_fen
        if seg <= 0:
            continue
        numer += seg * t.bp
        parts.append((t, seg))
    return half_up_div(numer, BP_ONE), parts


def whole_bracket(tiers: Tiers, x: int) -> int | None:
    """Return the index of the bracket that holds ``x`` (全额分档), or None."""
    items = tiers.items
    for i, t in enumerate(items):
        above_hi = t.hi_fen is not None and (x >= t.hi_fen if tiers.gaps == "lower" else x > t.hi_fen)
        if above_hi:
            continue
        if tiers.gaps == "upper":
            return i if (x >= t.lo_fen if i == 0 else x > t.lo_fen) else None
        return i if x >= t.lo_fen else None
    return None


def tier_amount(tiers: Tiers, x: int) -> tuple[int, str | None, list[tuple[Tier, int]]]:
    """Return (amount, reason, parts) for base ``x`` after any deductible."""
    if tiers.mode == "marginal":
        amount, parts = marginal(tiers, x)
        return amount, (None if parts or x <= 0 else "BELOW_FIRST_TIER"), parts
    idx = whole_bracket(tiers, x)
    if idx is None:
        below = x < tiers.items[0].lo_fen
        return 0, ("BELOW_FIRST_TIER" if below else "TIER_GAP"), []
    t = tiers.items[idx]
    return apply_ratio(x, t.bp), None, [(t, x)]


def tiers_on(tiers: Tiers, deductible: int, cumulated: int) -> int:
    """Return f(x) = tiers(max(x − deductible, 0)) for cumulated stays."""
    return tier_amount(tiers, max(cumulated - deductible, 0))[0]


def daily_rate(per_day: int, rates_by_year: tuple[tuple[int, int], ...], years: int) -> int:
    """Return the amount per day; Inner Mongolia pays 10/20/30 by year of membership."""
    rate = per_day
    for from_year, fen in rates_by_year:
        if years >= from_year:
            rate = fen
    return rate


def paid_days(days: int, count_from_day: int) -> int:
    """Return the days paid when counting from day N (Beijing 2011: from the 4th day)."""
    return max(days - (count_from_day - 1), 0)


def accident_amount(outcome: str | None, grade: int | None, during_stay: bool,
                    death: tuple[int, int], disability: tuple[int, int],
                    grades_bp: tuple[int, ...]) -> int | None:
    """Return the accident benefit; the higher amount applies during a hospital stay."""
    if outcome == "death":
        return death[1] if during_stay else death[0]
    if outcome == "disability" and grade is not None and 1 <= grade <= len(grades_bp):
        top = disability[1] if during_stay else disability[0]
        return apply_ratio(top, grades_bp[grade - 1])
    return None
