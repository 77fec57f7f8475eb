"""The demo period: open today, three Guangxi products offered, a target per city."""

from __future__ import annotations

import datetime

from django.core.management import call_command

from huzhu.demo.products import ensure_demo_period
from huzhu.enrollment.selectors import period_current
from huzhu.products.models import Target
from huzhu.products.services import offers_for


def test_demo_period_is_open_and_offers_products(db):
    call_command("demo_seed", members=300, seed=3, verbosity=0)
    today = datetime.date(2026, 11, 23)
    period = ensure_demo_period(today)
    assert ensure_demo_period(today).pk == period.pk  # running again changes nothing
    assert period.enroll_opens <= today <= period.enroll_closes
    assert period_current(period.fund_region_id, today) == period
    offered = offers_for(org_path=period.fund_region.path + "9999/", period=period)
    assert set(offered) == {"guangxi-2024-huzhu1", "guangxi-2024-huzhu2", "guangxi-2024-huzhu3"}
    assert offered["guangxi-2024-huzhu1"].premium_per_share_fen == 10000
    assert Target.objects.filter(period=period).count() == 14
