"""The holiday calendar review deadlines count by (issue 14 part 6).

A year's schedule is *known* when the chinese-calendar package carries it (the State Council's
schedules it was released with) or when staff entered it here: its holidays and its make-up
working days (调休上班), as the State Council published them. A deadline counted into a year
that is not known is counted Monday to Friday **and shown as such** — "节假日安排未录入" on the
claim and in the queue, and a notice on the home page from 1 November — never silently. When
the year is entered, every deadline of a claim still in review that reached into it is counted
again from the day the claim entered its level.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

import chinese_calendar
from django.db import transaction
from django.db.models import QuerySet

from huzhu import clock
from huzhu.actors import Actor
from huzhu.audit.models import Action
from huzhu.audit.services import atomic_events, event_record
from huzhu.errors import DomainError

from .models import CalendarYear, Claim, WorkdayOverride
from .status import ClaimStatus
from .workdays import add_workdays

UNKNOWN_LABEL = "节假日安排未录入"
# From this day of the year the next year's schedule is asked for on the home page.
NOTICE_FROM = (11, 1)


@cache
def library_knows(year: int) -> bool:
    """Whether the chinese-calendar package carries ``year``'s schedule."""
    try:
        chinese_calendar.is_workday(datetime.date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


def known_years(years: Iterable[int]) -> set[int]:
    """Those of ``years`` whose schedule is known (the package's, or entered here)."""
    wanted = set(years)
    known = {y for y in wanted if library_knows(y)}
    rest = wanted - known
    if rest:
        known |= set(CalendarYear.objects.filter(year__in=rest).values_list("year", flat=True))
    return known


def deadline_known(due: datetime.date | None, *, since: datetime.date | None = None) -> bool:
    """Whether a deadline was counted through known years only."""
    if due is None:
        return True
    first = (since or clock.today()).year
    years = set(range(min(first, due.year), due.year + 1))
    return known_years(years) == years


@dataclass(frozen=True)
class YearState:
    year: int
    source: str  # 内置 / 已录入 / 未录入
    entered: CalendarYear | None
    holidays: list[datetime.date]
    workdays: list[datetime.date]


def year_state(year: int) -> YearState:
    entered = CalendarYear.objects.filter(year=year).select_related("entered_by").first()
    rows = list(WorkdayOverride.objects.filter(day__year=year).order_by("day"))
    if library_knows(year):
        source = "内置（国务院办公厅公布，随系统提供）"
    elif entered is not None:
        source = "已录入"
    else:
        source = UNKNOWN_LABEL
    return YearState(year, source, entered, [r.day for r in rows if not r.is_workday],
                     [r.day for r in rows if r.is_workday])


_RANGE = re.compile(r"^(\d{4}-\d{1,2}-\d{1,2})\s*(?:(?:至|到|~|～|—|－|-{2})\s*(\d{4}-\d{1,2}-\d{1,2}))?$")


def _date(text: str) -> datetime.date:
    y, m, d = (int(x) for x in text.split("-"))
    return datetime.date(y, m, d)


def parse_days(text: str, *, year: int, label: str) -> list[datetime.date]:
    """The days a text lists, one date or range (``2027-02-06 至 2027-02-12``) per line,
    separated also by ``，`` or ``,``. Raises one :class:`DomainError` naming every bad line."""
    days: set[datetime.date] = set()
    problems: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        for part in re.split(r"[，,；;、]", line):
            part = part.strip()
            if not part:
                continue
            match = _RANGE.match(part)
            try:
                if match is None:
                    raise ValueError
                first = _date(match.group(1))
                last = _date(match.group(2)) if match.group(2) else first
            except ValueError:
                problems.append(f"{label}第 {number} 行“{part}”不是日期（应写作 {year}-01-01，"
                                f"或 {year}-02-06 至 {year}-02-12）")
                continue
            if last < first:
                problems.append(f"{label}第 {number} 行“{part}”的结束日期早于开始日期")
                continue
            if first.year != year or last.year != year:
                problems.append(f"{label}第 {number} 行“{part}”不在 {year} 年内")
                continue
            if (last - first).days > 31:
                problems.append(f"{label}第 {number} 行“{part}”跨度超过一个月，请检查")
                continue
            day = first
            while day <= last:
                days.add(day)
                day += datetime.timedelta(days=1)
    if problems:
        raise DomainError("；".join(problems), code="calendar_invalid")
    return sorted(days)


def calendar_enter_year(*, year: int, holidays: list[datetime.date],
                        workdays: list[datetime.date], source: str, actor: Actor
                        ) -> dict[str, int]:
    """Enter (or replace) ``year``'s schedule and count again the deadlines that reach into it.
    Returns how many days were entered and how many deadlines moved."""
    if library_knows(year):
        raise DomainError(f"{year} 年的节假日安排已随系统提供，无需录入", code="calendar_builtin")
    if not holidays:
        raise DomainError("放假日期：请至少填写一天", code="calendar_invalid")
    both = sorted(set(holidays) & set(workdays))
    if both:
        raise DomainError("同一天不能既放假又上班：" + "、".join(d.isoformat() for d in both),
                          code="calendar_invalid")
    weekdays = [d for d in workdays if d.weekday() < 5]
    if weekdays:
        raise DomainError("调休上班日应为周六或周日：" + "、".join(d.isoformat() for d in weekdays),
                          code="calendar_invalid")
    with transaction.atomic(), atomic_events():
        before = year_state(year)
        WorkdayOverride.objects.filter(day__year=year).delete()
        WorkdayOverride.objects.bulk_create(
            [WorkdayOverride(day=d, is_workday=False, note="放假") for d in holidays]
            + [WorkdayOverride(day=d, is_workday=True, note="调休上班") for d in workdays])
        entry, _ = CalendarYear.objects.update_or_create(
            year=year, defaults={"entered_by": actor if getattr(actor, "pk", None) else None,
                                 "source": source[:200]})
        event_record(action=Action.CALENDAR_YEAR, actor=actor, obj=entry,
                     before={"holidays": [d.isoformat() for d in before.holidays],
                             "workdays": [d.isoformat() for d in before.workdays]}
                     if before.entered else None,
                     after={"year": year, "holidays": [d.isoformat() for d in holidays],
                            "workdays": [d.isoformat() for d in workdays], "source": source})
        moved = deadlines_recount(year, actor=actor)
    return {"days": len(holidays) + len(workdays), "deadlines_moved": moved}


def deadlines_recount(year: int, *, actor: Actor) -> int:
    """Count again, from the day each entered its level, the deadlines of claims in review that
    reach into ``year``. Returns how many changed."""
    from .review import levels_of

    moved = 0
    claims = (Claim.objects.select_for_update()
              .filter(status=ClaimStatus.IN_REVIEW, due_on__year__gte=year,
                      level_since__isnull=False, level_since__year__lte=year)
              .order_by("id"))
    levels: dict[int, dict[int, Any]] = {}  # a region's levels read once, not per claim
    for claim in claims:
        if claim.fund_region_id not in levels:
            levels[claim.fund_region_id] = {lv.level: lv for lv in levels_of(claim.fund_region_id)}
        level = levels[claim.fund_region_id].get(claim.review_level)
        if level is None or claim.level_since is None:
            continue
        due = add_workdays(claim.level_since, level.working_days)
        if due == claim.due_on:
            continue
        event_record(action=Action.CLAIM_LEVEL, actor=actor, obj=claim,
                     before={"level": claim.review_level, "due_on": claim.due_on.isoformat()
                             if claim.due_on else None},
                     after={"level": claim.review_level, "name": level.name,
                            "due_on": due.isoformat(),
                            "why": f"{year}年节假日安排录入后重算审核时限"})
        Claim.objects.filter(pk=claim.pk).update(due_on=due)
        moved += 1
    return moved


def notice_year(today: datetime.date | None = None) -> int | None:
    """The year whose schedule the home page asks for, if any: from 1 November, next year when
    it is not known; any time, this year when it is not known."""
    today = today or clock.today()
    if not known_years([today.year]):
        return today.year
    if (today.month, today.day) >= NOTICE_FROM and not known_years([today.year + 1]):
        return today.year + 1
    return None


def claims_with_unknown_deadline(claims: QuerySet[Claim]) -> QuerySet[Claim]:
    """The claims of ``claims`` (a queryset) in review whose deadline reaches a year not known."""
    years = set(claims.filter(status=ClaimStatus.IN_REVIEW, due_on__isnull=False)
                .values_list("due_on__year", flat=True).distinct())
    unknown = years - known_years(years)
    return claims.filter(status=ClaimStatus.IN_REVIEW, due_on__year__in=unknown)
