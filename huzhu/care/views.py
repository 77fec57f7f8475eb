"""重病关怀 pages: the follow-ups of the user's subtree, one follow-up with its five touches, the
region's rule, and a check run now."""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Min, Q, QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from huzhu import clock
from huzhu.accounts.roles import Perm
from huzhu.actors import AuthedRequest
from huzhu.errors import DomainError
from huzhu.organisations.access import staff_path
from huzhu.rules.money import MoneyError, format_yuan, parse_yuan
from huzhu.web.paging import paginate

from .models import CareTask, FollowUp, Touch
from .services import followups_scan, phone_for_call, rule_for, rule_save, task_record


def followups_visible_to(user: Any) -> QuerySet[FollowUp]:
    prefix = staff_path(user)
    if prefix is None or not user.can(Perm.MANAGE_CARE):
        return FollowUp.objects.none()
    return FollowUp.objects.filter(org_path__startswith=prefix)


def _allowed(request: AuthedRequest) -> None:
    if not request.user.can(Perm.MANAGE_CARE) or staff_path(request.user) is None:
        raise PermissionDenied


def _region(user: Any) -> Any:
    """The fund region whose rule the user keeps: only staff of the region's own union."""
    org = user.organisation
    return org if org is not None and org.is_fund_region else None


@login_required
def care_list(request: AuthedRequest) -> HttpResponse:
    _allowed(request)
    state = request.GET.get("state", "open")
    rows = followups_visible_to(request.user).select_related("member", "county").annotate(
        next_due=Min("tasks__due_on", filter=Q(tasks__done_on__isnull=True)))
    rows = (rows.filter(closed_on__isnull=True) if state == "open"
            else rows.filter(closed_on__isnull=False) if state == "closed" else rows)
    page = paginate(request, rows.order_by("next_due", "id"))
    return render(request, "care/list.html", {
        "page": page, "state": state, "today": clock.today(),
        "region": _region(request.user)})


def _followup(request: AuthedRequest, pk: int) -> FollowUp:
    followup = (followups_visible_to(request.user).select_related("member", "county")
                .filter(pk=pk).first())
    if followup is None:
        raise Http404("没有这条关怀记录")
    return followup


@login_required
def care_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    _allowed(request)
    followup = _followup(request, pk)
    return render(request, "care/detail.html", {
        "f": followup, "tasks": list(followup.tasks.select_related("done_by")),
        "today": clock.today(), "Touch": Touch})


@login_required
@require_POST
def care_task(request: AuthedRequest, pk: int, task_pk: int) -> HttpResponse:
    _allowed(request)
    followup = _followup(request, pk)
    task = CareTask.objects.filter(followup=followup, pk=task_pk).first()
    if task is None:
        raise Http404("没有这项关怀事项")
    amount_fen = None
    try:
        if request.POST.get("amount", "").strip():
            amount_fen = parse_yuan(request.POST["amount"])
        task_record(task=task, actor=request.user, note=request.POST.get("note", ""),
                    amount_fen=amount_fen, consent=request.POST.get("consent") == "yes",
                    skip=request.POST.get("skip") == "yes")
    except MoneyError:
        messages.error(request, f"{task.get_kind_display()}：金额格式不正确（例：500.00）")
    except DomainError as exc:
        messages.error(request, f"{task.get_kind_display()}：{exc}")
    else:
        messages.success(request, f"{task.get_kind_display()}已办结")
    return redirect("care:detail", pk=followup.pk)


@login_required
@require_POST
def care_phone(request: AuthedRequest, pk: int) -> HttpResponse:
    _allowed(request)
    followup = _followup(request, pk)
    phone = phone_for_call(actor=request.user, followup=followup)
    return render(request, "members/partials/revealed.html", {"value": phone, "field": "phone"})


@login_required
def care_rule(request: AuthedRequest) -> HttpResponse:
    _allowed(request)
    region = _region(request.user)
    if region is None:
        raise PermissionDenied
    rule = rule_for(region)
    errors: dict[str, list[str]] = {}
    values = {"enabled": rule.enabled, "min_benefit": format_yuan(rule.min_benefit_fen),
              "diseases": rule.diseases, "working_days": str(rule.working_days)}
    if request.method == "POST":
        values = {"enabled": request.POST.get("enabled") == "on",
                  "min_benefit": request.POST.get("min_benefit", "").strip(),
                  "diseases": request.POST.get("diseases", "").strip(),
                  "working_days": request.POST.get("working_days", "").strip()}
        try:
            fen = parse_yuan(str(values["min_benefit"]))
        except MoneyError:
            errors["min_benefit"] = ["请填写金额，如 50000.00"]
        days = str(values["working_days"])
        if not days.isdigit():
            errors["working_days"] = ["请填写工作日天数（整数）"]
        if not errors:
            try:
                rule_save(fund_region=region, actor=request.user,
                          enabled=bool(values["enabled"]), min_benefit_fen=fen,
                          diseases=str(values["diseases"]), working_days=int(days))
            except DomainError as exc:
                errors = exc.field_errors or {"form": [str(exc)]}
            else:
                messages.success(request, "重病关怀规则已保存，下次检查起按新规则开启关怀")
                return redirect("care:list")
    return render(request, "care/rule.html", {"region": region, "v": values, "errors": errors},
                  status=400 if errors else 200)


@login_required
@require_POST
def care_scan(request: AuthedRequest) -> HttpResponse:
    _allowed(request)
    region = _region(request.user)
    if region is None:
        raise PermissionDenied
    result = followups_scan(fund_region=region, actor=request.user)
    messages.success(request, f"已按规则检查：新开启 {result.opened} 项重病关怀")
    return redirect("care:list")


def due_counts(user: Any, today: datetime.date | None = None) -> tuple[int, int]:
    """(due today, overdue) touches of the user's follow-ups: for the home page."""
    today = today or clock.today()
    tasks = CareTask.objects.filter(followup__in=followups_visible_to(user),
                                    done_on__isnull=True)
    return (tasks.filter(due_on=today).count(), tasks.filter(due_on__lt=today).count())
