"""The demo province's current period and what it offers: Guangxi's 互助1号/2号/3号.

Guangxi's premiums are not published; the amounts here are demo values (the regional union's
50-yuan subsidy of 2024 is from the source article), chosen so every page has something real
to show. Targets for each city are the city's demo members rounded up to the next thousand.
"""

from __future__ import annotations

import datetime
import math

from django.db import transaction
from django.db.models import Count

from huzhu import clock
from huzhu.members.models import Member
from huzhu.organisations.models import Organisation, OrgKind
from huzhu.products.models import Offer, Period, Target
from huzhu.products.services import catalog_import, offer_create

OFFERS = (
    ("guangxi-2024-huzhu1", 10000, [{"payer": "union_province", "fen": 5000},
                                    {"payer": "employer", "fen": 3000},
                                    {"payer": "member", "rest": True}]),
    ("guangxi-2024-huzhu2", 6000, [{"payer": "union_province", "fen": 3000},
                                   {"payer": "member", "rest": True}]),
    ("guangxi-2024-huzhu3", 5000, [{"payer": "member", "rest": True}]),
)


@transaction.atomic
def ensure_demo_period(today: datetime.date | None = None) -> Period | None:
    """Create (once) a period whose enrollment window is open today, with offers and targets."""
    region = Organisation.objects.filter(depth=0, is_fund_region=True).first()
    if region is None:
        return None
    today = today or clock.today()
    year = today.year + 1
    period, created = Period.objects.get_or_create(
        fund_region=region, code=str(year), defaults={
            "name": f"{year} 年度", "enroll_opens": today - datetime.timedelta(days=30),
            "enroll_closes": datetime.date(today.year, 12, 31),
            "coverage_start": datetime.date(year, 1, 1),
            "coverage_end": datetime.date(year, 12, 31)})
    if not created:
        return period
    versions = {v.code: v for v in catalog_import()}
    for code, fen, split in OFFERS:
        if code in versions and not Offer.objects.filter(period=period,
                                                         product_version=versions[code]).exists():
            offer_create(period=period, organisation=region, product_version=versions[code],
                         premium_per_share_fen=fen, split=split,
                         gift_flags=["model_worker", "hardship"] if code.endswith("1") else [])
    for city in Organisation.objects.filter(parent=region, kind=OrgKind.CITY):
        members = Member.objects.filter(org_path__startswith=city.path).aggregate(n=Count("id"))
        Target.objects.get_or_create(period=period, organisation=city, defaults={
            "members": max(1000, math.ceil((members["n"] or 0) / 1000) * 1000)})
    return period
