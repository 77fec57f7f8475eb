"""The scheme year through its pages (issue 14 parts 1–3): periods, offers and premiums with
the bill preview, targets handed down, units not yet enrolled (export, SMS)."""

from __future__ import annotations

import datetime
import io
from typing import Any

import pytest
import time_machine
from django.test import Client
from python_calamine import CalamineWorkbook

from huzhu.audit.models import Action, Event
from huzhu.products.models import Offer, Period, Target

from .conftest import add_period

pytestmark = pytest.mark.django_db

TODAY = "2025-11-20 10:00 +0800"


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def scheme(world: Any) -> Any:
    from huzhu.accounts.models import User
    from huzhu.accounts.roles import Role

    add_period(world)
    world.province_clerk = User.objects.create_user(
        username="shengjingban", password="x", role=Role.CITY_STAFF,
        organisation=world.province, display_name="省经办")
    world.nanning_clerk = User.objects.create_user(
        username="nanningjingban", password="x", role=Role.CITY_STAFF,
        organisation=world.city_a, display_name="南宁经办")
    return world


def _settings_events(model: str) -> list[Event]:
    return list(Event.objects.filter(object_type=f"products.{model}",
                                     action__in=[Action.SETTING_CREATED, Action.SETTING_CHANGED])
                .order_by("seq"))


def test_next_period_renews_dates_and_offers(scheme: Any) -> None:
    client = _client(scheme.province_clerk)
    with time_machine.travel(TODAY, tick=False):
        page = client.get("/scheme/periods/new/")
        assert page.status_code == 200
        body = page.content.decode()
        assert 'value="2027"' in body and 'value="2026-11-01"' in body  # a year on from 2026
        response = client.post("/scheme/periods/new/", {
            "code": "2027", "name": "2027 年度", "enroll_opens": "2026-11-01",
            "enroll_closes": "2026-12-31", "coverage_start": "2027-01-01",
            "coverage_end": "2027-12-31", "renew_offers": "on"})
    assert response.status_code == 302
    period = Period.objects.get(code="2027")
    offers = Offer.objects.filter(period=period)
    assert {(o.organisation_id, o.premium_per_share_fen) for o in offers} == {
        (scheme.province.pk, 11000), (scheme.city_a.pk, 6000)}
    created = [e for e in _settings_events("period") if e.object_id == str(period.pk)]
    assert created and created[0].after["code"] == "2027" and created[0].actor_label == "shengjingban"
    assert len([e for e in _settings_events("offer") if e.after.get("period") == period.pk]) == 2


def test_period_with_bad_dates_names_the_field_and_changes_nothing(scheme: Any) -> None:
    client = _client(scheme.province_clerk)
    before = Event.objects.count()
    response = client.post("/scheme/periods/new/", {
        "code": "2027", "name": "2027 年度", "enroll_opens": "2026-12-31",
        "enroll_closes": "2026-11-01", "coverage_start": "2027-01-01",
        "coverage_end": "2027-12-31"})
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-field="enroll_closes"' in body and "参保截止日期不能早于参保开始日期" in body
    assert not Period.objects.filter(code="2027").exists()
    assert Event.objects.count() == before
    # An overlapping coverage names the coverage start.
    response = client.post("/scheme/periods/new/", {
        "code": "2026b", "name": "重复", "enroll_opens": "2025-11-01",
        "enroll_closes": "2025-12-31", "coverage_start": "2026-06-01",
        "coverage_end": "2027-05-31"})
    assert 'data-field="coverage_start"' in response.content.decode()
    assert "重叠" in response.content.decode()


def test_only_the_fund_region_creates_periods_and_a_city_clerk_cannot(scheme: Any) -> None:
    assert _client(scheme.nanning_clerk).get("/scheme/periods/new/").status_code == 403
    assert _client(scheme.lisi).get("/scheme/periods/").status_code == 403  # an agent
    assert _client(scheme.sysadmin).get("/scheme/periods/").status_code == 403


def test_close_a_period_ends_the_window_and_the_countdown(scheme: Any) -> None:
    from huzhu.enrollment.selectors import countdown_days

    client = _client(scheme.province_clerk)
    with time_machine.travel(TODAY, tick=False):
        assert countdown_days(scheme.period) == 41
        response = client.post(f"/scheme/periods/{scheme.period.pk}/close/")
        assert response.status_code == 302
        scheme.period.refresh_from_db()
        assert scheme.period.enroll_closes == datetime.date(2025, 11, 19)
        assert countdown_days(scheme.period) == -1
    change = _settings_events("period")[-1]
    assert change.before == {"enroll_closes": "2025-12-31"}
    assert change.after == {"enroll_closes": "2025-11-19"}
    # The Nanning clerk may not close the province's period.
    with time_machine.travel(TODAY, tick=False):
        assert _client(scheme.nanning_clerk).post(
            f"/scheme/periods/{scheme.period.pk}/close/").status_code == 302
    scheme.period.refresh_from_db()
    assert scheme.period.enroll_closes == datetime.date(2025, 11, 19)


def _offer_post(org: Any, version: Any, premium: str, **fixed: str) -> dict[str, Any]:
    data = {"organisation": org.pk, "product_version": version.pk, "premium_yuan": premium,
            "rest_payer": "member", "gift_payer": "union_city", "gift_flags": ["hardship"]}
    data.update({f"fixed_{k}": v for k, v in fixed.items()})
    return data


def test_a_county_offer_wins_for_its_units_and_the_preview_bills_it(scheme: Any) -> None:
    from huzhu.products.services import offers_for

    county_clerk = scheme.wangwu.__class__.objects.create_user(
        username="qingxiu", password="x", role="county_staff", organisation=scheme.county_a)
    client = _client(county_clerk)
    medical = scheme.medical.product_version
    response = client.post(f"/scheme/periods/{scheme.period.pk}/",
                           _offer_post(scheme.county_a, medical, "120.50", employer="60"))
    assert response.status_code == 302, response.content.decode()
    offer = Offer.objects.get(period=scheme.period, organisation=scheme.county_a)
    assert offer.premium_per_share_fen == 12050
    assert offer.split == [{"payer": "employer", "fen": 6000}, {"payer": "member", "rest": True}]
    assert offers_for(org_path=scheme.unit_a.org_path, period=scheme.period)[
        medical.code].pk == offer.pk
    event = _settings_events("offer")[-1]
    assert event.after["premium_per_share_fen"] == 12050 and event.actor_label == "qingxiu"
    # Unit A: 张三 pays, 陈八 (hardship) is gifted by the city union.
    page = client.get(f"/scheme/periods/{scheme.period.pk}/preview/", {"q": "南宁示范"})
    body = page.content.decode()
    assert "南宁示范机械厂" in body
    assert "用人单位 60.00 元" in body and "职工个人 60.50 元" in body and "市总工会 120.50 元" in body
    assert "241.00 元" in body  # two members, one share each
    # A change to the offer is recorded with before and after.
    response = client.post(f"/scheme/periods/{scheme.period.pk}/?offer={offer.pk}",
                           _offer_post(scheme.county_a, medical, "130", employer="60"))
    assert response.status_code == 302
    event = _settings_events("offer")[-1]
    assert event.action == Action.SETTING_CHANGED
    assert event.before["premium_per_share_fen"] == 12050
    assert event.after["premium_per_share_fen"] == 13000


def test_a_split_that_does_not_add_up_is_refused_in_chinese(scheme: Any) -> None:
    client = _client(scheme.nanning_clerk)
    before = Event.objects.count()
    medical = scheme.medical.product_version
    response = client.post(f"/scheme/periods/{scheme.period.pk}/",
                           _offer_post(scheme.county_a, medical, "100", employer="80",
                                       union_city="30"))
    body = response.content.decode()
    assert response.status_code == 200
    assert 'data-field="split"' not in body  # split is no form field: a non-field error
    assert "超过每份保费" in body and "110.00 元" in body
    response = client.post(f"/scheme/periods/{scheme.period.pk}/",
                           _offer_post(scheme.county_a, medical, "12.345"))
    assert 'data-field="premium_yuan"' in response.content.decode()
    assert "最多两位小数" in response.content.decode()
    assert not Offer.objects.filter(organisation=scheme.county_a).exists()
    assert Event.objects.count() == before


def test_another_citys_clerk_cannot_offer_for_nanning(scheme: Any) -> None:
    client = _client(scheme.zhaoliu)  # 柳州
    medical = scheme.medical.product_version
    response = client.post(f"/scheme/periods/{scheme.period.pk}/",
                           _offer_post(scheme.county_a, medical, "100"))
    assert response.status_code == 200
    assert 'data-field="organisation"' in response.content.decode()  # not a choice for him
    assert not Offer.objects.filter(organisation=scheme.county_a).exists()
    other = Offer.objects.get(organisation=scheme.city_a)
    assert client.get(f"/scheme/periods/{scheme.period.pk}/?offer={other.pk}").status_code == 404


def test_targets_handed_down_with_sum_and_completion(scheme: Any) -> None:
    province = _client(scheme.province_clerk)
    url = f"/scheme/periods/{scheme.period.pk}/targets/"
    response = province.post(url, {"org": scheme.province.pk,
                                   f"target_{scheme.city_a.pk}": "3000",
                                   f"target_{scheme.city_b.pk}": "2,000"})
    assert response.status_code == 302
    assert dict(Target.objects.values_list("organisation_id", "members")) == {
        scheme.city_a.pk: 3000, scheme.city_b.pk: 2000}
    created = _settings_events("target")
    assert {e.after["members"] for e in created} == {3000, 2000}
    # Nanning hands its 3000 down to its county, more than it was given: allowed, shown.
    nanning = _client(scheme.nanning_clerk)
    nanning.post(url, {"org": scheme.city_a.pk, f"target_{scheme.county_a.pk}": "3500"})
    page = nanning.get(url, {"org": scheme.city_a.pk}).content.decode()
    assert "3000 人" in page and "3500 人" in page and "超过本级任务" in page
    # A change is an event with before and after.
    nanning.post(url, {"org": scheme.city_a.pk, f"target_{scheme.county_a.pk}": "2800"})
    change = _settings_events("target")[-1]
    assert change.before == {"members": 3500} and change.after == {"members": 2800}
    # Bad input names the organisation and changes nothing.
    response = nanning.post(url, {"org": scheme.city_a.pk,
                                  f"target_{scheme.county_a.pk}": "两千"})
    body = response.content.decode()
    assert f'data-field="target_{scheme.county_a.pk}"' in body and "青秀区总工会" in body
    assert Target.objects.get(organisation=scheme.county_a).members == 2800
    # 柳州's clerk sees no Nanning targets and cannot set them.
    liuzhou = _client(scheme.zhaoliu)
    assert liuzhou.get(url, {"org": scheme.city_a.pk}).status_code == 404
    assert liuzhou.post(url, {"org": scheme.city_a.pk,
                              f"target_{scheme.county_a.pk}": "1"}).status_code == 404
    assert Target.objects.get(organisation=scheme.county_a).members == 2800


def test_units_not_enrolled_export_and_sms(scheme: Any) -> None:
    from huzhu.notices.models import OutboxMessage
    from huzhu.notices.services import outbox_send

    client = _client(scheme.province_clerk)
    base = f"/scheme/periods/{scheme.period.pk}/not-enrolled/"
    page = client.get(base).content.decode()
    assert "南宁示范机械厂" in page and "柳州钢圈制造公司" in page and "李四" in page
    response = client.get(base + "export.xlsx", {"org": scheme.city_a.pk})
    assert response.status_code == 200
    rows = CalamineWorkbook.from_filelike(io.BytesIO(response.content)).get_sheet_by_index(
        0).to_python()
    names = [r[0] for r in rows[1:] if r[0] and not str(r[0]).startswith("导出人")]
    assert names == ["南宁示范机械厂"]  # scoped to Nanning
    assert rows[1][3] == "李四" and "13612345678" not in str(rows)  # the phone masked
    export = Event.objects.filter(action=Action.EXPORT).latest("seq")
    assert export.after["rows"] == 1 and export.org_path == scheme.city_a.path
    with time_machine.travel(TODAY, tick=False):
        client.post(base + "remind/", {"org": scheme.city_a.pk})
        client.post(base + "remind/", {"org": scheme.city_a.pk})  # once per agent a day
    messages = list(OutboxMessage.objects.filter(template="ENROLL_REMIND"))
    assert len(messages) == 1 and messages[0].params["name"] == "李四"
    assert messages[0].params["days"] == "41"
    assert Event.objects.filter(action=Action.ENROLL_REMINDED).count() == 2
    assert outbox_send()["sent"] == 1
    # 柳州's clerk cannot export Nanning's list.
    assert _client(scheme.zhaoliu).get(base + "export.xlsx",
                                       {"org": scheme.city_a.pk}).status_code == 404
