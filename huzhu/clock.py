"""The one clock: business today and local (Beijing) time.

The database stores UTC; people and the fund's books live in Beijing time (``DISPLAY_TIME_ZONE``,
Asia/Shanghai). Every "today" a service decides on — a business date, a deadline, a day close
— comes from :func:`today`, never from the server's or the database's zone.
"""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

BEIJING = ZoneInfo(getattr(settings, "DISPLAY_TIME_ZONE", "Asia/Shanghai"))


def now() -> datetime.datetime:
    """This moment (aware, UTC)."""
    return timezone.now()


def today(moment: datetime.datetime | None = None) -> datetime.date:
    """Beijing's date now, or at ``moment``."""
    return (moment or timezone.now()).astimezone(BEIJING).date()


def local(moment: datetime.datetime) -> datetime.datetime:
    """``moment`` in Beijing time."""
    return moment.astimezone(BEIJING)


def day_start(day: datetime.date) -> datetime.datetime:
    """The first instant of ``day`` in Beijing (aware)."""
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=BEIJING)
