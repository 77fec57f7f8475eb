"""审核设置: a fund region's review levels — who reviews at each, in how many working days, and
up to which amount a level may decide alone — and its claim settings per product offered in
the region (理赔设置: 免申即享, manual review amount, sampling, frequent claims, deadline;
:mod:`huzhu.claims.policies`) (issue 14 part 5). Kept by the region's own reviewers (those of
the fund region's organisation)."""

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
from .policies import region_policies, region_policies_save

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


def _policy_values(post: Any) -> dict[str, dict[str, Any]]:
    """The 理赔设置 form: row ``i`` of product ``code_i``."""
    out: dict[str, dict[str, Any]] = {}
    for key in post:
        if not key.startswith("code_"):
            continue
        i = key[5:]
        out[post[key]] = {"follow_default": post.get(f"default_{i}") == "1",
                          "auto_claim": post.get(f"auto_{i}") == "1",
                          "review_threshold": post.get(f"threshold_{i}", ""),
                          "sample_percent": post.get(f"sample_{i}", ""),
                          "frequent_claims": post.get(f"freq_n_{i}", ""),
                          "frequent_days": post.get(f"freq_days_{i}", ""),
                          "deadline_days": post.get(f"deadline_{i}", "")}
    return out


def _policy_rows(region_id: int, posted: dict[str, dict[str, Any]] | None) -> list[dict[str, Any]]:
    rows = []
    for n, rp in enumerate(region_policies(region_id), start=1):
        p = rp.policy
        shown = {"auto_claim": p.auto_claim, "review_threshold": rp.threshold_yuan,
                 "sample_percent": p.sample_percent, "frequent_claims": p.frequent_claims,
                 "frequent_days": p.frequent_days,
                 "deadline_days": "" if p.deadline_days is None else p.deadline_days}
        if posted and rp.product_code in posted:
            shown = posted[rp.product_code]  # what was typed, to be put right
        rows.append({"n": n, "code": rp.product_code, "name": rp.name, "own": rp.own,
                     "v": shown})
    return rows


@login_required
def review_settings(request: AuthedRequest) -> HttpResponse:
    region = _region(request.user)
    posted: dict[str, dict[str, Any]] | None = None
    if request.method == "POST" and request.POST.get("form") == "policies":
        posted = _policy_values(request.POST)
        try:
            changed = region_policies_save(fund_region_id=region.pk, values=posted)
        except DomainError as exc:
            messages.error(request, f"理赔设置未保存：{exc.message}")
        else:
            messages.success(request, f"理赔设置已保存：{changed} 个产品有修改；"
                                      "对此后申请（生成）的理赔生效，已有理赔按原设置")
            return redirect("claims:review_settings")
    elif request.method == "POST":
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
        "region": region, "rows": rows, "kinds": LEVEL_KIND_ZH,
        "policies": _policy_rows(region.pk, posted)})
