"""TRUST S-08: a password older than HUZHU_PASSWORD_MAX_AGE_DAYS must be changed at the next
login before anything else; everyone can change their own password (old, new twice, the
password rules), and each change is recorded."""

from __future__ import annotations

import datetime

import pytest
from django.test import Client
from django.utils import timezone

from huzhu.accounts.models import User
from huzhu.audit.models import Action, Event

from ..conftest import PASSWORD, login_through_pages

NEW = "Qingxiu-Lake-2027#"
PAGE = "/account/password/"


def _age(user: User, days: int) -> None:
    User.objects.filter(pk=user.pk).update(
        password_changed_at=timezone.now() - datetime.timedelta(days=days))


def _change(client: Client, old: str, new: str, again: str | None = None):
    return client.post(PAGE, {"old_password": old, "new_password1": new,
                              "new_password2": new if again is None else again})


def test_the_default_age_is_ninety_days(settings):
    from huzhu import settings as project_settings

    assert project_settings.PASSWORD_MAX_AGE_DAYS == 90


def test_a_new_or_changed_password_is_dated(world):
    before = timezone.now()
    world.lisi.set_password(NEW)
    world.lisi.save(update_fields=["password"])
    world.lisi.refresh_from_db()
    assert world.lisi.password_changed_at >= before


def test_an_expired_password_sends_the_user_to_change_it_first(world, settings):
    settings.PASSWORD_MAX_AGE_DAYS = 90
    _age(world.lisi, 91)
    client = Client()
    assert client.post("/login/", {"username": "lisi", "password": PASSWORD}).status_code == 302
    for url in ("/", "/members/", "/members/export.xlsx", "/claims/file/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(PAGE), url
    response = client.get("/api/me")
    assert response.status_code == 401 and response.json()["code"] == "password_expired"
    assert "已超过规定的使用期限" in client.get(PAGE).content.decode()

    # A wrong old password, two different new ones, a weak one: refused, in Chinese.
    response = _change(client, "Not-the-old-1", NEW)
    assert "原密码不正确" in response.content.decode()
    assert Event.objects.filter(action=Action.LOGIN_FAILED, outcome="password_change",
                                actor_label="lisi").count() == 1
    assert "两次输入的新密码不一致" in _change(client, PASSWORD, NEW, NEW + "x").content.decode()
    assert "至少需要 10 个字符" in _change(client, PASSWORD, "Hz-2026!a").content.decode()
    assert "不能与原密码相同" in _change(client, PASSWORD, PASSWORD).content.decode()
    assert client.get("/").status_code == 302

    response = _change(client, PASSWORD, NEW)
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").status_code == 200  # the session goes on
    world.lisi.refresh_from_db()
    assert world.lisi.check_password(NEW)
    assert timezone.now() - world.lisi.password_changed_at < datetime.timedelta(minutes=1)
    assert Event.objects.filter(action=Action.PASSWORD_CHANGED, actor_id=world.lisi.pk).count() == 1
    # The old password no longer logs in; the new one does, without the detour.
    assert Client().post("/login/", {"username": "lisi", "password": PASSWORD}
                         ).status_code == 200
    other = Client()
    other.post("/login/", {"username": "lisi", "password": NEW})
    assert other.get("/").status_code == 200


def test_staff_show_the_second_factor_before_the_password_page(world, settings):
    settings.PASSWORD_MAX_AGE_DAYS = 90
    _age(world.wangwu, 200)
    client = Client()
    client.post("/login/", {"username": "wangwu", "password": PASSWORD})
    assert client.get(PAGE)["Location"].startswith("/account/verify/")
    client.post("/logout/")
    login_through_pages(client, "wangwu")
    assert client.get("/members/")["Location"].startswith(PAGE)
    assert _change(client, PASSWORD, NEW).status_code == 302
    assert client.get("/members/").status_code == 200


@pytest.mark.parametrize(("days", "age", "expired"), [(90, 89, False), (90, 90, True),
                                                      (0, 5000, False)])
def test_the_limit_and_off(world, settings, days, age, expired):
    settings.PASSWORD_MAX_AGE_DAYS = days
    _age(world.zhangsan_user, age)
    client = Client()
    client.post("/login/", {"username": "zhangsan", "password": PASSWORD})
    response = client.get("/")
    assert (response.status_code == 302 and response["Location"].startswith(PAGE)) == expired


def test_everyone_may_change_their_own_password(world):
    client = Client()
    client.post("/login/", {"username": "zhangsan", "password": PASSWORD})
    assert client.get(PAGE).status_code == 200
    assert _change(client, PASSWORD, NEW).status_code == 302
    world.zhangsan_user.refresh_from_db()
    assert world.zhangsan_user.check_password(NEW)
    assert "修改密码" in client.get("/account/").content.decode()


def test_wrong_old_passwords_lock_the_account(world, settings):
    settings.LOCKOUT_FAILURES = 3
    client = Client()
    client.post("/login/", {"username": "zhangsan", "password": PASSWORD})
    for _ in range(2):
        assert _change(client, "Guess-guess-1", NEW).status_code == 200
    response = _change(client, "Guess-guess-1", NEW)
    assert response.status_code == 302 and response["Location"] == "/login/"
    world.zhangsan_user.refresh_from_db()
    assert world.zhangsan_user.locked_until is not None
