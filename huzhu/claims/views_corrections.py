"""Rule-correction pages: the decision on a claim's page, the list of corrections awaiting a
decision and of open recoveries, and finance's recovery steps. Scope as every claim page:
outside the user's data scope is 404."""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from huzhu.accounts.roles import Perm
from huzhu.actors import AuthedRequest
from huzhu.errors import DomainError

from .access import claim_get_for_user, claims_visible_to
from .corrections import (
    correction_decide,
    corrections_pending,
    recovery_received,
    recovery_write_off_approve,
    recovery_write_off_propose,
)
from .models import OPEN_RECOVERY, Claim, CorrectionKind, Recovery


def correction_context(user: Any, claim: Claim) -> dict[str, Any]:
    """The claim page's correction card: the pending correction (old, new, difference, what
    may be decided) and the decisions so far."""
    pending = corrections_pending(Claim.objects.filter(pk=claim.pk)).first()
    ctx: dict[str, Any] = {"corrections": claim.corrections.select_related("decided_by")
                           .order_by("id"), "correction": None}
    if pending is not None:
        diff = pending.payable_fen - claim.payable_fen
        kinds = [CorrectionKind.TOP_UP if diff > 0 else CorrectionKind.RECOVERY,
                 CorrectionKind.NO_CHANGE] if diff else [CorrectionKind.NO_CHANGE]
        ctx["correction"] = {"a": pending, "was": claim.payable_fen, "new": pending.payable_fen,
                             "diff": diff, "kinds": [(k, CorrectionKind(k).label) for k in kinds],
                             "may_decide": user.can(Perm.REVIEW_CLAIMS)}
    return ctx


@login_required
@require_POST
def decide(request: AuthedRequest, pk: int, assessment_id: int) -> HttpResponse:
    claim = claim_get_for_user(request.user, pk)
    if not request.user.can(Perm.REVIEW_CLAIMS):
        raise PermissionDenied
    a = corrections_pending(Claim.objects.filter(pk=claim.pk)).filter(pk=assessment_id).first()
    if a is None:
        messages.error(request, "该理赔没有待处理的规则更正（可能已经处理）")
        return redirect("claims:detail", pk=pk)
    try:
        d = correction_decide(claim=claim, assessment=a, actor=request.user,
                              kind=request.POST.get("kind", ""),
                              reason=request.POST.get("reason", ""))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        note = "（受本期给付上限限制，已按可补发金额补发）" if d.limited else ""
        messages.success(request, f"规则更正已处理：{d.get_kind_display()} "
                                  f"{d.amount_fen // 100:,}.{d.amount_fen % 100:02d} 元{note}")
    return redirect("claims:detail", pk=pk)


def _may_list(user: Any) -> bool:
    return user.can(Perm.REVIEW_CLAIMS) or user.can(Perm.MANAGE_PAYOUTS)


@login_required
def corrections(request: AuthedRequest) -> HttpResponse:
    if not _may_list(request.user):
        raise Http404
    visible = claims_visible_to(request.user)
    pending = (corrections_pending(visible).select_related("claim__member", "claim__product_version")
               .order_by("id")[:200])
    recoveries = (Recovery.objects.filter(claim__in=visible, status__in=OPEN_RECOVERY)
                  .select_related("claim__member", "proposed_by").order_by("id")[:200])
    return render(request, "claims/corrections.html", {
        "pending": pending, "recoveries": recoveries,
        "may_finance": request.user.can(Perm.MANAGE_PAYOUTS), "user_id": request.user.pk})


def _recovery_for(user: Any, pk: int) -> Recovery:
    r = Recovery.objects.filter(pk=pk, claim__in=claims_visible_to(user)).first()
    if r is None:
        raise Http404("追回记录不存在")
    if not user.can(Perm.MANAGE_PAYOUTS):
        raise PermissionDenied
    return r


@login_required
@require_POST
def recovery_act(request: AuthedRequest, pk: int, step: str) -> HttpResponse:
    r = _recovery_for(request.user, pk)
    try:
        if step == "received":
            try:
                on = datetime.date.fromisoformat(request.POST.get("received_on", ""))
            except ValueError as exc:
                raise DomainError("请填写到账日期（YYYY-MM-DD）") from exc
            recovery_received(recovery=r, actor=request.user, received_on=on,
                              bank_ref=request.POST.get("bank_ref", ""))
        elif step == "propose":
            recovery_write_off_propose(recovery=r, actor=request.user,
                                       reason=request.POST.get("reason", ""))
        elif step == "approve":
            recovery_write_off_approve(recovery=r, actor=request.user)
        else:
            raise Http404
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"追回 {r.pk} 已办理")
    return redirect("claims:corrections")
