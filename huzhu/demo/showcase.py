"""What `make demo` shows beyond claims: last year's fund disclosure published by the two demo
finance officers (提请, 复核), and the follow-ups (重病关怀) the region's rule opens."""

from __future__ import annotations

import datetime
from typing import Any

from huzhu import clock


def ensure_demo_showcase() -> list[str]:
    from huzhu.accounts.models import User
    from huzhu.care.services import followups_scan
    from huzhu.insights.models import Disclosure
    from huzhu.insights.reports_disclosure import disclosure_propose, disclosure_publish
    from huzhu.organisations.models import Organisation

    said: list[str] = []
    maker = User.objects.filter(username="demo_finance").first()
    checker = User.objects.filter(username="demo_checker").first()
    region: Any = getattr(maker, "organisation", None)
    if maker is None or checker is None or region is None:
        return said
    year = clock.today().year - 1
    start, end = datetime.date(year, 1, 1), datetime.date(year, 12, 31)
    if not Disclosure.objects.filter(fund_region=region, start=start, end=end).exists():
        d = disclosure_propose(region=region, start=start, end=end, title="", actor=maker)
        disclosure_publish(disclosure=d, actor=checker)
        said.append(f"已发布 {year} 年度基金公示（演示财务提请、演示复核财务发布）")
    for r in Organisation.objects.filter(is_fund_region=True):
        opened = followups_scan(fund_region=r).opened
        if opened:
            said.append(f"{r.name}：按重病关怀规则开启 {opened} 项关怀")
    return said
