"""Every way in meets the same lock-outs and audit; sessions end on time; passwords are strong."""

from __future__ import annotations

import re

import pytest
import time_machine
from django.contrib.auth import password_validation
from django.contrib.auth.forms import SetPasswordForm
from django.core.exceptions import ValidationError
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import translation

from huzhu.accounts.models import User
from huzhu.accounts.roles import Role
from huzhu.accounts.services import WRONG_CREDENTIALS
from huzhu.audit.models import Event
from huzhu.web.middleware import LOGIN_AT, client_address

from ..conftest import PASSWORD, second_step_through_pages

LOGIN = "/login/"


def _error(response) -> str:
    found = re.search(r'<div class="form-error" role="alert">(.*?)</div>', response.content.decode())
    return found.group(1) if found else ""


def _logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


@pytest.fixture
def root(world):
    return User.objects.create_superuser(username="root", password=PASSWORD, email="",
                                         role=Role.SYSTEM_ADMIN,
                                         organisation=world.province)


# (a) The admin has no login of its own.

def test_admin_login_sends_the_browser_to_the_platform_login(root):
    client = Client()
    response = client.get("/admin/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    response = client.get(response["Location"])
    assert response.status_code == 302
    assert response["Location"] == LOGIN + "?next=/admin/"
    # Posting credentials to the admin's login address logs nobody in.
    response = client.post("/admin/login/?next=/admin/", {"username": "root",
                                                          "password": PASSWORD})
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)
    assert not _logged_in(client)
    # The platform's login brings an admitted user back to the admin.
    response = client.post(LOGIN + "?next=/admin/", {"username": "root", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/admin/"
    # ... once its second factor is shown (TRUST S-05).
    response = client.get("/admin/")
    assert response.status_code == 302 and response["Location"].startswith("/account/verify/")
    second_step_through_pages(client, "root")
    assert client.get("/admin/").status_code == 200
    assert Event.objects.filter(action="auth.login", actor_label="root").count() == 1


def test_admin_login_path_cannot_bypass_the_lock_out(root):
    client = Client()
    for _ in range(10):
        response = client.post("/admin/login/?next=/admin/",
                               {"username": "root", "password": "wrong-password-1A"})
        assert response.status_code == 302 and response["Location"].startswith(LOGIN)
        response = client.post(response["Location"],
                               {"username": "root", "password": "wrong-password-1A"})
        assert response.status_code == 200 and not _logged_in(client)
    response = client.post(LOGIN + "?next=/admin/", {"username": "root", "password": PASSWORD})
    assert response.status_code == 200 and "锁定" in _error(response)
    assert not _logged_in(client)
    assert client.get("/admin/").status_code == 302
    events = list(Event.objects.filter(actor_label="root").order_by("seq")
                  .values_list("action", "outcome"))
    assert events.count(("auth.login_failed", "failed")) == 5  # HUZHU_LOCKOUT_FAILURES
    assert events.count(("auth.locked", "ok")) == 1
    assert events.count(("auth.login_failed", "locked")) == 6  # five more wrong, then the right
    assert ("auth.login", "ok") not in events


def test_users_the_admin_does_not_admit_are_refused(world):
    client = Client()
    client.force_login(world.sysadmin)  # a system administrator without the admin's staff flag
    assert client.get("/admin/login/?next=/admin/").status_code == 403
    response = client.get("/admin/")
    assert response.status_code == 302
    assert client.get(response["Location"]).status_code == 403


def test_the_admin_logout_is_the_platforms(root):
    client = Client()
    client.force_login(root)
    response = client.post("/admin/logout/")
    assert response.status_code == 302 and response["Location"] == reverse("web:login")
    assert not _logged_in(client)
    assert Event.objects.filter(action="auth.logout", actor_label="root").exists()



def test_a_locked_account_answers_as_an_unknown_username_does(world, settings):
    settings.LOCKOUT_FAILURES = 3
    client = Client(REMOTE_ADDR="198.51.100.9")
    for _ in range(4):
        locked = client.post(LOGIN, {"username": "wangwu", "password": "Nope-nope-2026"})
    unknown = client.post(LOGIN, {"username": "no-such-user", "password": "Nope-nope-2026"})
    assert Event.objects.filter(action="auth.login_failed", outcome="locked").exists()
    assert _error(locked) == _error(unknown) == WRONG_CREDENTIALS


# (b) A client address that fails too often is refused, whatever usernames it tries.

def test_an_address_spraying_usernames_is_refused_after_the_limit(world, settings):
    settings.ADDRESS_LOCKOUT_FAILURES = 20
    settings.ADDRESS_LOCKOUT_SECONDS = 900
    attacker = Client(REMOTE_ADDR="203.0.113.7")
    wrong = attacker.post(LOGIN, {"username": "nobody-0", "password": "Spray-2026-x"})
    wrong_message = _error(wrong)
    assert wrong_message == WRONG_CREDENTIALS
    with time_machine.travel("2026-11-23 09:00 +0800", tick=False) as traveller:
        for i in range(1, 20):  # 40 usernames in all: the first 20 fail as usual
            attacker.post(LOGIN, {"username": f"nobody-{i}", "password": "Spray-2026-x"})
        assert Event.objects.filter(action="auth.locked", object_type="client_address",
                                    object_id="203.0.113.7").count() == 1
        for i in range(20, 40):
            response = attacker.post(LOGIN, {"username": f"nobody-{i}",
                                             "password": "Spray-2026-x"})
            assert _error(response) == wrong_message
        # A real username, even with its right password: the same answer, nobody logged in.
        response = attacker.post(LOGIN, {"username": "wangwu", "password": PASSWORD})
        assert response.status_code == 200 and _error(response) == wrong_message
        assert not _logged_in(attacker)
        refused = Event.objects.filter(action="auth.login_failed", outcome="address_locked",
                                       ip="203.0.113.7")
        assert refused.count() == 21
        # The per-username counters were not touched by the refused attempts.
        world.wangwu.refresh_from_db()
        assert world.wangwu.failed_logins == 0 and world.wangwu.locked_until is None

        # Another address is not affected.
        other = Client(REMOTE_ADDR="198.51.100.2")
        assert other.post(LOGIN, {"username": "wangwu", "password": PASSWORD}).status_code == 302

        # Once the failures are older than the window the address may try again.
        traveller.shift(901)
        response = attacker.post(LOGIN, {"username": "wangwu", "password": PASSWORD})
        assert response.status_code == 302 and _logged_in(attacker)


def test_behind_a_trusted_proxy_the_forwarded_address_counts(settings):
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1",
                                   HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7")
    settings.TRUSTED_PROXIES = 0
    assert client_address(request) == "10.0.0.1"
    settings.TRUSTED_PROXIES = 1
    assert client_address(request) == "203.0.113.7"  # the client's own claim (6.6.6.6) is not
    settings.TRUSTED_PROXIES = 3
    assert client_address(request) == "10.0.0.1"  # fewer entries than proxies: the peer


# (c) The absolute lifetime counts from login and never slides.

def test_an_active_session_ends_at_the_absolute_lifetime(world, settings):
    settings.SESSION_COOKIE_AGE = 90
    settings.IDLE_SECONDS = 600
    page = reverse("web:member_list")
    with time_machine.travel("2026-11-23 09:00 +0800", tick=False) as traveller:
        client = Client()
        assert client.post(LOGIN, {"username": "wangwu", "password": PASSWORD}
                           ).status_code == 302
        second_step_through_pages(client, "wangwu")
        for _ in range(17):  # a request every 5 s up to 85 s
            assert client.get(page).status_code == 200
            traveller.shift(5)
        traveller.shift(5)  # 90 s after the login
        response = client.get(page)
        assert response.status_code == 302 and response["Location"].startswith(LOGIN)
        assert not _logged_in(client)
    assert Event.objects.filter(action="auth.logout", actor_label="wangwu",
                                outcome="expired").count() == 1


def test_a_session_older_than_its_lifetime_is_logged_out_whatever_its_activity(world, settings):
    settings.SESSION_COOKIE_AGE = 90
    client = Client()
    client.force_login(world.wangwu)
    page = reverse("web:member_list")
    assert client.get(page).status_code == 200
    session = client.session
    session[LOGIN_AT] -= 85  # logged in 85 s ago (a margin for a slow run), active just now
    session.save()
    assert client.get(page).status_code == 200
    session = client.session
    session[LOGIN_AT] -= 220  # 305 s after the login
    session.save()
    response = client.get(page)
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)
    assert client.get(page).status_code == 302


def test_a_session_without_a_login_time_is_ended(world):
    client = Client()
    client.force_login(world.wangwu)
    session = client.session
    del session[LOGIN_AT]
    session.save()
    assert client.get(reverse("web:member_list")).status_code == 302


# (d) Passwords.

@pytest.mark.parametrize("password", [
    "huzhu2026",            # short, two classes
    "huzhuhuzhu2026",       # long enough, two classes
    "12345678901234",       # all digits
    "password123",          # common
])
def test_weak_passwords_are_refused_in_chinese(world, password):
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        password_validation.validate_password(password, world.wangwu)
    for message in refused.value.messages:
        assert re.search(r"[\u4e00-\u9fff]", message), message


def test_each_rule_has_its_chinese_reason(world):
    def reasons(password: str, user=None) -> str:
        with pytest.raises(ValidationError) as refused:
            password_validation.validate_password(password, user)
        return "；".join(refused.value.messages)

    assert "至少需要 10 个字符" in reasons("Hz-2026!a")
    assert "四类中的至少 3 类" in reasons("huzhuhuzhu2026")
    assert "全是数字" in reasons("20262026202620")
    assert "过于常见" in reasons("Password123")
    user = User(username="Zhangwei-2026", role=Role.REVIEWER)
    assert "过于相似" in reasons("Zhangwei-2026!", user)
    password_validation.validate_password("Huzhu-Test-2026!", world.wangwu)  # the fixtures' own


def test_the_password_forms_refuse_weak_passwords(world):
    with translation.override("en"):
        form = SetPasswordForm(world.wangwu, {"new_password1": "huzhu2026",
                                              "new_password2": "huzhu2026"})
        assert not form.is_valid()
        assert "至少需要 10 个字符" in " ".join(form.errors["new_password2"])


def test_demo_passwords_pass_the_rules(world):
    from huzhu.demo.accounts import generate_password

    for _ in range(20):
        password_validation.validate_password(generate_password(world.wangwu), world.wangwu)
