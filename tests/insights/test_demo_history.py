"""The demo's past years (issue 18 part 4), lived through the real services on their days:
enrollments, payments, settlements, claims, reviews, payouts with one failed line; the books
balance and the cockpit's aggregates agree with the recount."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.core.management import call_command

from huzhu import clock
from huzhu.claims.models import Claim
from huzhu.demo.history import ensure_demo_history
from huzhu.enrollment.models import Enrollment
from huzhu.insights.cockpit_recount import differences
from huzhu.insights.cockpit_refresh import refresh
from huzhu.insights.models_cockpit import CockpitMonth
from huzhu.ledger.verify import ledger_problems
from huzhu.payouts.models import PayoutLine
from huzhu.products.models import Period

pytestmark = pytest.mark.django_db


def test_a_past_year_is_lived_day_by_day(settings: Any, tmp_path: Any) -> None:
    settings.VAR_DIR = tmp_path
    call_command("demo_seed", members=800, seed=5, verbosity=0)
    call_command("demo_accounts", verbosity=0)
    today = clock.today()
    h = ensure_demo_history(years=1, units=12, seed=3)
    assert h is not None and h.years == [today.year - 1]
    period = Period.objects.get(code=str(today.year - 1))
    assert Enrollment.objects.filter(period=period, status="active").count() == h.enrolled[
        today.year - 1] > 0
    claims = Claim.objects.filter(period=period)
    assert claims.count() > 5
    # Each claim was filed on its settlement's arrival day, in the past year, not today.
    for c in claims.select_related("settlement"):
        assert clock.local(c.created_at).date().year == today.year - 1 or \
            clock.local(c.created_at).date() < today
        assert c.settlement.enddate < clock.local(c.created_at).date()
    assert PayoutLine.objects.filter(status="paid").exists()
    assert PayoutLine.objects.filter(status="failed").count() == h.failed_lines == 1
    assert list(ledger_problems()) == []
    refresh()
    assert differences() == []
    months = {r.month for r in CockpitMonth.objects.filter(measure="benefit")}
    assert len(months) >= 6  # spread over the year, not one day
    assert min(months) >= datetime.date(today.year - 1, 1, 1)
    # Running again adds nothing.
    before = Claim.objects.count()
    assert ensure_demo_history(years=1, units=12, seed=3).years == []
    assert Claim.objects.count() == before
