"""Statutory working days (TRUST R-17): review deadlines count them.

The chinese-calendar package carries the State Council's holiday schedule for the years it
knows; a :class:`~huzhu.claims.models.WorkdayOverride` row (entered when a new year's
schedule is published, :mod:`huzhu.claims.calendar`) wins over it, and a year neither knows
counts Monday to Friday — and a deadline counted so is marked "节假日安排未录入".
"""

from __future__ import annotations

import datetime

import chinese_calendar


def _overrides(start: datetime.date, end: datetime.date) -> dict[datetime.date, bool]:
    from .models import WorkdayOverride

    return dict(WorkdayOverride.objects.filter(day__gte=start, day__lte=end)
                .values_list("day", "is_workday"))


def is_workday(day: datetime.date, overrides: dict[datetime.date, bool] | None = None) -> bool:
    """Whether ``day`` is a working day; ``overrides`` are the entered days around it (read
    from the database when not given)."""
    if overrides is None:
        overrides = _overrides(day, day)
    if day in overrides:
        return overrides[day]
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:  # a year the package has no schedule for
        return day.weekday() < 5


def add_workdays(start: datetime.date, n: int) -> datetime.date:
    """The ``n``-th working day after ``start`` (``start`` itself does not count)."""
    overrides = _overrides(start, start + datetime.timedelta(days=n * 3 + 30))
    day, left = start, n
    while left > 0:
        day += datetime.timedelta(days=1)
        if is_workday(day, overrides):
            left -= 1
    return day
