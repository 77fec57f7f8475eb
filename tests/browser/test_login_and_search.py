"""A staff user logs in through the real page and finds a member by name and by ID number."""

from __future__ import annotations

import base64
import os
from urllib.parse import urlparse

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from ..conftest import PASSWORD, totp_code

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def login(page, live_server, username: str, password: str = PASSWORD) -> None:
    """The login form, then for staff the second step as a person with an authenticator app
    does it: the first time, bind the app (the key shown on the page) and note the recovery
    codes; later, type the app's current code."""
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    path = urlparse(page.url).path
    if path == "/account/enrol/":
        secret = page.inner_text("#otp-secret").replace(" ", "")
        device = TOTPDevice.objects.get(user__username=username, confirmed=False)
        assert base64.b32decode(secret + "=" * (-len(secret) % 8)) == device.bin_key
        page.fill("#id_code", totp_code(device))
        page.click("button:has-text('确认绑定')")
        expect(page.locator("#recovery-codes li")).to_have_count(10)
        page.click("text=我已保存，继续")
        page.wait_for_load_state()
    elif path == "/account/verify/":
        device = TOTPDevice.objects.get(user__username=username, confirmed=True)
        page.fill("#id_code", totp_code(device))
        page.click("button:has-text('验证')")
        page.wait_for_load_state()


def test_reviewer_logs_in_and_searches_a_member(page, live_server, live_world, shots):
    login(page, live_server, "wangwu")
    page.wait_for_selector("text=您好，王五")
    page.click("nav >> text=会员管理")
    page.wait_for_selector("#member-table")
    page.fill("#member-search", "张")
    page.press("#member-search", "Enter")
    rows = page.locator("#member-table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("张三")
    page.screenshot(path=os.path.join(shots, "member-search.png"), full_page=True)

    page.fill("#member-search", live_world.zhangsan.id_number)
    page.press("#member-search", "Enter")
    expect(page.locator("text=按身份证号查找：")).to_be_visible()
    expect(rows).to_have_count(1)
    assert live_world.zhangsan.id_number not in page.content()

    page.click("#member-table >> text=张三")
    page.wait_for_selector("h1:has-text('张三')")
    masked = live_world.zhangsan.id_number[:6] + "********" + live_world.zhangsan.id_number[-4:]
    assert masked in page.inner_text("#pii-id_number")
    page.click("#pii-id_number >> text=查看完整")
    page.wait_for_selector("#pii-id_number .revealed")
    assert page.inner_text("#pii-id_number .revealed") == live_world.zhangsan.id_number
    page.screenshot(path=os.path.join(shots, "member-detail.png"), full_page=True)
    stored = page.evaluate(
        "() => JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage)])")
    assert live_world.zhangsan.id_number not in stored and "张三" not in stored
    assert "htmx-history-cache" not in stored
    assert live_world.zhangsan.id_number not in page.url


def test_wrong_password_shows_a_chinese_error(page, live_server, live_world):
    login(page, live_server, "wangwu", "not-the-password")
    assert page.locator(".form-error").inner_text().startswith("用户名或密码错误")


def test_outsider_finds_nothing(page, live_server, live_world):
    login(page, live_server, "zhaoliu")
    page.wait_for_selector("text=您好，赵六")
    page.goto(f"{live_server.url}/members/?q=张三")
    assert page.locator("#member-table tbody tr").inner_text() == "没有找到会员"
    response = page.goto(f"{live_server.url}/members/{live_world.zhangsan.pk}/")
    assert response.status == 404
