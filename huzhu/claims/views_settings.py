"""审核设置: a fund region's review levels — who reviews at each, in how many working days, and
up to which amount a level may decide alone (issue 14 part 5). Kept by the region's own
reviewers (those of the fund region's organisation)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render

from huzhu.accounts.roles import Perm
from huzhu.actors import AuthedRequest
from huzhu.errors import DomainError
from huzhu.rules.money import MoneyError, format_yuan, parse_yuan

from .levels import LEVEL_KIND_ZH, Level, levels_of, levels_replace

ROWS = 5


def _region(user: Any) -> Any:
    org = getattr(user, "organisation", None)
    if org is None or not org.is_fund_region or not user.can(Perm.REVIEW_CLAIMS):
        raise Http404
    return org


def _rows_from(post: Any) -> tuple[list[Level], list[str]]:
    levels: list[Level] = []
    problems: list[str] = []
    for n in range(1, ROWS + 1):
        name = post.get(f"name_{n}", "").strip()
        if not name:
            if any(post.get(f"name_{m}", "").strip() for m in range(n + 1, ROWS + 1)):
                problems.append(f"第 {n} 级没有名称，后面的级次却有：级次须连续")
            break
        days_text = post.get(f"days_{n}", "").strip()
        days = int(days_text) if days_text.isascii() and days_text.isdigit() else 0
        limit_text = post.get(f"limit_{n}", "").strip()
        limit: int | None = None
        if limit_text:
            try:
                limit = parse_yuan(limit_text)
            except MoneyError:
                problems.append(f"第 {n} 级：可终审金额“{limit_text}”不是金额")
        levels.append(Level(n, name[:40], post.get(f"kind_{n}", ""), days, limit))
    return levels, problems


@login_required
def review_settings(request: AuthedRequest) -> HttpResponse:
    region = _region(request.user)
    if request.method == "POST":
        levels, problems = _rows_from(request.POST)
        if problems:
            messages.error(request, "；".join(problems))
        else:
            try:
                levels_replace(fund_region_id=region.pk, levels=levels, actor=request.user)
            except DomainError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, f"审核设置已保存：共 {len(levels)} 级；"
                                          "对此后进入审核和转入下一级的理赔生效")
                return redirect("claims:review_settings")
    current = list(levels_of(region.pk))
    rows = []
    for n in range(1, ROWS + 1):
        lv = current[n - 1] if n <= len(current) else None
        limit = lv.final_limit_fen if lv is not None else None
        rows.append({"n": n, "lv": lv, "limit": format_yuan(limit) if limit is not None else ""})
    return render(request, "claims/review_settings.html", {
        "region": region, "rows": rows, "kinds": LEVEL_KIND_ZH})
