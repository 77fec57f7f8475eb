"""The cockpit (issue 18 part 1): aggregates equal a recount and the ledger, scope by the union
tree, each chart as xlsx, the page for every oversight role."""

from __future__ import annotations

import io
from typing import Any

import openpyxl
import pytest
from django.core.management import call_command
from django.db.models import Sum

from huzhu.accounts.models import User
from huzhu.accounts.roles import Role
from huzhu.audit.models import Event
from huzhu.demo.claims import ensure_demo_claims
from huzhu.insights.cockpit import cockpit_build
from huzhu.insights.cockpit_recount import differences
from huzhu.insights.cockpit_refresh import percentile, refresh
from huzhu.insights.models_cockpit import CockpitMonth, CockpitTop, CockpitWait
from huzhu.ledger.models import AccountKind, Leg
from huzhu.organisations.models import Organisation

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db: Any, settings: Any, tmp_path: Any) -> dict[str, Any]:
    settings.VAR_DIR = tmp_path
    call_command("demo_seed", members=800, seed=5, verbosity=0)
    call_command("demo_accounts", verbosity=0)
    made = ensure_demo_claims(units=8, share=0.6, seed=1)
    assert made is not None and made.settlements > 5
    refresh()
    province = Organisation.objects.get(depth=0)
    # Two counties that both have claims, in different cities where possible.
    counties = list(Organisation.objects.filter(
        pk__in=CockpitMonth.objects.filter(measure="claims_filed", l2__isnull=False)
        .values("l2")).order_by("path"))
    assert len(counties) >= 2
    return {"province": province, "a": counties[0], "b": counties[-1]}


def _user(name: str, role: str, org: Organisation) -> Any:
    return User.objects.create_user(username=name, password="x-Long-Passw0rd!", role=role,
                                    organisation=org, display_name=name)


def test_aggregates_equal_a_row_by_row_recount(demo: dict[str, Any]) -> None:
    assert CockpitMonth.objects.filter(measure="benefit").exists()
    assert CockpitWait.objects.filter(measure="days_to_approval").exists()
    assert CockpitMonth.objects.filter(measure="claims_approved").exists()
    assert CockpitTop.objects.filter(kind="diagnosis").exists()
    assert differences() == []
    # A change in the data the refresh has not seen yet is found by the recount.
    row = CockpitMonth.objects.filter(measure="benefit").first()
    CockpitMonth.objects.filter(pk=row.pk).update(amount_fen=row.amount_fen + 1)
    problems = differences()
    assert len(problems) == 1 and "月度汇总" in problems[0]


def test_money_totals_equal_the_ledger(demo: dict[str, Any]) -> None:
    def legs(kind: str) -> int:
        return Leg.objects.filter(account__kind=kind).aggregate(s=Sum("amount_fen"))["s"] or 0

    def agg(measure: str) -> int:
        return CockpitMonth.objects.filter(measure=measure, l0=demo["province"].pk).aggregate(
            s=Sum("amount_fen"))["s"] or 0

    assert legs(AccountKind.BENEFIT_EXPENSE) > 0
    assert agg("benefit") == legs(AccountKind.BENEFIT_EXPENSE)
    assert agg("premium_billed") == -legs(AccountKind.PREMIUM_INCOME)
    bank_in = Leg.objects.filter(account__kind=AccountKind.BANK, amount_fen__gt=0,
                                 transaction__source_type="enrollment.payment")
    assert agg("premium_received") == bank_in.aggregate(s=Sum("amount_fen"))["s"]
    # The page's figures are those sums, for the whole province and summed over its cities.
    year = Leg.objects.filter(account__kind=AccountKind.BENEFIT_EXPENSE).first().business_date.year
    cp = cockpit_build(demo["province"], year)
    benefit_year = Leg.objects.filter(account__kind=AccountKind.BENEFIT_EXPENSE,
                                      business_date__year=year).aggregate(s=Sum("amount_fen"))["s"]
    assert sum(r[4] for r in cp.tables["monthly"].rows) == benefit_year
    assert sum(r[4] for r in cp.tables["region"].rows) == benefit_year


def test_percentiles_of_a_histogram() -> None:
    assert percentile({}, 0.5) is None
    assert percentile({1: 5, 3: 4, 10: 1}, 0.5) == 1
    assert percentile({1: 5, 3: 4, 10: 1}, 0.9) == 3
    assert percentile({1: 5, 3: 4, 10: 2}, 0.9) == 10


@pytest.mark.parametrize("role", [Role.REVIEWER, Role.FINANCE, Role.CITY_STAFF,
                                  Role.COUNTY_STAFF, Role.LEADERSHIP, Role.SUPERVISOR])
def test_the_page_renders_for_each_oversight_role(demo: dict[str, Any], client: Any,
                                                  role: str) -> None:
    org = demo["a"] if role == Role.COUNTY_STAFF else (
        Organisation.objects.get(pk=demo["a"].parent_id) if role == Role.CITY_STAFF
        else demo["province"])
    user = _user(f"u-{role}", role, org)
    client.force_login(user)
    home = client.get("/insights/")
    assert home.status_code == 302 and home["Location"].endswith(f"/cockpit/{org.pk}/")
    page = client.get(home["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    assert "管理驾驶舱" in html and "赔付率" in html and "vendor/echarts.min.js" in html
    assert "驾驶舱" in html.split("<main")[0]  # the menu entry
    assert "script-src 'self'" in page["Content-Security-Policy"]


def test_agent_and_member_have_no_cockpit(demo: dict[str, Any], client: Any) -> None:
    agent = User.objects.filter(role=Role.AGENT).first()
    client.force_login(agent)
    assert client.get(f"/insights/cockpit/{demo['province'].pk}/").status_code == 404


def test_a_county_sees_its_county_and_not_another(demo: dict[str, Any], client: Any) -> None:
    a, b = demo["a"], demo["b"]
    client.force_login(_user("county-a", Role.COUNTY_STAFF, a))
    assert client.get(f"/insights/cockpit/{a.pk}/").status_code == 200
    assert client.get(f"/insights/cockpit/{b.pk}/").status_code == 404
    assert client.get(f"/insights/cockpit/{a.parent_id}/").status_code == 404
    assert client.get(f"/insights/cockpit/{demo['province'].pk}/").status_code == 404
    assert client.get(f"/insights/cockpit/{b.pk}/monthly.xlsx").status_code == 404
    # The county's figures are its own: its claims, not the province's.
    mine = CockpitMonth.objects.filter(l2=a.pk, measure="claims_filed").aggregate(
        s=Sum("count"))["s"]
    everyone = CockpitMonth.objects.filter(measure="claims_filed").aggregate(s=Sum("count"))["s"]
    cp = cockpit_build(a, CockpitMonth.objects.filter(l2=a.pk).first().month.year)
    assert sum(r[1] for r in cp.tables["monthly"].rows) == mine < everyone


def test_a_city_drills_down_to_its_counties_only(demo: dict[str, Any], client: Any) -> None:
    city = Organisation.objects.get(pk=demo["a"].parent_id)
    client.force_login(_user("city-a", Role.CITY_STAFF, city))
    year = CockpitMonth.objects.filter(l1=city.pk).first().month.year
    cp = cockpit_build(city, year)
    links = [k for k in cp.tables["region"].links if k]
    assert demo["a"].pk in links
    assert set(Organisation.objects.filter(pk__in=links).values_list("parent_id", flat=True)) \
        == {city.pk}
    assert client.get(f"/insights/cockpit/{demo['a'].pk}/?year={year}").status_code == 200
    other = Organisation.objects.filter(depth=1).exclude(pk=city.pk).first()
    assert client.get(f"/insights/cockpit/{other.pk}/").status_code == 404


def test_each_chart_downloads_as_a_scoped_audited_xlsx(demo: dict[str, Any], client: Any) -> None:
    province = demo["province"]
    user = _user("leader", Role.LEADERSHIP, province)
    client.force_login(user)
    year = CockpitMonth.objects.filter(measure="benefit").first().month.year
    cp = cockpit_build(province, year)
    # A hospital's name that would be a formula stays text.
    first = CockpitTop.objects.filter(kind="hospital", year=year).order_by("-count").first()
    CockpitTop.objects.filter(pk=first.pk).update(label='=HYPERLINK("x","y")')
    for key in cp.tables:
        response = client.get(f"/insights/cockpit/{province.pk}/{key}.xlsx?year={year}")
        assert response.status_code == 200, key
        book = openpyxl.load_workbook(io.BytesIO(response.content))
        cells = [c for row in book.active.iter_rows(values_only=True) for c in row if c]
        assert cp.tables[key].headers[0] in cells
        if key == "monthly":
            assert sum(r[4] for r in cp.tables[key].rows) > 0
        if key == "top_hospital":
            ws = book.active
            found = [c for row in ws.iter_rows() for c in row if c.value == '=HYPERLINK("x","y")']
            assert found and all(c.data_type == "s" for c in found)
    events = Event.objects.filter(object_type="insights.cockpit", actor_id=user.pk)
    assert events.count() == len(cp.tables)
    assert client.get(f"/insights/cockpit/{province.pk}/nothing.xlsx").status_code == 404


def test_care_follow_ups_on_the_cockpit_by_touch_and_scope(demo: dict[str, Any]) -> None:
    """重病关怀 of the year: each touch due, done, not done and overdue, counted under the
    viewer's node only."""
    import datetime

    from huzhu import clock
    from huzhu.care.models import CareTask, FollowUp, Touch
    from huzhu.members.models import Member

    today = clock.today()
    a, b = demo["a"], demo["b"]
    for county, n in ((a, 2), (b, 1)):
        for m in Member.objects.filter(org_path__startswith=county.path)[:n]:
            f = FollowUp.objects.create(member=m, year=today.year, county=county,
                                        fund_region=demo["province"],
                                        org_path=m.org_path, reason="测试", opened_on=today)
            for kind in Touch:
                CareTask.objects.create(followup=f, kind=kind,
                                        due_on=today - datetime.timedelta(days=1))
    done = CareTask.objects.filter(followup__county=a, kind=Touch.SMS)
    done.update(done_on=today)
    CareTask.objects.filter(followup__county=a, kind=Touch.GIFT).update(done_on=today,
                                                                       skipped=True)
    rows = {r[0]: r[1:] for r in cockpit_build(a, today.year).tables["care"].rows}
    assert rows[Touch.SMS.label] == [2, 2, 0, 0, 0]
    assert rows[Touch.GIFT.label] == [2, 0, 2, 0, 0]
    assert rows[Touch.CALL.label] == [2, 0, 0, 2, 2]
    whole = {r[0]: r[1:] for r in cockpit_build(demo["province"], today.year).tables["care"].rows}
    assert whole[Touch.CALL.label] == [3, 0, 0, 3, 3]
    assert "开启关怀 3 人" in cockpit_build(demo["province"], today.year).tables["care"].note
