"""Plain Chinese on every page (issue 17 part 3): every role, logged in on the shared test world
with claims paid, refused and in review, a payout batch answered by the bank with one failed
line, follows every link it is shown, page after page, and no page's visible text carries a
code-like token: an internal name in capitals (`NOT_APPLICABLE`, `RANDOM_SAMPLE`), a model and
its number (`claims.claim 63`), a dotted key (`4101.union_province.…`,
`benefits.hospital.tiers`) or a product's code (`guangxi-2024-huzhu1`).

The Django admin (read-only configuration for the system administrator, in Django's own words)
and file downloads are not walked."""

from __future__ import annotations

import datetime
import re
from collections import Counter, deque
from html.parser import HTMLParser
from typing import Any

import pytest
from django.test import Client
from django.urls import Resolver404, resolve

from tests.enrollment.conftest import period_world  # noqa: F401
from tests.payouts.conftest import file_claim, pay_world  # noqa: F401

pytestmark = pytest.mark.django_db

# Capitalised words a Chinese user reads as words, not as codes.
WORDS = {"XLSX", "HTTPS", "TOTP", "CNAPS", "JSON", "HTML", "UTF", "ECHARTS", "WECHAT", "HTTP",
         "TOML", "ICBC", "SHA"}

CODE_PATTERNS = [
    ("内部代码", re.compile(r"\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b")),
    ("大写代码", re.compile(r"\b[A-Z]{4,}\b")),
    ("模型与编号", re.compile(r"\b[a-z_]+\.[a-z_]+ \d+\b(?!-)")),
    ("点分键", re.compile(r"\b[a-z0-9_-]+\.[a-z_][a-z0-9_-]*\.[a-z0-9_-]+\b")),
    ("产品代码", re.compile(r"\b[a-z]+-\d{4}-[a-z0-9-]+\b")),
]

SKIP_PREFIXES = ("/static/", "/media/", "/admin/", "/api/", "/logout", "/healthz")
SKIP_SUFFIXES = (".xlsx", ".pdf", ".csv", ".zip", ".txt", ".png", ".json")
PER_ROUTE = 3      # pages of one route walked per user (lists page through the same template)
PER_USER = 150


class VisibleText(HTMLParser):
    """The text a reader sees, and the links they can follow."""

    HIDDEN = {"script", "style", "template", "noscript"}

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.links: list[str] = []
        self._hidden = 0
        self._literal: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag in self.HIDDEN:
            self._hidden += 1
        elif a.get("translate") == "no":
            # Text meant literally (a key to type into an authenticator app): not words.
            self._hidden += 1
            self._literal.append(tag)
        if tag == "a" and a.get("href"):
            self.links.append(a["href"] or "")
        if tag == "input" and a.get("type") in {"submit", "button"} and a.get("value"):
            self.parts.append(a["value"] or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN and self._hidden:
            self._hidden -= 1
        elif self._literal and tag == self._literal[-1]:
            self._literal.pop()
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def code_tokens(text: str) -> list[str]:
    found = []
    for kind, pattern in CODE_PATTERNS:
        for m in pattern.finditer(text):
            if kind == "大写代码" and m.group(0) in WORDS:
                continue
            start = max(0, m.start() - 20)
            found.append(f"{kind}「{m.group(0)}」…{text[start:m.end() + 20]!r}")
    return found


def route_of(path: str) -> str | None:
    try:
        return resolve(path.split("?", 1)[0]).view_name
    except Resolver404:
        return None


def walk(client: Client, start: str = "/", per_route: int = PER_ROUTE,
         visited: list[str] | None = None) -> tuple[dict[str, list[str]], int]:
    """Every page reachable by links from ``start``: {path: code-like tokens}. The pages walked
    (HTML answered 200) are appended to ``visited`` when given (tests/browser/test_tablet.py
    shows each to Chromium)."""
    seen: set[str] = set()
    walked: Counter[str] = Counter()
    first = client.get(start)
    if first.status_code == 302 and first["Location"].startswith("/"):
        start = first["Location"]  # a member's home is the portal's 我的保障
    queue = deque([start])
    problems: dict[str, list[str]] = {}
    pages = 0
    while queue and pages < PER_USER:
        path = queue.popleft()
        if path in seen:
            continue
        seen.add(path)
        route = route_of(path)
        if route is None or walked[route] >= per_route:
            continue
        walked[route] += 1
        response = client.get(path)
        if response.status_code in (301, 302) and response["Location"].startswith("/"):
            queue.append(response["Location"])  # a menu item that leads on (驾驶舱 → a region's)
            continue
        if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
            continue
        pages += 1
        if visited is not None:
            visited.append(path)
        parser = VisibleText()
        parser.feed(response.content.decode())
        tokens = code_tokens(" ".join(" ".join(parser.parts).split()))
        if tokens:
            problems[path] = tokens
        for href in parser.links:
            href = href.split("#", 1)[0]
            if (not href.startswith("/") or href.startswith("//")
                    or href.startswith(SKIP_PREFIXES) or href.split("?", 1)[0].endswith(
                        SKIP_SUFFIXES) or "download" in href or "export" in href):
                continue
            if href not in seen:
                queue.append(href)
    return problems, pages


@pytest.fixture
def busy_world(pay_world: Any, tmp_path: Any) -> Any:  # noqa: F811
    """Claims paid, one failed at the bank, one refused, one waiting in review."""
    from huzhu.accounts.models import User
    from huzhu.accounts.roles import Role
    from huzhu.payouts import bankfile
    from huzhu.payouts.bankfile import ResultLine
    from huzhu.payouts.channels import FileDropChannel
    from huzhu.payouts.services import (
        batch_approve,
        batch_build,
        batch_file,
        batch_send,
        result_import,
    )
    from tests.conftest import PASSWORD
    from tests.payouts.test_bankfile import raw, row

    w = pay_world
    for i, m in enumerate(w.members[:3]):
        file_claim(w, m, f"PW{i}", begin=datetime.date(2026, 3, 2))
    batch = batch_build(fund_region=w.province, actor=w.qianjiu, limit=3).batch
    batch = batch_approve(batch=batch, actor=w.checker)
    batch = batch_send(batch=batch, actor=w.qianjiu, channel=FileDropChannel(tmp_path))
    _no, out = bankfile.parse_batch(batch_file(batch))
    lines = [ResultLine(0, batch.number, o.out_detail_no, o.account_no, o.account_name,
                        o.amount_fen, "paid", "", f"BK{i:04d}") for i, o in enumerate(out)]
    rows = [row(lines[0]), row(lines[1]),
            row(lines[2], 处理结果="失败", 失败原因="账户已销户", 银行流水号="")]
    result_import(batch=batch, file_name="result.csv", data=raw(rows), actor=w.qianjiu)
    # A large stay goes to a reviewer.
    from huzhu.claims.models import ClaimPolicy
    from tests.claims.conftest import MEDICAL

    ClaimPolicy.objects.create(product_code=MEDICAL, review_threshold_fen=500_000)
    file_claim(w, w.members[3], "PW-BIG", begin=datetime.date(2026, 6, 1),
               inscp=30_000_000, hifp=10_000_000)
    w.leader = User.objects.create_user(username="lingdao", password=PASSWORD,
                                        role=Role.LEADERSHIP, organisation=w.province,
                                        display_name="领导")
    w.supervisor = User.objects.create_user(username="jianshi", password=PASSWORD,
                                            role=Role.SUPERVISOR, organisation=w.province,
                                            display_name="监事")
    return w


def test_no_page_of_any_role_shows_a_code(busy_world: Any) -> None:
    w = busy_world
    people = [w.lisi, w.zhangsan_user, w.wangwu, w.zhaoliu, w.qianjiu, w.checker,
              w.top_reviewer, w.auditor, w.security, w.sysadmin, w.clerk_b, w.finance_b,
              w.leader, w.supervisor]
    found: dict[str, dict[str, list[str]]] = {}
    walked = {}
    for user in people:
        client = Client()
        client.force_login(user)
        problems, pages = walk(client)
        walked[user.username] = pages
        if problems:
            found[f"{user.username}（{user.get_role_display()}）"] = problems
    # The walk really walks: every role reaches pages beyond its home page.
    assert all(n >= 2 for n in walked.values()), walked
    assert sum(walked.values()) >= 100, walked
    assert found == {}, found


def test_the_check_catches_codes() -> None:
    assert code_tokens("核定结果 NOT_APPLICABLE") and code_tokens("对象 claims.claim 63")
    assert code_tokens("科目 4101.union_province.guangxi-2024-huzhu1.2026")
    assert code_tokens("公式 benefits.hospital.tiers") and code_tokens("产品 guangxi-2024-huzhu1")
    assert code_tokens("风险 DUPLICATE")
    parser = VisibleText()
    parser.feed('<p>密钥：<code translate="no">UGCO 7AJM</code> 金额 <b>OVER_THRESHOLD</b></p>')
    text = " ".join(parser.parts)
    assert "UGCO" not in text
    assert [t.split("…")[0] for t in code_tokens(text)] == ["内部代码「OVER_THRESHOLD」"]
    assert not code_tokens("下载 XLSX 文件，金额 1,234.56 元，2026-12-07 08:00")
