"""Accounts without a developer (issue 14 part 7): the system administrator creates, disables
and re-enables staff accounts; the security administrator unlocks and resets; agents' accounts
in bulk from an xlsx, first passwords by SMS only."""

from __future__ import annotations

import io
from typing import Any

import pytest
import xlsxwriter
from django.test import Client
from django.utils import timezone

from huzhu.accounts.models import User
from huzhu.audit.models import Action, Event
from huzhu.demo.identities import social_credit_code

pytestmark = pytest.mark.django_db


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _staff_post(world: Any, **over: Any) -> dict[str, Any]:
    data = {"username": "xinjingban", "display_name": "新经办", "role": "county_staff",
            "organisation": world.county_a.pk}
    data.update(over)
    return data


def test_sysadmin_creates_a_staff_account_whose_first_password_must_be_changed(world: Any):
    client = _client(world.sysadmin)
    response = client.post("/users/", _staff_post(world))
    assert response.status_code == 200
    password = response.context["password"]
    assert password in response.content.decode() and len(password) == 14
    user = User.objects.get(username="xinjingban")
    assert (user.role, user.organisation_id) == ("county_staff", world.county_a.pk)
    assert user.password.startswith("huzhu_first$")
    event = Event.objects.filter(action=Action.USER_CREATED, object_id=str(user.pk)).get()
    assert event.actor_label == "zheng" and event.after["role"] == "county_staff"
    assert password not in str(event.after)
    # The holder logs in with it and is sent to change it first; the hash is upgraded.
    person = Client()
    response = person.post("/login/", {"username": "xinjingban", "password": password})
    assert response.status_code == 302
    assert person.session.get("password_expired") is True
    user.refresh_from_db()
    assert not user.password.startswith("huzhu_first$")


def test_no_administrator_role_and_nothing_outside_the_subtree(world: Any):
    from huzhu.accounts.models import User as U

    client = _client(world.sysadmin)
    response = client.post("/users/", _staff_post(world, role="security_admin"))
    assert 'data-field="role"' in response.content.decode()
    # A city system administrator cannot place an account in another city.
    city_admin = U.objects.create_user(username="nn-admin", password="x", role="system_admin",
                                       organisation=world.city_a)
    before = Event.objects.count()
    response = _client(city_admin).post("/users/", _staff_post(
        world, organisation=world.county_b.pk))
    body = response.content.decode()
    assert response.status_code == 200 and 'data-field="organisation"' in body
    assert not U.objects.filter(username="xinjingban").exists()
    assert Event.objects.count() == before
    # Bad input names the field in Chinese.
    response = client.post("/users/", _staff_post(world, username="13812341234"))
    assert "用户名不能使用手机号或身份证号" in response.content.decode()
    # The security administrator cannot create accounts at all.
    assert _client(world.security).post("/users/", _staff_post(world)).status_code == 403


def test_disable_and_reenable_an_account(world: Any):
    client = _client(world.sysadmin)
    client.post(f"/users/{world.wangwu.pk}/active/", {"active": "0"})
    world.wangwu.refresh_from_db()
    assert not world.wangwu.is_active
    event = Event.objects.filter(action=Action.USER_UPDATED,
                                 object_id=str(world.wangwu.pk)).latest("seq")
    assert event.before == {"is_active": True} and event.after == {"is_active": False}
    client.post(f"/users/{world.wangwu.pk}/active/", {"active": "1"})
    world.wangwu.refresh_from_db()
    assert world.wangwu.is_active
    # A Nanning system administrator cannot touch 柳州's clerk: not found.
    city_admin = User.objects.create_user(username="nn-admin", password="x",
                                          role="system_admin", organisation=world.city_a)
    assert _client(city_admin).post(f"/users/{world.zhaoliu.pk}/active/",
                                    {"active": "0"}).status_code == 404
    world.zhaoliu.refresh_from_db()
    assert world.zhaoliu.is_active


def test_security_admin_unlocks_and_resets(world: Any):
    User.objects.filter(pk=world.wangwu.pk).update(
        failed_logins=0, locked_until=timezone.now() + timezone.timedelta(minutes=10))
    client = _client(world.security)
    assert "已锁定" in client.get("/security/accounts/").content.decode()
    client.post(f"/security/accounts/{world.wangwu.pk}/unlock/")
    world.wangwu.refresh_from_db()
    assert world.wangwu.locked_until is None
    event = Event.objects.filter(action=Action.USER_UNLOCKED).get()
    assert event.before["locked"] is True and event.after["locked"] is False
    response = client.post(f"/security/accounts/{world.wangwu.pk}/reset/")
    password = response.context["password"]
    changed = Event.objects.filter(action=Action.USER_UPDATED,
                                   object_id=str(world.wangwu.pk)).latest("seq")
    assert changed.after == {"password": "（已修改）"} and changed.actor_label == "wu"
    world.wangwu.refresh_from_db()
    assert world.wangwu.check_password(password)
    assert Event.objects.filter(action=Action.USER_PASSWORD_RESET).count() == 1
    # An administrator's password is not reset from the page.
    response = client.post(f"/security/accounts/{world.sysadmin.pk}/reset/")
    assert response.status_code == 302
    assert User.objects.get(pk=world.sysadmin.pk).check_password("Huzhu-Test-2026!")
    # Nor by the system administrator (not his office).
    assert _client(world.sysadmin).post(
        f"/security/accounts/{world.wangwu.pk}/reset/").status_code == 403


def _agents_xlsx(rows: list[list[Any]]) -> io.BytesIO:
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    ws = book.add_worksheet("经办人")
    for c, h in enumerate(["统一社会信用代码", "经办人姓名", "手机号", "用户名"]):
        ws.write_string(0, c, h)
    for r, row in enumerate(rows, start=1):
        for c, v in enumerate(row):
            ws.write_string(r, c, v)
    book.close()
    out.seek(0)
    out.name = "agents.xlsx"
    return out


def test_agents_in_bulk_passwords_by_sms_only(world: Any):
    from huzhu.notices.models import OutboxMessage
    from huzhu.notices.services import outbox_send

    data = _agents_xlsx([[world.unit_a.uscc, "李四", "13612345678", ""],
                         [world.unit_b.uscc, "刘一", "13700001111", "liuyi"]])
    response = _client(world.sysadmin).post("/users/agents/bulk/", {"file": data})
    assert response.status_code == 302
    a = User.objects.get(username=world.unit_a.uscc)
    b = User.objects.get(username="liuyi")
    assert (a.role, a.unit_id, b.unit_id) == ("agent", world.unit_a.pk, world.unit_b.pk)
    messages = {m.key: m for m in OutboxMessage.objects.filter(template="AGENT_ACCOUNT")}
    assert set(messages) == {f"agent-account:{a.pk}", f"agent-account:{b.pk}"}
    stored = messages[f"agent-account:{b.pk}"].params["password"]
    assert stored.startswith("sealed:")  # never stored in the clear
    assert world.unit_b.agents.filter(name="刘一").exists()  # registered as the unit's agent
    assert world.unit_a.agents.count() == 1  # 李四 was already its agent
    created = Event.objects.filter(action=Action.USER_CREATED, object_id=str(b.pk)).get()
    assert created.after["unit"] == world.unit_b.pk and created.actor_label == "zheng"
    assert Event.objects.filter(action=Action.AGENTS_BULK_CREATED).get().after["accounts"] == 2
    # The provider gets the password, which logs the agent in; the log file never has it.
    captured = Capture()
    assert outbox_send(gateway=captured)["sent"] == 2
    password = next(r.params["password"] for r in captured.requests
                    if r.params["username"] == "liuyi")
    assert User.objects.get(username="liuyi").check_password(password)


class Capture:
    """A local fake of the SMS provider: keeps what it is sent."""

    def __init__(self) -> None:
        self.requests: list[Any] = []

    def send(self, request: Any) -> str:
        self.requests.append(request)
        return f"fake-{len(self.requests)}"

    def resolve(self, messages: Any) -> dict[str, str]:
        return {}


def test_the_sms_log_never_keeps_a_password(world: Any, settings: Any):
    from huzhu.notices.gateways import LogFileGateway, SmsRequest

    gateway = LogFileGateway(settings.VAR_DIR / "sms.log")
    gateway.send(SmsRequest(key="k", phone="13612345678", template="AGENT_ACCOUNT",
                            params={"name": "李四", "username": "u1", "password": "Secret-123x"}))
    text = (settings.VAR_DIR / "sms.log").read_text(encoding="utf-8")
    assert "Secret-123x" not in text and "******" in text


def test_a_bad_row_creates_nothing_and_names_row_and_field(world: Any):
    from huzhu.notices.models import OutboxMessage

    users = User.objects.count()
    data = _agents_xlsx([[world.unit_a.uscc, "李四", "13612345678", "lisi-new"],
                         [world.unit_b.uscc, "刘一", "1370000", "liuyi"],
                         [social_credit_code("450103", 77), "王二", "13700002222", ""]])
    response = _client(world.sysadmin).post("/users/agents/bulk/", {"file": data})
    body = response.content.decode()
    assert response.status_code == 400
    assert "第 3 行 手机号" in body and "第 4 行 统一社会信用代码" in body
    assert "没有开通任何账号" in body
    assert User.objects.count() == users
    assert not OutboxMessage.objects.exists()
    # A city administrator cannot open accounts for another city's units.
    city_admin = User.objects.create_user(username="nn-admin", password="x",
                                          role="system_admin", organisation=world.city_a)
    data = _agents_xlsx([[world.unit_b.uscc, "刘一", "13700001111", "liuyi"]])
    response = _client(city_admin).post("/users/agents/bulk/", {"file": data})
    assert response.status_code == 400 and "不是您管理范围内的参保单位" in response.content.decode()
    assert not User.objects.filter(username="liuyi").exists()
