"""What covers a member on a date, since when, and waiting until when.

Coverage begins when the unit's payment is confirmed: on the period start for payments before
it, else on the day after confirmation (or the same day, per the product's ``coverage_start``).
First-time members wait the product's waiting period; a member renewed within the product's
grace days keeps the earlier start and does not wait again.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from huzhu.products.services import product_rules

from .models import Enrollment, EnrollmentStatus


@dataclass(frozen=True)
class Cover:
    enrollment_id: int
    product_code: str
    product_version_id: int
    shares: int
    since: datetime.date
    until: datetime.date
    continuous_since: datetime.date
    waiting_until: datetime.date | None
    first_time: bool

    def waiting_on(self, day: datetime.date) -> bool:
        return self.waiting_until is not None and day <= self.waiting_until


def coverage_dates(enrollment: Enrollment, confirmed_on: datetime.date
                   ) -> tuple[datetime.date, datetime.date | None, bool, datetime.date]:
    """Return (coverage start, waiting until, first time, continuous since) for an enrollment
    confirmed on ``confirmed_on``."""
    period = enrollment.period
    timing = product_rules(enrollment.product_version).timing
    if confirmed_on < period.coverage_start:
        start = period.coverage_start
    elif timing.coverage_start == "same_day":
        start = confirmed_on
    else:  # a late joiner is never covered backwards, whatever the product's usual start
        start = confirmed_on + datetime.timedelta(days=1)
    previous = (Enrollment.objects
                .filter(member_id=enrollment.member_id, status=EnrollmentStatus.ACTIVE,
                        product_version__code=enrollment.product_version.code,
                        period__coverage_end__lt=period.coverage_start)
                .select_related("period").order_by("-period__coverage_end").first())
    grace = timing.renewal_grace_days or 0
    if previous is not None:
        gap_days = (start - previous.period.coverage_end).days - 1
        if gap_days <= grace:
            since = previous.continuous_since or previous.coverage_start or start
            return start, None, False, since
    waiting = None
    if timing.waiting_days:
        waiting = start + datetime.timedelta(days=timing.waiting_days - 1)
    return start, waiting, True, start


def coverage_on(member_id: int, day: datetime.date) -> list[Cover]:
    """Every product covering the member on ``day``."""
    rows = (Enrollment.objects
            .filter(member_id=member_id, status=EnrollmentStatus.ACTIVE,
                    coverage_start__lte=day, period__coverage_end__gte=day)
            .select_related("period", "product_version"))
    covers = []
    for e in rows:
        assert e.coverage_start is not None  # coverage_start__lte: an active enrollment has one
        covers.append(Cover(
            enrollment_id=e.pk, product_code=e.product_version.code,
            product_version_id=e.product_version_id, shares=e.shares, since=e.coverage_start,
            until=e.period.coverage_end, continuous_since=e.continuous_since or e.coverage_start,
            waiting_until=e.waiting_until, first_time=e.first_time))
    return covers
