"""The scheme year's API: the pages' services, scope, field errors and audit trail."""

from __future__ import annotations

from typing import Any

import pytest

from huzhu.audit.models import Action, Event
from huzhu.products.models import Period, Target

pytestmark = pytest.mark.django_db

BODY = {"code": "2027", "name": "2027 年度", "enroll_opens": "2026-11-01",
        "enroll_closes": "2026-12-31", "coverage_start": "2027-01-01",
        "coverage_end": "2027-12-31"}


@pytest.fixture
def clerks(world: Any) -> Any:
    from huzhu.accounts.models import User

    world.province_clerk = User.objects.create_user(
        username="sheng", password="x", role="city_staff", organisation=world.province)
    world.nanning_clerk = User.objects.create_user(
        username="nanning", password="x", role="city_staff", organisation=world.city_a)
    return world


def _put(api: Any, path: str, body: Any) -> Any:
    return api.post(path, body)


def test_create_a_period_and_bad_dates_are_named(clerks: Any, api_as: Any) -> None:
    api = api_as(clerks.province_clerk)
    bad = api.post("/scheme/periods", {**BODY, "enroll_closes": "2026-10-01"})
    assert bad.status_code == 400
    assert bad.json()["fields"]["enroll_closes"] == ["参保截止日期不能早于参保开始日期"]
    assert not Period.objects.exists()
    created = api.post("/scheme/periods", BODY)
    assert created.status_code == 201 and created.json()["code"] == "2027"
    assert Event.objects.filter(action=Action.SETTING_CREATED,
                                object_type="products.period").count() == 1
    assert [p["code"] for p in api.get("/scheme/periods").json()] == ["2027"]
    # A city clerk is not at the fund region's own union.
    assert api_as(clerks.nanning_clerk).post("/scheme/periods",
                                             {**BODY, "code": "x"}).status_code == 403


def test_targets_by_api_are_scoped_and_recorded(clerks: Any, api_as: Any) -> None:
    period = Period.objects.create(fund_region=clerks.province, **{
        k: v for k, v in BODY.items()})
    api = api_as(clerks.nanning_clerk)
    path = f"/scheme/periods/{period.pk}/targets"
    response = _put(api, path, {"parent": clerks.city_a.pk,
                                "targets": {str(clerks.county_a.pk): 40}})
    assert response.status_code == 200, response.content
    assert response.json()[0]["target"] == 40
    _put(api, path, {"parent": clerks.city_a.pk, "targets": {str(clerks.county_a.pk): 45}})
    event = Event.objects.filter(object_type="products.target").latest("seq")
    assert event.before == {"members": 40} and event.after == {"members": 45}
    # 柳州's clerk: Nanning is not found.
    other = api_as(clerks.zhaoliu)
    assert _put(other, path, {"parent": clerks.city_a.pk,
                              "targets": {str(clerks.county_a.pk): 1}}).status_code == 404
    assert other.get(path, parent=clerks.city_a.pk).status_code == 404
    assert Target.objects.get().members == 45


def test_an_offer_by_api_must_add_up(clerks: Any, api_as: Any) -> None:
    from huzhu.products.models import Offer
    from huzhu.products.services import catalog_import

    version = next(v for v in catalog_import() if v.code == "chongqing-2015-medical")
    period = Period.objects.create(fund_region=clerks.province, **dict(BODY.items()))
    api = api_as(clerks.nanning_clerk)
    path = f"/scheme/periods/{period.pk}/offers"
    body = {"organisation": clerks.county_a.pk, "product_version": version.pk,
            "premium_per_share_fen": 10000,
            "split": [{"payer": "employer", "fen": 12000}, {"payer": "member", "rest": True}]}
    bad = api.post(path, body)
    assert bad.status_code == 400 and "超过每份保费" in bad.json()["fields"]["split"][0]
    body["split"][0]["fen"] = 4000
    good = api.post(path, body)
    assert good.status_code == 201, good.content
    offer = Offer.objects.get()
    assert offer.premium_per_share_fen == 10000 and offer.organisation_id == clerks.county_a.pk
    event = Event.objects.filter(object_type="products.offer").get()
    assert event.action == Action.SETTING_CREATED and event.actor_label == "nanning"
    # Another city's organisation is named as out of scope.
    outside = api.post(path, {**body, "organisation": clerks.county_b.pk})
    assert outside.status_code == 400 and "organisation" in outside.json()["fields"]
