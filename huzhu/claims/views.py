"""Claim pages: matching the unmatched settlements again (and deciding them; the queue is
:mod:`huzhu.settlements.views`), the claim list and a claim's page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from huzhu.actors import AuthedRequest
from huzhu.payouts.shown import ClaimState, claims_in_state, claims_shown
from huzhu.settlements.access import may_match, unmatched_visible_to
from huzhu.web.paging import paginate

from .access import claim_get_for_user, claims_visible_to
from .ingest import settlement_match_retry
from .models import ClaimEvent
from .risk import REASONS_ZH, ZH


@login_required
@require_POST
def unmatched_retry(request: AuthedRequest) -> HttpResponse:
    if not may_match(request.user):
        raise PermissionDenied
    count = settlement_match_retry(settlements=unmatched_visible_to(request.user),
                                   actor=request.user)
    messages.success(request, f"重新匹配完成：{count} 条结算记录已找到会员。")
    return redirect("claims:unmatched")


@login_required
def claim_list(request: AuthedRequest) -> HttpResponse:
    """Claims in scope, each with the state a person sees (an approved claim: its payment's),
    filtered by that state in the database (``?status=paid`` …)."""
    qs = claims_shown(claims_visible_to(request.user)).select_related("member", "product_version")
    status = request.GET.get("status", "")
    if status in ClaimState.values:
        qs = claims_in_state(qs, status)
    page = paginate(request, qs.order_by("-id"), per_page=50, count=False)
    return render(request, "claims/list.html", {
        "page": page, "status": status, "statuses": ClaimState.choices})


@login_required
def claim_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    claim = claim_get_for_user(request.user, pk)
    others = claims_shown(claims_visible_to(request.user)).filter(member_id=claim.member_id)
    others = (others.filter(period_id=claim.period_id) if claim.period_id is not None
              else others.filter(period__isnull=True))
    others = others.exclude(pk=claim.pk).select_related("product_version").order_by("event_date")
    a = claim.assessment
    lines = [{**ln, "reasons_zh": [REASONS_ZH.get(r["code"], r["code"]) for r in ln["reasons"]]}
             for ln in (a.lines if a else [])]
    history = claim.assessments.select_related("settlement").order_by("-id")
    from .views_corrections import correction_context
    from .views_work import review_context

    return render(request, "claims/detail.html", {
        "claim": claim, "s": claim.settlement, "a": a,
        "ev": ClaimEvent.objects.filter(claim=claim).first(), "lines": lines, "others": others,
        "history": history, "risk_zh": ZH,
        "stopped_by": [REASONS_ZH.get(c, c) for c in (a.reasons if a else [])],
        **review_context(request.user, claim),
        **correction_context(request.user, claim),
    })
