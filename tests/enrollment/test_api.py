"""Enrollment API: roster upload and status, a member's enrollments; same scope as pages."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from huzhu.accounts.services import token_create
from huzhu.enrollment.models import Enrollment, Roster

from .conftest import person, xlsx
from .test_roster import new_id


def bearer(world, user) -> dict[str, str]:
    _, plain = token_create(actor=None, user=user, name="集成测试")
    return {"HTTP_AUTHORIZATION": f"Bearer {plain}"}


def post_roster(world, user, data, name="r.xlsx", unit=None):
    return Client().post(f"/api/enrollment/units/{(unit or world.unit_a).pk}/rosters",
                         {"period_id": world.period.pk, "file": SimpleUploadedFile(name, data)},
                         **bearer(world, user))


def test_upload_checks_and_reports_errors_by_row(period_world):
    w = period_world
    data = xlsx([person("刘一", new_id(1), w.medical.product_version.name),
                 person("坏人", "11010519491331002X", w.medical.product_version.name)])
    response = post_roster(w, w.lisi, data)
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "invalid" and body["rows_total"] == 2 and body["created"] is True
    assert body["errors"] == [{"row": 3, "field": "身份证号",
                               "message": "身份证号中的出生日期 19491331 不存在"}]
    again = post_roster(w, w.lisi, data)
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    status = Client().get(f"/api/enrollment/rosters/{body['id']}", **bearer(w, w.wangwu))
    assert status.status_code == 200 and status.json()["error_count"] == 1
    assert Enrollment.objects.count() == 0


def test_outsiders_and_anonymous_are_refused(period_world):
    w = period_world
    data = xlsx([person("刘一", new_id(1), w.medical.product_version.name)])
    assert post_roster(w, w.zhaoliu, data).status_code == 404
    assert Client().post(f"/api/enrollment/units/{w.unit_a.pk}/rosters").status_code == 401
    post_roster(w, w.lisi, data)
    roster = Roster.objects.get()
    assert Client().get(f"/api/enrollment/rosters/{roster.pk}",
                        **bearer(w, w.zhaoliu)).status_code == 404
    assert Client().get(f"/api/enrollment/members/{w.zhangsan.pk}/enrollments",
                        **bearer(w, w.zhaoliu)).status_code == 404
    assert Client().get(f"/api/enrollment/rosters/{roster.pk}",
                        HTTP_AUTHORIZATION="Bearer hz_forged").status_code == 401


def test_member_enrollments_and_coverage(period_world):
    import datetime

    from huzhu.enrollment.billing import invoice_create, payment_record
    from huzhu.enrollment.services import roster_confirm

    w = period_world
    post_roster(w, w.lisi, xlsx([person("张三", w.zhangsan.id_number,
                                        w.medical.product_version.name)]))
    roster_confirm(roster=Roster.objects.get(), actor=w.lisi)
    invoice = invoice_create(unit=w.unit_a, period=w.period, actor=w.lisi)
    payment_record(invoice=invoice, bank_ref="B1", amount_fen=11000,
                   paid_on=datetime.date(2025, 12, 1), payer_name="", actor=w.qianjiu)
    body = Client().get(f"/api/enrollment/members/{w.zhangsan.pk}/enrollments?on=2026-03-01",
                        **bearer(w, w.wangwu)).json()
    assert body["covered_by"][0]["product_code"] == "chongqing-2015-medical"
    assert body["covered_by"][0]["since"] == "2026-01-01"
    assert body["enrollments"][0]["status"] == "active"
    member = Client()  # a member holds no API token: he calls with his login session
    member.force_login(w.zhangsan_user)
    none = member.get(f"/api/enrollment/members/{w.zhangsan.pk}/enrollments?on=2025-12-31"
                      ).json()
    assert none["covered_by"] == []
