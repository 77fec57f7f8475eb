"""The reports an agent and the public read fit a 390 px phone: the unit's bulletin (运行通报)
and the fund's public disclosure (公示), which needs no login."""

from __future__ import annotations

import datetime
import os

import pytest

from .test_phone_layout import PHONE, login, page_width

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


@pytest.fixture
def reported_world(live_world):
    from huzhu import clock
    from huzhu.claims.models import ClaimPolicy
    from huzhu.insights.reports_disclosure import disclosure_propose, disclosure_publish
    from tests.claims.conftest import MEDICAL, add_money_users, enroll_for_claims
    from tests.enrollment.conftest import add_period
    from tests.insights.conftest import approve

    w = add_money_users(enroll_for_claims(add_period(live_world)))
    ClaimPolicy.objects.create(product_code=MEDICAL, auto_claim=True)
    approve(w, w.zhangsan, "S-R1")
    approve(w, w.chenba, "S-R2", inscp=500_000, hifp=350_000)
    w.disclosure = disclosure_propose(region=w.province, start=datetime.date(2025, 1, 1),
                                      end=clock.today(), title="", actor=w.qianjiu)
    disclosure_publish(disclosure=w.disclosure, actor=w.checker)
    return w


def test_the_bulletin_and_the_public_page_fit_a_phone(browser, live_server, reported_world,
                                                      shots):
    w = reported_world
    context = browser.new_context(locale="zh-CN", viewport=PHONE, is_mobile=True)
    page = context.new_page()
    public = ["/insights/reports/public/", f"/insights/reports/public/{w.disclosure.pk}/"]
    for path in public:  # no login
        response = page.goto(f"{live_server.url}{path}")
        assert response.status == 200, path
        assert page_width(page) <= PHONE["width"], (path, page_width(page))
        page.screenshot(path=os.path.join(shots, f"phone-public-{path.count('/')}.png"),
                        full_page=True)
    assert "张*" in page.content() and "张三" not in page.content()
    login(page, live_server, "lisi")
    page.goto(f"{live_server.url}/")
    page.click("nav.sidebar >> text=运行通报")
    page.wait_for_load_state()
    assert "运行通报" in page.locator("h1").inner_text()
    assert page_width(page) <= PHONE["width"], page_width(page)
    assert "2,100.00" in page.content()
    page.screenshot(path=os.path.join(shots, "phone-lisi-bulletin.png"), full_page=True)
    context.close()
