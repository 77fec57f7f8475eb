"""Time rules: coverage start, periods, waiting days, renewal continuity, claim deadlines.

Pure functions on ``date``s (STYLE §10 rule 23). Day numbers count the coverage start as
day 1, so "nothing within 30 days of effect" is days 1-30 and day 31 is the first day out.
"""

from __future__ import annotations

from calendar import monthrange
from datetime import date, timedelta

from huzhu.rules.model import ClaimFacts, Timing


def add_months(start: date, months: int) -> date:
    """Return the same day ``months`` later, clipped to the month's last day."""
    month0 = start.month - 1 + months
    year, month = start.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(start.day, monthrange(year, month)[1]))


def coverage_start_for(enrolled_on: date, period_start: date, timing: Timing) -> date:
    """Return when cover takes effect for an enrolment (e.g. Ningbo: 0:00 the next day)."""
    if timing.coverage_start == "next_day":
        return enrolled_on + timedelta(days=1)
    if timing.coverage_start == "period_start":
        return max(period_start, enrolled_on)
    return enrolled_on


def period_bounds(facts: ClaimFacts, timing: Timing) -> tuple[date | None, date | None]:
    """Return the coverage period: given in the facts, or ``period_months`` from its start."""
    start = facts.period_start or facts.coverage_start
    if facts.period_end is not None or start is None:
        return start, facts.period_end
    if timing.period_months == 0:
        return start, None
    return start, add_months(start, timing.period_months) - timedelta(days=1)


def stay_days(facts: ClaimFacts, timing: Timing) -> int:
    """Return the days of a stay: nights (算入不算出, at least 1) or both ends inclusive."""
    if facts.begndate is None or facts.enddate is None:
        return 0
    nights = (facts.enddate - facts.begndate).days
    return nights + 1 if timing.stay_days == "inclusive" else max(nights, 1)


def event_date(facts: ClaimFacts, timing: Timing, kind: str) -> date | None:
    """Return the date that decides cover: a diagnosis date for lump sums, else the stay."""
    if facts.event_date is not None:
        return facts.event_date
    if kind == "lump" and facts.diagnosis_date is not None:
        return facts.diagnosis_date
    stay = facts.enddate if timing.event_date == "discharge" else facts.begndate
    return stay or facts.diagnosis_date or facts.enddate


def waiting_applies(facts: ClaimFacts, timing: Timing) -> bool:
    """Waiting periods bind first-time members and late renewals (or everyone, if the product says so)."""
    if facts.first_time or timing.waiting_for == "all":
        return True
    if facts.lapse_days is None:
        return False
    return timing.renewal_grace_days is not None and facts.lapse_days > timing.renewal_grace_days


def day_number(event: date, coverage_start: date) -> int:
    """Return the day of cover the event falls on; the start date is day 1."""
    return (event - coverage_start).days + 1


def deadline(facts: ClaimFacts, timing: Timing, period_end: date | None) -> date | None:
    """Return the last day to claim, or None when the product sets no deadline."""
    kind = timing.deadline
    if kind == "days_after_settlement":
        ref = facts.setl_date or facts.enddate or facts.event_date or facts.diagnosis_date
        return ref + timedelta(days=timing.deadline_days) if ref else None
    if kind == "days_after_period_end":
        return period_end + timedelta(days=timing.deadline_days) if period_end else None
    if kind == "next_year_date":
        if period_end is None:
            return None
        return date(period_end.year + 1, timing.deadline_month, timing.deadline_day)
    if kind == "fixed_date":
        return timing.deadline_date
    return None
