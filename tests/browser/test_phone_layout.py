"""The pages an agent and a member use fit a 390 px phone: the page never scrolls sideways
(wide tables scroll inside their own box) and the menu stays reachable. Screenshots are kept."""

from __future__ import annotations

import os

import pytest

from ..conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

PHONE = {"width": 390, "height": 844}


def login(page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def page_width(page) -> int:
    return page.evaluate("() => document.documentElement.scrollWidth")


@pytest.mark.parametrize(("username", "paths"), [
    ("lisi", ["/", "/members/", "/claims/file/"]),      # an agent
    ("zhangsan", ["/", "/claims/mine/"]),                # a member
])
def test_agent_and_member_pages_fit_a_phone(browser, live_server, live_world, shots,
                                            username, paths):
    context = browser.new_context(locale="zh-CN", viewport=PHONE, is_mobile=True)
    page = context.new_page()
    login(page, live_server, username)
    for path in paths:
        response = page.goto(f"{live_server.url}{path}")
        assert response.status == 200, path
        assert page_width(page) <= PHONE["width"], (path, page_width(page))
        assert page.locator("nav.sidebar a").first.is_visible()
        name = path.strip("/").replace("/", "-") or "home"
        page.screenshot(path=os.path.join(shots, f"phone-{username}-{name}.png"), full_page=True)
    context.close()
