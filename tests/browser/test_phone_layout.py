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


@pytest.fixture
def filed_world(live_world):
    """The agent's unit enrolled and paid, and a claim of 张三 filed by the agent."""
    from huzhu.claims.ingest import settlement_ingest
    from huzhu.claims.services import claim_file
    from huzhu.enrollment.models import Invoice
    from tests.claims.conftest import MEDICAL, add_money_users, enroll_for_claims, record
    from tests.enrollment.conftest import add_period

    w = add_money_users(enroll_for_claims(add_period(live_world)))
    s = settlement_ingest(record=record("S-PHONE-1", w.zhangsan.id_number, begin="2026-11-20",
                                        end="2026-11-25"), actor=w.bureau).settlement
    w.claim = claim_file(member=w.zhangsan, settlement=s, product_code=MEDICAL, actor=w.lisi,
                         source="agent")
    w.invoice = Invoice.objects.get(unit=w.unit_a)
    from huzhu.portal.seed import kb_seed

    kb_seed()
    return w


def test_every_page_of_an_agent_and_a_member_fits_a_phone(browser, live_server, filed_world,
                                                         shots):
    w = filed_world
    z, unit = w.zhangsan.pk, w.unit_a.pk
    pages = {
        "lisi": ["/", f"/units/{unit}/", f"/enrollment/units/{unit}/", f"/billing/units/{unit}/",
                 f"/billing/invoices/{w.invoice.pk}/", "/members/", f"/members/{z}/",
                 f"/enrollment/members/{z}/", "/claims/", f"/claims/{w.claim.pk}/",
                 "/claims/file/", f"/claims/file/{z}/", "/account/"],
        "zhangsan": ["/", "/claims/mine/", f"/claims/{w.claim.pk}/", f"/members/{z}/",
                     f"/enrollment/members/{z}/", "/account/", "/me/", "/me/card/",
                     "/me/receipts/", "/me/messages/", "/me/faq/", "/me/ask/",
                     "/claims/file/", f"/claims/file/{z}/"],
    }
    for username, paths in pages.items():
        context = browser.new_context(locale="zh-CN", viewport=PHONE, is_mobile=True)
        page = context.new_page()
        login(page, live_server, username)
        too_wide = []
        for path in paths:
            response = page.goto(f"{live_server.url}{path}")
            assert response.status == 200, (username, path, response.status)
            if page_width(page) > PHONE["width"]:
                too_wide.append((path, page_width(page)))
            name = path.strip("/").replace("/", "-") or "home"
            page.screenshot(path=os.path.join(shots, f"phone-{username}-{name}.png"),
                            full_page=True)
        context.close()
        assert too_wide == [], (username, too_wide)


def test_the_member_portal_in_use_fits_a_phone(browser, live_server, filed_world, shots):
    """The pages as a member uses them: the robot's answer with its source, a 工单, and the
    bank card waiting for its SMS code, each at 390×844 without sideways scrolling."""
    context = browser.new_context(locale="zh-CN", viewport=PHONE, is_mobile=True)
    page = context.new_page()
    login(page, live_server, "zhangsan")
    assert page.url.endswith("/me/")  # a member lands on 我的保障
    labels = page.locator("nav.sidebar a").all_inner_texts()
    assert labels == ["我的保障", "我的理赔", "申请理赔", "银行卡", "我的收据", "消息", "常见问题",
                      "在线问答"]
    too_wide = []
    for question, name in (("住院了咋报销", "answer"), ("我的理赔到哪了", "own-claim"),
                           ("我想订一张去北京的火车票", "ticket")):
        page.goto(f"{live_server.url}/me/ask/")
        page.fill("#id_question", question)
        page.click("form.portal-card button")
        page.wait_for_load_state()
        assert page.locator("#reply").is_visible()
        if page_width(page) > PHONE["width"]:
            too_wide.append((name, page_width(page)))
        page.screenshot(path=os.path.join(shots, f"phone-portal-ask-{name}.png"), full_page=True)
    assert page.locator("#ticket").is_visible()
    page.goto(f"{live_server.url}/me/card/")
    page.fill("#id_bank_card", "6222020200112233446")
    # 开户行 from the bank list: the search box keeps the entries naming 工商, then pick one.
    page.fill("input.bank-pick-search", "工商")
    assert page.locator("#id_bank_cnaps option").count() == 2  # the prompt and 中国工商银行
    page.select_option("#id_bank_cnaps", "102100099996")
    page.click("#new-card button")
    page.wait_for_load_state()
    assert page.locator("#confirm-card").is_visible()
    if page_width(page) > PHONE["width"]:
        too_wide.append(("card", page_width(page)))
    page.screenshot(path=os.path.join(shots, "phone-portal-card-code.png"), full_page=True)
    page.goto(f"{live_server.url}/me/messages/")
    if page_width(page) > PHONE["width"]:
        too_wide.append(("messages", page_width(page)))
    page.screenshot(path=os.path.join(shots, "phone-portal-messages-after.png"), full_page=True)
    context.close()
    assert too_wide == []
def test_the_sign_up_page_fits_a_phone(browser, live_server, live_world, shots):
    """A member signs up on his phone: both steps fit 390 px; the answer to the request is
    the one sentence whatever matched."""
    context = browser.new_context(locale="zh-CN", viewport=PHONE, is_mobile=True)
    page = context.new_page()
    page.goto(f"{live_server.url}/login/")
    page.click("text=注册账号")
    page.wait_for_load_state()
    assert page.url.endswith("/signup/")
    assert page_width(page) <= PHONE["width"], page_width(page)
    page.fill("#id_id_number", live_world.chenba.id_number)
    page.fill("#id_name", "陈八")
    page.fill("#id_phone", "13912345678")
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("#id_code").is_visible() and "验证码已发送" in page.content()
    assert page_width(page) <= PHONE["width"], page_width(page)
    page.screenshot(path=os.path.join(shots, "phone-signup.png"), full_page=True)
    context.close()
