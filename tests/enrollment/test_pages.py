"""The agent's roster page and the staff dashboard, through the real views."""

from __future__ import annotations

import datetime

from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from huzhu.enrollment import services as enrollment_services
from huzhu.enrollment.models import Enrollment, Roster, RosterStatus
from huzhu.products.models import Target

from .conftest import person, xlsx
from .test_roster import new_id


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def upload(client, world, data, name="花名册.xlsx"):
    return client.post(reverse("enrollment:upload", args=[world.unit_a.pk]),
                       {"file": SimpleUploadedFile(name, data), "period": world.period.pk})


def test_agent_uploads_checks_and_commits(period_world):
    w = period_world
    client = client_for(w.lisi)
    page = client.get(reverse("enrollment:unit", args=[w.unit_a.pk])).content.decode()
    assert "下载模板" in page and "距参保截止" in page
    name = w.medical.product_version.name
    response = upload(client, w, xlsx([person("刘一", new_id(1), name),
                                       person("坏人", "123", name)]))
    roster = Roster.objects.get()
    assert response.status_code == 302 and roster.status == RosterStatus.INVALID
    page = client.get(reverse("enrollment:roster_detail", args=[roster.pk])).content.decode()
    assert "身份证号应为 18 位" in page and "下载标出错误的工作簿" in page
    errors = client.get(reverse("enrollment:roster_errors", args=[roster.pk]))
    assert errors["Content-Type"].startswith("application/vnd.openxmlformats")
    client.post(reverse("enrollment:roster_commit", args=[roster.pk]))
    assert Enrollment.objects.count() == 0  # errors and no explicit skip: nothing committed
    client.post(reverse("enrollment:roster_commit", args=[roster.pk]), {"skip_listed": "1"})
    assert Enrollment.objects.count() == 1


def test_large_files_wait_for_the_worker(period_world, monkeypatch):
    w = period_world
    monkeypatch.setattr(enrollment_services, "INLINE_BYTES", 10)
    from huzhu.enrollment import views

    monkeypatch.setattr(views, "INLINE_BYTES", 10)
    client = client_for(w.lisi)
    upload(client, w, xlsx([person("刘一", new_id(1), w.medical.product_version.name)]))
    roster = Roster.objects.get()
    assert roster.status == RosterStatus.VALIDATING
    partial = client.get(reverse("enrollment:roster_detail", args=[roster.pk]),
                         HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="every 1s"' in partial and "<progress" in partial
    call_command("worker")
    roster.refresh_from_db()
    assert roster.status == RosterStatus.VALID and roster.progress == 100


def test_outsider_cannot_reach_the_roster_pages(period_world):
    w = period_world
    upload(client_for(w.lisi), w, xlsx([person("刘一", new_id(1),
                                               w.medical.product_version.name)]))
    roster = Roster.objects.get()
    client = client_for(w.zhaoliu)
    for url in [reverse("enrollment:unit", args=[w.unit_a.pk]),
                reverse("enrollment:template", args=[w.unit_a.pk]),
                reverse("enrollment:roster_detail", args=[roster.pk]),
                reverse("enrollment:roster_errors", args=[roster.pk])]:
        assert client.get(url).status_code == 404, url
    assert client.post(reverse("enrollment:roster_commit", args=[roster.pk])).status_code == 404
    assert upload(client, w, b"x").status_code == 404
    assert Enrollment.objects.count() == 0


def test_dashboard_shows_targets_and_countdown(period_world):
    import time_machine

    w = period_world
    Target.objects.create(period=w.period, organisation=w.city_a, members=4)
    roster, _ = enrollment_services.roster_upload(
        unit=w.unit_a, period=w.period, file_name="r.xlsx",
        data=xlsx([person("刘一", new_id(1), w.medical.product_version.name)]), actor=w.lisi)
    enrollment_services.roster_confirm(roster=roster, actor=w.lisi)
    with time_machine.travel(datetime.datetime(2025, 12, 21, 10, tzinfo=datetime.UTC)):
        page = client_for(w.qianjiu).get(reverse("enrollment:dashboard")).content.decode()
    assert "10 天" in page
    table = page.split('id="progress"', 1)[1]
    nanning = table.split("南宁市总工会", 1)[1].split("</tr>", 1)[0]
    assert ">4<" in nanning and ">1<" in nanning and "25%" in nanning
    assert client_for(w.lisi).get(reverse("enrollment:dashboard")).status_code == 403


def test_member_page_enrolls_and_shows_errors(period_world):
    w = period_world
    client = client_for(w.wangwu)
    url = reverse("enrollment:member", args=[w.chenba.pk])
    page = client.get(url).content.decode()
    assert "今日没有生效的保障" in page and "登记参保" in page
    response = client.post(url, {"product": "chongqing-2015-medical", "shares": "3"})
    assert "最多 1 份" in response.content.decode()
    assert client.post(url, {"product": "chongqing-2015-medical", "shares": "1"}).status_code == 302
    assert Enrollment.objects.filter(member=w.chenba).count() == 1
    assert client_for(w.zhaoliu).get(url).status_code == 404
    assert client_for(w.zhangsan_user).post(
        reverse("enrollment:member", args=[w.zhangsan.pk]),
        {"product": "chongqing-2015-medical"}).status_code == 403  # not a new-form worker
