"""A bulk download of full personal numbers waits for a second approver (TRUST S-21): a roster
template or error workbook with the full ID, phone or card numbers of more people than
HUZHU_BULK_PI_EXPORT_LIMIT becomes a request (等待复核); another person with the reveal right
over the unit — not the requester, not another region's staff — approves it; the requester
then downloads it once, an audited reveal naming the request. Masked and small downloads are
served at once."""

from __future__ import annotations

import datetime
import io

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from huzhu.audit.models import Action, Event
from huzhu.enrollment.exports import export_approve
from huzhu.enrollment.models import PiExport
from huzhu.errors import NotAllowed
from huzhu.pii.masking import mask_id_number
from tests.enrollment.conftest import person, xlsx
from tests.enrollment.test_masked_roster import upload
from tests.enrollment.test_roster import new_id

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def template_url(w, masked: bool = False) -> str:
    return (reverse("enrollment:template", args=[w.unit_a.pk]) + f"?period={w.period.pk}"
            + ("&masked=1" if masked else ""))


def ids_in(data: bytes) -> set[str]:
    ws = load_workbook(io.BytesIO(data))["花名册"]
    return {str(row[1].value) for row in ws.iter_rows(min_row=2) if row[1].value}


def reveals():
    return Event.objects.filter(action=Action.PII_REVEALED)


def test_a_bulk_full_number_template_waits_for_a_second_person(renewal_world, settings):
    w = renewal_world  # 张三 and 陈八 renew in unit A: two people
    settings.BULK_PI_EXPORT_LIMIT = 1
    requester = client_for(w.wangwu)  # reviewer of 青秀区: may reveal, sees unit A
    response = requester.get(template_url(w))
    assert response.status_code == 302 and "xlsx" not in response["Content-Type"]
    export = PiExport.objects.get()
    assert response["Location"] == reverse("enrollment:pi_export", args=[export.pk])
    assert export.people == 2 and export.requested_by == w.wangwu and export.approved_by is None
    assert not reveals().exists()  # nothing with full numbers left the server
    asked = Event.objects.get(action=Action.PI_EXPORT_REQUESTED)
    assert asked.after["people"] == 2 and asked.object_id == str(export.pk)
    page = requester.get(response["Location"]).content.decode()
    assert "等待复核" in page and 'id="download-export"' not in page
    assert 'id="approve-export"' not in page  # not by the requester
    assert "下载脱敏版" in page
    requester.get(template_url(w))  # asking again is the same request
    assert PiExport.objects.count() == 1
    early = requester.get(reverse("enrollment:pi_export_download", args=[export.pk]), follow=True)
    assert "尚未复核同意" in early.content.decode() and not reveals().exists()

    # Not the requester, not an agent, not staff of another region or without the right.
    with pytest.raises(NotAllowed):
        export_approve(export=export, actor=w.wangwu)
    for outsider in (w.finance_b, w.zhaoliu, w.lisi):
        with pytest.raises(NotAllowed):
            export_approve(export=export, actor=outsider)
        c = client_for(outsider)
        assert c.get(reverse("enrollment:pi_export", args=[export.pk])).status_code == 404
        assert c.post(reverse("enrollment:pi_export_approve", args=[export.pk])).status_code == 404
        listing = c.get(reverse("enrollment:pi_exports")).content.decode()
        assert reverse("enrollment:pi_export", args=[export.pk]) not in listing
    requester.post(reverse("enrollment:pi_export_approve", args=[export.pk]))
    export.refresh_from_db()
    assert export.approved_by is None and not Event.objects.filter(
        action=Action.PI_EXPORT_APPROVED).exists()
    # 北海's finance sees nothing waiting; the province's finance does.
    assert 'id="exports-waiting"' not in client_for(w.finance_b).get(
        reverse("enrollment:pi_exports")).content.decode()
    approver = client_for(w.qianjiu)
    listing = approver.get(reverse("enrollment:pi_exports")).content.decode()
    assert 'id="exports-waiting"' in listing and w.unit_a.name in listing
    page = approver.get(reverse("enrollment:pi_export", args=[export.pk])).content.decode()
    assert 'id="approve-export"' in page
    approver.post(reverse("enrollment:pi_export_approve", args=[export.pk]))
    export.refresh_from_db()
    assert export.approved_by == w.qianjiu and export.approved_at is not None
    ok = Event.objects.get(action=Action.PI_EXPORT_APPROVED)
    assert ok.actor_id == w.qianjiu.pk and ok.after["people"] == 2
    assert approver.get(reverse("enrollment:pi_export_download",
                                args=[export.pk])).status_code == 404  # only the requester

    page = requester.get(reverse("enrollment:pi_export", args=[export.pk])).content.decode()
    assert "已复核，可下载一次" in page and 'id="download-export"' in page
    got = requester.get(reverse("enrollment:pi_export_download", args=[export.pk]))
    assert got.status_code == 200 and got["Cache-Control"] == "no-store"
    assert {w.zhangsan.id_number, w.chenba.id_number} <= ids_in(got.content)
    event = reveals().get()
    assert event.actor_id == w.wangwu.pk and event.after["export"] == export.pk
    assert event.after["approved_by"] == w.qianjiu.pk and event.after["id_number"] == 2
    # Once: a second download gets nothing, and reveals nothing.
    again = requester.get(reverse("enrollment:pi_export_download", args=[export.pk]), follow=True)
    assert "已下载过一次" in again.content.decode() and reveals().count() == 1
    assert "已下载" in requester.get(reverse("enrollment:pi_exports")).content.decode()


def test_masked_and_small_downloads_are_served_at_once(renewal_world, settings):
    w = renewal_world
    settings.BULK_PI_EXPORT_LIMIT = 1
    masked = client_for(w.wangwu).get(template_url(w, masked=True))
    assert masked.status_code == 200
    assert mask_id_number(w.zhangsan.id_number) in ids_in(masked.content)
    assert w.zhangsan.id_number not in ids_in(masked.content)
    agent = client_for(w.lisi).get(template_url(w))  # an agent sees masks: nothing to hold
    assert agent.status_code == 200
    assert not PiExport.objects.exists() and not reveals().exists()
    settings.BULK_PI_EXPORT_LIMIT = 20  # the default: two people is a small download
    full = client_for(w.wangwu).get(template_url(w))
    assert full.status_code == 200 and w.zhangsan.id_number in ids_in(full.content)
    assert reveals().count() == 1 and not PiExport.objects.exists()


def test_the_error_workbook_is_held_too_and_an_approval_expires(renewal_world, settings):
    w = renewal_world
    settings.BULK_PI_EXPORT_LIMIT = 1
    name = w.medical.product_version.name
    bad = upload(client_for(w.lisi), w, xlsx([
        person("刘一", new_id(1), name, 手机号="13600001111"),
        person("刘二", new_id(2), name, 手机号="13600002222"),
        person("坏人", "123", "")]))
    url = reverse("enrollment:roster_errors", args=[bad.pk])
    response = client_for(w.wangwu).get(url)
    assert response.status_code == 302
    export = PiExport.objects.get()
    assert export.roster_id == bad.pk and export.people >= 2
    page = client_for(w.wangwu).get(response["Location"]).content.decode()
    assert "花名册错误清单" in page and "等待复核" in page
    assert client_for(w.wangwu).get(url + "?masked=1").status_code == 200  # masked: at once
    export_approve(export=export, actor=w.qianjiu)
    PiExport.objects.filter(pk=export.pk).update(
        approved_at=timezone.now() - datetime.timedelta(hours=settings.BULK_PI_EXPORT_HOURS + 1))
    late = client_for(w.wangwu).get(reverse("enrollment:pi_export_download", args=[export.pk]),
                                    follow=True)
    assert "请重新申请" in late.content.decode() and not reveals().exists()
    # A new request is made for the same file; the expired one stays as it was.
    client_for(w.wangwu).get(url)
    assert PiExport.objects.count() == 2
