"""Accessibility (issue 17 part 3): axe-core, the checker the field uses, run in Chromium on the
pages of an agent, a member, a reviewer and a finance officer, at a phone's size, a tablet's
and a desktop's. No critical and no serious finding is allowed (unlabelled controls, contrast below
4.5:1, duplicate ids, …). axe-core comes from npm (package.json, installed by `make setup`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .test_login_and_search import login
from .test_phone_layout import filed_world  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
PHONE = {"width": 390, "height": 844}
TABLET = {"width": 768, "height": 1024}   # the menu wraps into rows above the page
DESKTOP = {"width": 1366, "height": 860}


def serious_findings(page) -> list[str]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "async () => await axe.run(document, {runOnly: {type: 'tag',"
        " values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})")
    found = []
    for v in result["violations"]:
        if v["impact"] in {"critical", "serious"}:
            targets = [", ".join(n["target"]) + " " + n.get("failureSummary", "")[-120:]
                       for n in v["nodes"][:3]]
            found.append(f"{v['impact']} {v['id']}: {v['help']} @ {targets}")
    return found


def test_axe_core_finds_nothing_serious(browser, live_server, filed_world):  # noqa: F811
    assert AXE.exists(), "axe-core missing: run `make setup` (npm install)"
    w = filed_world
    z, unit, claim = w.zhangsan.pk, w.unit_a.pk, w.claim.pk
    pages = {
        "lisi": ["/", f"/enrollment/units/{unit}/", f"/billing/units/{unit}/",
                 f"/billing/invoices/{w.invoice.pk}/", "/members/", f"/members/{z}/",
                 f"/claims/{claim}/", f"/claims/file/{z}/", "/account/"],
        "zhangsan": ["/", "/claims/mine/", f"/claims/{claim}/", f"/enrollment/members/{z}/"],
        "wangwu": ["/", "/claims/queue/", f"/claims/{claim}/", "/members/", "/units/"],
        "qianjiu": ["/", "/payouts/", "/billing/invoices/", "/ledger/"],
    }
    problems: dict[str, list[str]] = {}
    for username, paths in pages.items():
        for viewport in (PHONE, TABLET, DESKTOP):
            # The page forbids inline scripts (CSP); the checker is injected past it.
            context = browser.new_context(locale="zh-CN", viewport=viewport, bypass_csp=True)
            page = context.new_page()
            login(page, live_server, username)
            for path in paths:
                response = page.goto(f"{live_server.url}{path}")
                assert response.status == 200, (username, path, response.status)
                found = serious_findings(page)
                if found:
                    problems[f"{username} {viewport['width']} {path}"] = found
            context.close()
    assert problems == {}, problems
