"""The audit pages read within the viewer's subtree: a region's audit administrator sees their
region's events and logins only (list, login log, detail, export); the province sees all."""

from __future__ import annotations

import datetime
import io
import re

import pytest
from django.test import Client
from django.urls import reverse

from huzhu.accounts.models import User
from huzhu.accounts.roles import Role
from huzhu.audit.models import Action, Event
from huzhu.audit.services import event_record

PASSWORD = "Audit-Scope-2024!"


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def audit(world):
    """Region auditors of 北海 and of 南宁, and events of both regions: member changes, an
    export with no org_path, logins (successful and failed) of users of each region."""
    world.auditor_b = User.objects.create_user(username="audit-bh", password=PASSWORD,
                                               role=Role.AUDIT_ADMIN,
                                               organisation=world.region_b,
                                               display_name="北海审计")
    world.auditor_a = User.objects.create_user(username="audit-nn", password=PASSWORD,
                                               role=Role.AUDIT_ADMIN, organisation=world.city_a,
                                               display_name="南宁审计")
    ev = {}
    ev["member_a"] = event_record(action=Action.MEMBER_UPDATED, actor=world.wangwu,
                                  obj=world.zhangsan, before={"phone": "138****1234"},
                                  after={"phone": "=HYPERLINK(\"http://x\")"})
    ev["member_b"] = event_record(action=Action.MEMBER_UPDATED, actor=world.clerk_b,
                                  obj=world.zhoushi, before={"is_hardship": False},
                                  after={"is_hardship": True})
    ev["export_b"] = event_record(action=Action.EXPORT, actor=world.clerk_b,
                                  object_type="members.member", after={"rows": 1})
    ev["login_b"] = event_record(action=Action.LOGIN_SUCCEEDED, actor=world.clerk_b,
                                 object_type="accounts.user", object_id=str(world.clerk_b.pk))
    ev["login_a"] = event_record(action=Action.LOGIN_SUCCEEDED, actor=world.wangwu,
                                 object_type="accounts.user", object_id=str(world.wangwu.pk))
    ev["failed_b"] = event_record(action=Action.LOGIN_FAILED, actor_label="jiangxian",
                                  object_type="accounts.user", object_id=str(world.clerk_b.pk),
                                  outcome="failed")
    ev["failed_agent_a"] = event_record(action=Action.LOGIN_FAILED, actor_label="lisi",
                                        object_type="accounts.user",
                                        object_id=str(world.lisi.pk), outcome="failed")
    ev["failed_unknown"] = event_record(action=Action.LOGIN_FAILED, actor_label="nobody",
                                        object_type="accounts.user", outcome="failed")
    world.ev = ev
    return world


def seqs(response) -> set[int]:
    assert response.status_code == 200
    return {e.seq for e in response.context["page"].rows}


def export_rows(response) -> list[list]:
    from python_calamine import CalamineWorkbook

    assert response.status_code == 200
    book = CalamineWorkbook.from_filelike(io.BytesIO(response.content))
    rows = book.get_sheet_by_name(book.sheet_names[0]).to_python()
    return [r for r in rows[1:] if r and r[0] != "" and isinstance(r[0], int | float)]


def test_region_auditor_sees_only_their_regions_events(audit):
    ev = audit.ev
    got = seqs(client_for(audit.auditor_b).get(reverse("web:event_list")))
    assert {ev["member_b"].seq, ev["export_b"].seq, ev["login_b"].seq,
            ev["failed_b"].seq} <= got
    assert not {ev["member_a"].seq, ev["login_a"].seq, ev["failed_agent_a"].seq,
                ev["failed_unknown"].seq} & got

    got_a = seqs(client_for(audit.auditor_a).get(reverse("web:event_list")))
    assert {ev["member_a"].seq, ev["login_a"].seq, ev["failed_agent_a"].seq} <= got_a
    assert not {ev["member_b"].seq, ev["export_b"].seq, ev["login_b"].seq,
                ev["failed_b"].seq, ev["failed_unknown"].seq} & got_a


def test_region_auditor_login_log_is_their_regions_users(audit):
    ev = audit.ev
    got = seqs(client_for(audit.auditor_b).get(reverse("web:login_log")))
    assert got == {ev["login_b"].seq, ev["failed_b"].seq}
    got_a = seqs(client_for(audit.auditor_a).get(reverse("web:login_log")))
    assert got_a == {ev["login_a"].seq, ev["failed_agent_a"].seq}


def test_province_sees_both_regions(audit):
    ev = audit.ev
    client = client_for(audit.auditor)
    got = seqs(client.get(reverse("web:event_list")))
    assert {e.seq for e in ev.values()} <= got
    logins = seqs(client.get(reverse("web:login_log")))
    assert {ev[k].seq for k in ("login_a", "login_b", "failed_b", "failed_agent_a",
                                "failed_unknown")} == logins
    for e in ev.values():
        assert client.get(reverse("web:event_detail", args=[e.seq])).status_code == 200


def _unmasked(body: bytes) -> bytes:
    return re.sub(rb'(csrfmiddlewaretoken" value=|X-CSRFToken": )"[A-Za-z0-9]+"', rb"\1TOKEN", body)


def test_detail_out_of_scope_is_404_like_unknown(audit):
    client = client_for(audit.auditor_b)
    outside = client.get(reverse("web:event_detail", args=[audit.ev["member_a"].seq]))
    unknown = client.get(reverse("web:event_detail", args=[999_999]))
    assert outside.status_code == unknown.status_code == 404
    # The 404 page sits in the staff layout, whose logout form carries a CSRF token masked afresh
    # on every response; apart from that token the two answers are the same bytes.
    assert _unmasked(outside.content) == _unmasked(unknown.content)
    assert outside.content != b""
    assert client.get(reverse("web:event_detail", args=[audit.ev["failed_agent_a"].seq])
                      ).status_code == 404
    inside = client.get(reverse("web:event_detail", args=[audit.ev["member_b"].seq]))
    assert inside.status_code == 200
    body = inside.content.decode()
    assert "困难职工" in body and "修改前" in body and "是" in body and "否" in body
    assert "修改会员" in body and "会员" in body


def test_detail_needs_an_audit_permission(audit):
    url = reverse("web:event_detail", args=[audit.ev["member_b"].seq])
    assert client_for(audit.clerk_b).get(url).status_code == 403
    # The security administrator reads the login log, not the rest of the event log.
    security = client_for(audit.security)
    assert security.get(url).status_code == 404
    assert security.get(reverse("web:event_detail", args=[audit.ev["login_b"].seq])
                        ).status_code == 200
    assert security.get(reverse("web:event_export")).status_code == 403


def test_filters(audit):
    ev = audit.ev
    client = client_for(audit.auditor)
    url = reverse("web:event_list")
    by_actor = seqs(client.get(url, {"actor": "蒋县"}))
    assert {ev["member_b"].seq, ev["export_b"].seq, ev["login_b"].seq} == by_actor
    assert seqs(client.get(url, {"actor": "jiangxian"})) >= by_actor | {ev["failed_b"].seq}
    assert seqs(client.get(url, {"action": Action.EXPORT})) == {ev["export_b"].seq}
    by_object = seqs(client.get(url, {"object_type": "members.member",
                                      "object_id": str(audit.zhoushi.pk)}))
    created = Event.objects.get(action=Action.MEMBER_CREATED, object_id=str(audit.zhoushi.pk))
    assert by_object == {created.seq, ev["member_b"].seq}
    assert seqs(client.get(url, {"object_type": "members.member", "action":
                                 Action.MEMBER_UPDATED})) == {ev["member_a"].seq,
                                                              ev["member_b"].seq}
    today = ev["member_a"].created_at.astimezone(datetime.timezone(datetime.timedelta(hours=8))
                                                 ).date()
    tomorrow = (today + datetime.timedelta(days=1)).isoformat()
    assert {e.seq for e in ev.values()} <= seqs(client.get(url, {"date_from": today.isoformat(),
                                                                 "date_to": today.isoformat()}))
    assert seqs(client.get(url, {"date_from": tomorrow})) == set()
    yesterday = (today - datetime.timedelta(days=1)).isoformat()
    assert not seqs(client.get(url, {"date_to": yesterday})) & {e.seq for e in ev.values()}
    bad = client.get(url, {"date_from": "2024-13-45", "action": "no.such"})
    assert bad.status_code == 200 and "不是有效日期" in bad.content.decode()
    # Actions are offered by their Chinese names, never by their codes.
    body = client.get(url).content.decode()
    assert ">修改会员</option>" in body and ">member.updated</option>" not in body
    logins = seqs(client.get(reverse("web:login_log"), {"action": Action.LOGIN_FAILED}))
    assert logins == {ev["failed_b"].seq, ev["failed_agent_a"].seq, ev["failed_unknown"].seq}


def test_export_is_scoped_filtered_text_and_audited(audit):
    ev = audit.ev
    before = Event.objects.filter(action=Action.EXPORT, object_type="audit.event").count()
    rows = export_rows(client_for(audit.auditor_b).get(reverse("web:event_export")))
    got = {int(r[0]) for r in rows}
    assert {ev["member_b"].seq, ev["export_b"].seq, ev["login_b"].seq} <= got
    assert not {ev["member_a"].seq, ev["login_a"].seq, ev["failed_unknown"].seq} & got
    logins = {int(r[0]) for r in export_rows(
        client_for(audit.auditor_b).get(reverse("web:login_export")))}
    assert logins == {ev["login_b"].seq, ev["failed_b"].seq}
    recorded = Event.objects.filter(action=Action.EXPORT, object_type="audit.event")
    assert recorded.count() == before + 2
    export_event = recorded.order_by("-seq").first()
    assert export_event.actor_id == audit.auditor_b.pk
    assert export_event.org_path == audit.region_b.path
    # The 北海 export is in 北海's log; 南宁 does not see it.
    assert export_event.seq in seqs(client_for(audit.auditor_b).get(reverse("web:event_list")))
    assert export_event.seq not in seqs(
        client_for(audit.auditor_a).get(reverse("web:event_list")))

    filtered = export_rows(client_for(audit.auditor).get(
        reverse("web:event_export"), {"action": Action.MEMBER_UPDATED}))
    assert {int(r[0]) for r in filtered} == {ev["member_a"].seq, ev["member_b"].seq}
    assert all(r[3] == "修改会员" for r in filtered)
    last = Event.objects.order_by("-seq").first()
    assert last.after["filters"] == {"action": Action.MEMBER_UPDATED}


def test_export_writes_text_as_text(audit):
    import zipfile

    response = client_for(audit.auditor).get(reverse("web:event_export"),
                                             {"action": Action.MEMBER_UPDATED})
    with zipfile.ZipFile(io.BytesIO(response.content)) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet  # no formulas
    rows = export_rows(response)
    assert any("=HYPERLINK" in str(r[10]) for r in rows)
    # Beijing time: the time column is the event's time at UTC+8.
    e = audit.ev["member_a"]
    local = e.created_at.astimezone(datetime.timezone(datetime.timedelta(hours=8)))
    assert local.strftime("%Y-%m-%d %H:%M:%S") in {r[1] for r in rows}
