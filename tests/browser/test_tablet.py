"""Staff pages on a tablet (issue 17 part 2): every staff role of the shared test world, with
claims paid, refused and in review (the world of tests/web/test_plain_words.py), walks every
page its links lead to — the same walker the plain-words test uses, one page per route and
role — and Chromium shows each at 768×1024 (a tablet held upright) and 1024×768 (on its side).

On no page may the page itself scroll sideways (a wide table scrolls inside its own box), the
main menu must be reachable (beside the page or as the swipeable row phones get), no form
control or button may stick out of the screen or be squeezed below use, a table wider than its
box must scroll in it, and a table must not be squeezed into a sliver of the page."""

from __future__ import annotations

import os
from typing import Any

import pytest
from django.test import Client

from tests.enrollment.conftest import period_world  # noqa: F401
from tests.payouts.conftest import pay_world  # noqa: F401
from tests.web.test_plain_words import busy_world, route_of, walk  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

PORTRAIT = {"width": 768, "height": 1024}
LANDSCAPE = {"width": 1024, "height": 768}

# What is wrong with the page at the current size, in words (an empty list when all is well).
LAYOUT_PROBLEMS = """() => {
  const vw = window.innerWidth, out = [];
  const name = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
    + (el.name ? "[name=" + el.name + "]" : "")
    + " 「" + (el.textContent || el.value || el.placeholder || "").trim().slice(0, 16) + "」";
  const scrolls = (el) => ["auto", "scroll"].includes(getComputedStyle(el).overflowX);
  const inScroller = (el) => {
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      if (scrolls(p) && p.scrollWidth > p.clientWidth + 1) return true;
    }
    return false;
  };
  const shown = (el) => {
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== "hidden";
  };
  const page = document.scrollingElement.scrollWidth;
  if (page > vw + 1) {
    // name the widest things that stick out, to say where to look
    const wide = [...document.querySelectorAll("main *")]
      .filter((el) => shown(el) && !inScroller(el) && el.getBoundingClientRect().right > vw + 1)
      .slice(-3).map(name);
    out.push("页面横向滚动 " + page + "px > " + vw + "px：" + wide.join("，"));
  }
  const nav = document.querySelector("nav.sidebar");
  if (nav) {
    // each item is on the screen, or the menu is a row that swipes and is itself on it
    const swipes = scrolls(nav) || scrolls(nav.firstElementChild);
    const n = nav.getBoundingClientRect();
    if (!shown(nav)) out.push("主菜单看不到");
    else if (swipes && (n.right > vw + 1 || n.left < -1)) out.push("主菜单在屏幕外");
    for (const a of nav.querySelectorAll("a")) {
      const r = a.getBoundingClientRect();
      if (!shown(a)) out.push("菜单项看不到 " + name(a));
      else if (!swipes && (r.right > vw + 1 || r.left < -1)) out.push("菜单项在屏幕外 " + name(a));
    }
  }
  const main = document.querySelector("main");
  const room = main ? main.clientWidth : vw;
  const controls = "main input:not([type=hidden]), main select, main textarea, main button, main .btn";
  for (const el of document.querySelectorAll(controls)) {
    if (!shown(el) || inScroller(el)) continue;
    const r = el.getBoundingClientRect();
    if (r.right > vw + 1 || r.left < -1) out.push("控件伸出屏幕 " + name(el));
    else if (el.matches("input, select, textarea") && !["checkbox", "radio"].includes(el.type)
             && (r.width < 24 || el.scrollWidth > el.clientWidth + 1)) {
      out.push("输入框太窄 " + name(el) + " " + Math.round(r.width) + "px");
    }
    else if (el.matches("button, .btn") && el.scrollWidth > el.clientWidth + 1
             && getComputedStyle(el).overflowX !== "visible") out.push("按钮文字被截断 " + name(el));
  }
  for (const t of document.querySelectorAll("main table.grid")) {
    if (!shown(t) || inScroller(t)) continue;
    const r = t.getBoundingClientRect();
    if (r.right > vw + 1) out.push("表格伸出屏幕 " + name(t));
    const overflowing = t.scrollWidth > t.clientWidth + 1;
    if (overflowing && !scrolls(t)) out.push("表格被截断且不能滚动 " + name(t));
    if (overflowing && r.width < room / 2) {
      out.push("表格没有横向空间 " + name(t) + " " + Math.round(r.width) + "px");
    }
  }
  for (const h of document.querySelectorAll("main h1")) {
    if (shown(h) && h.getBoundingClientRect().width < 160) out.push("标题被挤窄 " + name(h));
  }
  return out;
}"""


def staff(w: Any) -> list[Any]:
    """Every role that works in the office: reviewers (county and province), county and city
    staff, finance (two in the province, one in another region), audit, security and system
    administration, leadership and the supervisor."""
    return [w.wangwu, w.top_reviewer, w.zhaoliu, w.clerk_b, w.qianjiu, w.checker, w.finance_b,
            w.auditor, w.security, w.sysadmin, w.leader, w.supervisor]


def signed_in(browser: Any, live_server: Any, user: Any) -> tuple[Any, Client]:
    """A browser context holding a finished login of ``user`` (password and second factor, as
    tests/conftest.py makes ``force_login`` stand for; the login pages themselves are what
    test_login_and_search.py drives)."""
    client = Client()
    client.force_login(user)
    context = browser.new_context(locale="zh-CN", viewport=PORTRAIT)
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                          "url": live_server.url}])
    return context, client


def test_every_staff_page_fits_a_tablet(browser, live_server, busy_world, shots):  # noqa: F811
    w = busy_world
    problems: dict[str, list[str]] = {}
    seen: set[tuple[str, str]] = set()   # (role, route): each role's pages, once
    shown = 0
    for user in staff(w):
        context, client = signed_in(browser, live_server, user)
        paths: list[str] = []
        walk(client, per_route=1, visited=paths)
        assert len(paths) >= 2, (user.username, paths)
        page = context.new_page()
        for path in paths:
            key = (user.role, route_of(path) or path)
            if key in seen:
                continue
            seen.add(key)
            response = page.goto(f"{live_server.url}{path}")
            assert response.status == 200, (user.username, path, response.status)
            assert page.url.endswith(path), (user.username, path, page.url)  # still signed in
            shown += 1
            for size in (PORTRAIT, LANDSCAPE):
                page.set_viewport_size(size)
                found = page.evaluate(LAYOUT_PROBLEMS)
                if found:
                    problems[f"{user.username} {size['width']} {path}"] = found
                    name = path.strip("/").replace("/", "-") or "home"
                    page.screenshot(path=os.path.join(
                        shots, f"tablet-bad-{user.username}-{size['width']}-{name}.png"))
            page.set_viewport_size(PORTRAIT)
            if path == paths[0]:
                page.screenshot(path=os.path.join(shots, f"tablet-{user.username}-home.png"),
                                full_page=True)
        context.close()
    # the walk really reaches the staff pages, the working ones among them
    assert shown >= 60, shown
    routes = {route for _role, route in seen}
    assert {"insights:cockpit", "claims:queue", "claims:review_settings", "payouts:index",
            "payouts:batch", "ledger:trial_balance", "web:event_list", "web:user_roles",
            "web:staff_accounts", "web:member_list", "scheme:targets",
            "insights:simulator"} <= routes, sorted(routes)
    assert problems == {}, "\n".join(f"{k}: {v}" for k, v in problems.items())


def test_the_check_catches_a_page_too_wide_for_a_tablet(browser, live_server, live_world):
    """The check fails on what it is meant to catch: a table that pushes the page sideways, a
    button beyond the screen's edge and a menu pushed off it."""
    context, _ = signed_in(browser, live_server, live_world.wangwu)
    page = context.new_page()
    page.goto(f"{live_server.url}/members/")
    assert page.evaluate(LAYOUT_PROBLEMS) == []
    page.evaluate("""() => {
      const main = document.querySelector("main");
      main.insertAdjacentHTML("beforeend", '<table class="grid" style="display:table"><tr>'
        + '<td>' + "很长的一行".repeat(60) + '</td></tr></table>'
        + '<div style="margin-left:900px"><button class="btn">保存</button></div>');
    }""")
    found = " ".join(page.evaluate(LAYOUT_PROBLEMS))
    assert "页面横向滚动" in found and "控件伸出屏幕" in found and "表格伸出屏幕" in found
    page.goto(f"{live_server.url}/members/")
    page.evaluate("() => { document.querySelector('nav.sidebar').style.marginLeft = '2000px';"
                  " document.querySelector('.frame').style.overflow = 'hidden'; }")
    assert any("菜单项在屏幕外" in p for p in page.evaluate(LAYOUT_PROBLEMS))
    context.close()
