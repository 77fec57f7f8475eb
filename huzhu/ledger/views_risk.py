"""The period-end risk sharing page (风险共担结算) for finance: preview a city pool's period,
propose it, and a second finance officer confirms it (:mod:`huzhu.ledger.risk_sharing`)."""

from __future__ import annotations

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from huzhu.accounts.roles import Perm
from huzhu.actors import AuthedRequest
from huzhu.errors import DomainError
from huzhu.organisations.models import OrgKind

from .access import ledger_orgs_for
from .models import RiskSharingRun
from .risk_sharing import risk_sharing_confirm, risk_sharing_preview, risk_sharing_propose


def _day(text: str, label: str, errors: dict[str, str]) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        errors[label] = "请填写日期（年-月-日）"
        return None


@login_required
def risk_sharing(request: AuthedRequest) -> HttpResponse:
    if not request.user.can(Perm.POST_LEDGER):
        raise Http404
    pools = ledger_orgs_for(request.user).filter(is_fund_region=True, kind=OrgKind.CITY)
    data = request.POST if request.method == "POST" else request.GET
    if request.method == "POST" and data.get("run"):
        run_id = data.get("run", "")
        run = (RiskSharingRun.objects.filter(pk=int(run_id), pool__in=pools).first()
               if run_id.isdigit() else None)
        if run is None:
            raise Http404
        try:
            lines = risk_sharing_confirm(run=run, actor=request.user)
        except DomainError as exc:
            messages.error(request, f"风险共担结算 {run.pk}：{exc.message}")
        else:
            total = sum(x.city_share_fen for x in lines)
            messages.success(request, f"风险共担结算 {run.pk} 已确认入账，市级分担合计 "
                                      f"{total // 100:,}.{total % 100:02d} 元")
        return redirect("ledger:risk_sharing")
    errors: dict[str, str] = {}
    preview = None
    pool_id = data.get("pool", "")
    pool = pools.filter(pk=int(pool_id)).first() if pool_id.isdigit() else None
    period_code = (data.get("period_code") or "").strip()
    start = _day(data.get("start", ""), "start", errors) if data.get("start") else None
    end = _day(data.get("end", ""), "end", errors) if data.get("end") else None
    if data.get("pool") and not errors:
        if pool is None:
            errors["pool"] = "请选择您管理范围内的市级统筹区"
        elif start is None or end is None:
            errors["start"] = "请填写起止日期"
        else:
            try:
                if request.method == "POST":
                    run = risk_sharing_propose(pool=pool, period_code=period_code, start=start,
                                               end=end, actor=request.user)
                    messages.success(request, f"风险共担结算 {run.pk} 已提请，待另一位财务人员确认")
                    return redirect(reverse("ledger:risk_sharing"))
                preview = risk_sharing_preview(pool=pool, period_code=period_code,
                                               start=start, end=end)
            except DomainError as exc:
                for field, msgs in exc.field_errors.items():
                    errors[field] = "；".join(msgs)
                if not exc.field_errors:
                    errors["pool"] = exc.message
    runs = (RiskSharingRun.objects.filter(pool__in=pools)
            .select_related("pool", "proposed_by", "confirmed_by").order_by("-id")[:50])
    return render(request, "ledger/risk_sharing.html", {
        "pools": pools, "pool": pool, "period_code": period_code, "start": start, "end": end,
        "errors": errors, "preview": preview,
        "preview_total": sum(x["city_share_fen"] for x in preview or []), "runs": runs})
