"""Reads for the enrollment pages: current period, counts, targets and the countdown."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q

from huzhu import clock
from huzhu.organisations.models import Organisation
from huzhu.products.models import Period, Target

from .models import Enrollment, EnrollmentStatus

COUNTED = (EnrollmentStatus.PENDING, EnrollmentStatus.ACTIVE)


def period_current(fund_region_id: int | None, today: datetime.date | None = None
                   ) -> Period | None:
    """The period whose enrollment window is open, else the latest one."""
    if fund_region_id is None:
        return None
    today = today or clock.today()
    periods = Period.objects.filter(fund_region_id=fund_region_id)
    open_now = periods.filter(enroll_opens__lte=today, enroll_closes__gte=today).first()
    return open_now or periods.order_by("-coverage_start").first()


def countdown_days(period: Period, today: datetime.date | None = None) -> int:
    """Days left until the window closes (0 on the last day, negative once closed)."""
    today = today or clock.today()
    return (period.enroll_closes - today).days


@dataclass
class Progress:
    organisation: Organisation
    target: int | None
    enrolled: int
    active: int

    @property
    def rate(self) -> float | None:
        # A display ratio, not money: a float is fine here.
        return None if not self.target else self.enrolled / self.target


def progress_by_child(parent: Organisation, period: Period) -> list[Progress]:
    """Targets against members enrolled, for each child of ``parent`` (one query each kind)."""
    children = list(Organisation.objects.filter(parent=parent).order_by("name"))
    targets = dict(Target.objects.filter(period=period, organisation__in=children)
                   .values_list("organisation_id", "members"))
    rows = []
    base = Enrollment.objects.filter(period=period, status__in=COUNTED)
    for child in children:
        counts = base.filter(org_path__startswith=child.path).aggregate(
            enrolled=Count("member_id", distinct=True),
            active=Count("member_id", distinct=True, filter=Q(status=EnrollmentStatus.ACTIVE)))
        rows.append(Progress(child, targets.get(child.pk), counts["enrolled"], counts["active"]))
    return rows


def progress_total(org: Organisation, period: Period) -> Progress:
    target = Target.objects.filter(period=period, organisation=org).values_list(
        "members", flat=True).first()
    counts = Enrollment.objects.filter(period=period, status__in=COUNTED,
                                       org_path__startswith=org.path).aggregate(
        enrolled=Count("member_id", distinct=True),
        active=Count("member_id", distinct=True, filter=Q(status=EnrollmentStatus.ACTIVE)))
    return Progress(org, target, counts["enrolled"], counts["active"])


def unit_summary(unit_id: int, period: Period) -> list[dict[str, Any]]:
    return list(Enrollment.objects.filter(unit_id=unit_id, period=period)
                .values("product_version__name", "status")
                .annotate(n=Count("id")).order_by("product_version__name", "status"))
