"""TRUST S-05: staff show a second factor after the password; until then the session reaches
nothing. Every test here logs in through the real forms (never ``force_login``)."""

from __future__ import annotations

import re

import pytest
import time_machine
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django_otp.plugins.otp_totp.models import TOTPDevice

from huzhu.accounts.models import RecoveryCode, User
from huzhu.accounts.roles import STAFF_ROLES, Role
from huzhu.accounts.services import WRONG_CREDENTIALS, token_create
from huzhu.audit.models import Action, Event

from ..conftest import PASSWORD, login_through_pages, totp_code

LOGIN = "/login/"
VERIFY = "/account/verify/"
ENROL = "/account/enrol/"
# What an unverified session may reach: the second step itself and the way out.
OPEN = {"account/verify/", "account/enrol/", "logout/", "admin/logout/", "healthz"}


def _password_only(username: str) -> Client:
    client = Client()
    response = client.post(LOGIN, {"username": username, "password": PASSWORD})
    assert response.status_code == 302 and "_auth_user_id" in client.session
    return client


def _every_url() -> list[str]:
    """Every address the platform answers, with 1 for each number and x for each word."""
    found: list[str] = []

    def walk(patterns: list, prefix: str) -> None:
        for p in patterns:
            route = str(p.pattern)
            if route.startswith("^"):  # the admin's regular expressions: its root covers them
                continue
            route = re.sub(r"<int:\w+>", "1", route)
            route = re.sub(r"<(?:str|slug|path):\w+>", "x", route)
            route = re.sub(r"<uuid:\w+>", "00000000-0000-0000-0000-000000000001", route)
            route = re.sub(r"<\w+>", "1", route)
            if isinstance(p, URLResolver):
                walk(p.url_patterns, prefix + route)
            elif isinstance(p, URLPattern):
                found.append(prefix + route)

    walk(get_resolver().url_patterns, "")
    return sorted({u for u in found if u not in OPEN})


def _codes(response) -> list[str]:
    return re.findall(r"<li><code>([a-z0-9-]+)</code></li>", response.content.decode())


def _events(username: str) -> list[tuple[str, str]]:
    return list(Event.objects.filter(actor_label=username).order_by("seq")
                .values_list("action", "outcome"))


def test_a_password_alone_reaches_nothing(world):
    """Pages, exports, the admin and the API with the session: every address the platform has
    sends the page to the second step or answers 401, for GET and POST alike."""
    urls = _every_url()
    assert "members/export.xlsx" in urls and "api/members" in urls and "admin/" in urls
    assert len(urls) > 60
    assert not any("otp_totp" in u for u in urls)  # no admin pages that would show the keys
    client = _password_only("wangwu")
    for url in urls:
        for method in (client.get, client.post):
            response = method("/" + url)
            if url.startswith("api/"):
                assert response.status_code == 401, url
                assert response.json()["code"] == "second_factor_required", url
            else:
                assert response.status_code == 302, (url, response.status_code)
                assert response["Location"].startswith(VERIFY), url
            assert "张三" not in response.content.decode()
    # The session is still unverified, and still logged in; the code page answers.
    assert client.get(VERIFY).status_code == 302  # no device yet: to enrolment
    assert client.get(ENROL).status_code == 200
    # An API call with the session and the CSRF header is refused all the same.
    response = client.get("/api/members", HTTP_X_CSRFTOKEN="x")
    assert response.status_code == 401
    # Logging out works.
    assert client.post("/logout/").status_code == 302
    assert "_auth_user_id" not in client.session


def test_every_staff_role_is_held_at_the_second_step(world):
    staff = User.objects.filter(role__in=STAFF_ROLES)
    assert {u.role for u in staff} >= set(STAFF_ROLES) - {Role.SYSTEM_ADMIN} or staff
    for user in staff:
        client = _password_only(user.username)
        response = client.get("/")
        assert response.status_code == 302 and response["Location"].startswith(VERIFY), user


def test_enrolment_shows_a_qr_code_and_the_key_then_ten_recovery_codes(world):
    client = _password_only("wangwu")
    response = client.get("/", follow=True)
    assert response.redirect_chain[-1][0].startswith(ENROL)
    page = response.content.decode()
    assert "<svg" in page and 'id="otp-secret"' in page
    assert "http" not in re.search(r"<svg.*?</svg>", page, re.S).group(0).replace(
        "http://www.w3.org/2000/svg", "")  # drawn here, no outside service
    device = TOTPDevice.objects.get(user=world.wangwu, confirmed=False)
    secret = re.search(r'id="otp-secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    import base64
    assert base64.b32decode(secret + "=" * (-len(secret) % 8)) == device.bin_key
    # A wrong code is refused and recorded as a failure.
    response = client.post(ENROL, {"code": "000000" if totp_code(device) != "000000"
                                   else "111111"})
    assert response.status_code == 200 and "验证码不正确" in response.content.decode()
    assert (Action.OTP_FAILED, "enrol_failed") in _events("wangwu")
    response = client.post(ENROL, {"code": totp_code(device)})
    codes = _codes(response)
    assert len(codes) == 10 and len(set(codes)) == 10
    device.refresh_from_db()
    assert device.confirmed
    assert client.get("/members/").status_code == 200
    assert client.get("/api/members").status_code == 200
    assert (Action.OTP_ENROLLED, "ok") in _events("wangwu")
    # Only digests are stored.
    stored = set(RecoveryCode.objects.values_list("digest", flat=True))
    assert len(stored) == 10 and not any(c in s for c in codes for s in stored)
    # Enrolment cannot be repeated over a bound device.
    assert client.get(ENROL)["Location"] == "/account/"


def test_the_next_login_asks_for_a_code_and_a_used_code_is_refused(world):
    with time_machine.travel("2026-11-23 09:00:05 +0800", tick=False) as traveller:
        login_through_pages(Client(), "wangwu")  # enrols
        device = TOTPDevice.objects.get(user=world.wangwu, confirmed=True)
        client = _password_only("wangwu")
        assert client.get("/")["Location"].startswith(VERIFY)
        code = totp_code(device, step_offset=1)
        response = client.post(VERIFY, {"code": code})
        assert response.status_code == 302 and client.get("/").status_code == 200
        assert _events("wangwu")[-1] == (Action.OTP_VERIFIED, "ok")
        # The same code again, by someone who watched it typed: refused, recorded.
        attacker = _password_only("wangwu")
        response = attacker.post(VERIFY, {"code": code})
        assert response.status_code == 200 and "已经使用过" in response.content.decode()
        assert attacker.get("/members/").status_code == 302
        assert _events("wangwu")[-1] == (Action.OTP_FAILED, "failed")
        # The next period's code is good.
        traveller.shift(60)
        response = attacker.post(VERIFY, {"code": totp_code(device)})
        assert response.status_code == 302 and attacker.get("/members/").status_code == 200


def test_a_recovery_code_works_once(world):
    client = _password_only("qianjiu")
    client.get(ENROL)
    device = TOTPDevice.objects.get(user=world.qianjiu, confirmed=False)
    codes = _codes(client.post(ENROL, {"code": totp_code(device)}))
    client.post("/logout/")

    client = _password_only("qianjiu")
    response = client.post(VERIFY, {"code": codes[3].upper()})
    assert response.status_code == 302 and client.get("/").status_code == 200
    event = Event.objects.filter(action=Action.OTP_RECOVERY_USED).get()
    assert event.after == {"codes_left": 9}
    client.post("/logout/")

    client = _password_only("qianjiu")
    response = client.post(VERIFY, {"code": codes[3]})
    assert response.status_code == 200 and client.get("/").status_code == 302
    assert RecoveryCode.objects.filter(device__user=world.qianjiu).count() == 9


def test_wrong_codes_lock_the_account_like_wrong_passwords(world, settings):
    settings.LOCKOUT_FAILURES = 3
    login_through_pages(Client(), "wangwu")
    device = TOTPDevice.objects.get(user=world.wangwu, confirmed=True)
    wrong = f"{(int(totp_code(device)) + 500000) % 1000000:06d}"
    # The right password between wrong codes does not start the count again.
    for _ in range(2):
        client = _password_only("wangwu")
        response = client.post(VERIFY, {"code": wrong})
        assert response.status_code == 200
    client = _password_only("wangwu")
    response = client.post(VERIFY, {"code": wrong})
    assert response.status_code == 302 and response["Location"] == LOGIN
    assert "_auth_user_id" not in client.session
    world.wangwu.refresh_from_db()
    assert world.wangwu.locked_until is not None
    events = _events("wangwu")
    assert events.count((Action.OTP_FAILED, "failed")) == 3
    assert (Action.LOGIN_LOCKED, "ok") in events
    # Locked: even the right password and a right code get nowhere.
    response = Client().post(LOGIN, {"username": "wangwu", "password": PASSWORD})
    assert response.status_code == 200 and WRONG_CREDENTIALS in response.content.decode()


def test_wrong_codes_count_toward_the_address_limit(world, settings):
    settings.ADDRESS_LOCKOUT_FAILURES = 4
    settings.LOCKOUT_FAILURES = 100
    client = Client(REMOTE_ADDR="203.0.113.9")
    client.post(LOGIN, {"username": "wangwu", "password": PASSWORD})
    for _ in range(4):
        client.post(ENROL, {"code": "000001"})
    response = Client(REMOTE_ADDR="203.0.113.9").post(
        LOGIN, {"username": "qianjiu", "password": PASSWORD})
    assert response.status_code == 200 and WRONG_CREDENTIALS in response.content.decode()


def test_the_security_administrator_resets_a_second_factor(world):
    victim = Client()
    login_through_pages(victim, "wangwu")
    assert victim.get("/members/").status_code == 200
    security = Client()
    login_through_pages(security, "wu")
    page = security.get("/security/second-factor/?q=wangwu")
    assert page.status_code == 200 and "已启用" in page.content.decode()
    response = security.post(f"/security/second-factor/{world.wangwu.pk}/reset/")
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=world.wangwu).exists()
    event = Event.objects.filter(action=Action.OTP_RESET).get()
    assert event.actor_id == world.security.pk and event.object_id == str(world.wangwu.pk)
    assert Action.OTP_RESET.label == "重置双因素认证"
    # The reset takes hold at once: the open session is back at the second step.
    response = victim.get("/members/")
    assert response.status_code == 302 and response["Location"].startswith(VERIFY)
    assert victim.get(VERIFY)["Location"].startswith(ENROL)


def test_nobody_else_resets_and_nobody_resets_their_own(world):
    login_through_pages(Client(), "wangwu")
    for username in ("qianjiu", "zheng", "zhou", "zhaoliu"):
        client = Client()
        login_through_pages(client, username)
        assert client.get("/security/second-factor/").status_code == 403, username
        response = client.post(f"/security/second-factor/{world.wangwu.pk}/reset/")
        assert response.status_code == 403, username
    security = Client()
    login_through_pages(security, "wu")
    page = security.get("/security/second-factor/?q=wu").content.decode()
    assert f"/security/second-factor/{world.security.pk}/reset/" not in page
    response = security.post(f"/security/second-factor/{world.security.pk}/reset/")
    assert response.status_code == 403
    assert TOTPDevice.objects.filter(user__in=[world.wangwu, world.security]).count() == 2
    assert not Event.objects.filter(action=Action.OTP_RESET).exists()


def test_agents_and_members_are_not_forced_but_may_enrol(world):
    for username in ("lisi", "zhangsan"):
        client = _password_only(username)
        assert client.get("/", follow=True).status_code == 200, username
        page = client.get("/account/").content.decode()
        assert "未启用" in page
    # 李四 adds a second factor from 账户安全 ...
    client = _password_only("lisi")
    assert client.get(ENROL).status_code == 200
    device = TOTPDevice.objects.get(user=world.lisi, confirmed=False)
    assert len(_codes(client.post(ENROL, {"code": totp_code(device)}))) == 10
    assert "已启用" in client.get("/account/").content.decode()
    # ... and from then on his password alone reaches nothing.
    client = _password_only("lisi")
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith(VERIFY)
    assert client.get("/api/me").status_code == 401
    client.post(VERIFY, {"code": totp_code(device)})
    assert client.get("/").status_code == 200


def test_an_api_token_is_not_a_session_and_is_not_held(world):
    """Integration clients use bearer tokens (machine accounts have no second factor)."""
    _, plain = token_create(actor=None, user=world.wangwu, name="对接")
    response = Client().get("/api/me", HTTP_AUTHORIZATION=f"Bearer {plain}")
    assert response.status_code == 200


@pytest.mark.parametrize("action", [Action.OTP_ENROLLED, Action.OTP_VERIFIED, Action.OTP_FAILED,
                                    Action.OTP_RECOVERY_USED, Action.OTP_RESET])
def test_second_factor_events_are_in_the_login_log(action):
    from huzhu.audit.access import LOGIN_ACTIONS

    assert action in LOGIN_ACTIONS
    assert re.search(r"[\u4e00-\u9fff]", str(action.label))


def test_new_recovery_codes_void_the_old_ones(world):
    client = _password_only("zhaoliu")
    client.get(ENROL)
    device = TOTPDevice.objects.get(user=world.zhaoliu, confirmed=False)
    old = _codes(client.post(ENROL, {"code": totp_code(device)}))
    assert "剩余未用的恢复码：10 个" in client.get("/account/").content.decode()
    new = _codes(client.post("/account/recovery-codes/"))
    assert len(new) == 10 and not set(new) & set(old)
    assert Event.objects.filter(action=Action.OTP_ENROLLED, after__renewed=True).count() == 1
    client.post("/logout/")
    client = _password_only("zhaoliu")
    assert client.post(VERIFY, {"code": old[0]}).status_code == 200
    assert client.post(VERIFY, {"code": new[0]}).status_code == 302
    # Renewing needs a verified session: a password-only session cannot mint codes.
    attacker = _password_only("zhaoliu")
    response = attacker.post("/account/recovery-codes/")
    assert response.status_code == 302 and response["Location"].startswith(VERIFY)
