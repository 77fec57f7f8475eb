"""Claim pages: matching the unmatched settlements again (and deciding them; the queue is
:mod:`huzhu.settlements.views`), the claim list and a claim's page."""

from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from huzhu.accounts.roles import Perm, Role
from huzhu.actors import AuthedRequest
from huzhu.payouts.shown import ClaimState, claims_shown
from huzhu.settlements.access import may_match, unmatched_visible_to
from huzhu.web.paging import paginate

from .access import claim_get_for_user, claims_visible_to
from .ingest import settlement_match_retry
from .models import ClaimEvent, ClaimSource, KeyedStay
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
    filtered in the database by state, dates, product, organisation, level, source and name
    (huzhu/claims/search.py)."""
    from huzhu.organisations.access import organisations_visible_to

    from .search import claim_search, product_choices

    qs, filters = claim_search(request.user, request.GET)
    qs = qs.select_related("member", "product_version")
    page = paginate(request, qs.order_by("-id"), per_page=50, count=False)
    staff = request.user.role not in (Role.MEMBER, Role.AGENT)
    return render(request, "claims/list.html", {
        "page": page, "f": filters.values, "errors": filters.errors, "query": filters.query(),
        "statuses": ClaimState.choices, "sources": ClaimSource.choices,
        "products": product_choices(request.user),
        "orgs": organisations_visible_to(request.user).order_by("path")[:300] if staff else [],
        "can_export": request.user.role != Role.MEMBER})


@login_required
@require_POST
def claim_find(request: AuthedRequest) -> HttpResponse:
    """Find a member's claims by full ID number: posted, so the number never enters a URL or
    an access log; the list is then filtered by the member's record number."""
    from huzhu.members.access import members_visible_to
    from huzhu.members.services import member_find_by_id_number

    number = request.POST.get("id_number", "").strip()
    member = member_find_by_id_number(members_visible_to(request.user), number) if number else None
    if member is None:
        messages.error(request, "身份证号：在您的管理范围内没有找到该会员")
        return redirect("claims:list")
    return redirect(f"{reverse('claims:list')}?member={member.pk}")


@login_required
def claim_export(request: AuthedRequest) -> HttpResponse:
    """The filtered claims as xlsx (names and ID numbers masked as on the list); an event."""
    import io

    from huzhu.audit.models import Action
    from huzhu.audit.services import event_record
    from huzhu.members.selectors import full_names_for
    from huzhu.payouts.shown import claim_state_label
    from huzhu.pii.masking import mask_id_number, mask_name
    from huzhu.sheets import Sheet, watermark, workbook

    from .risk import ZH as RISK_ZH
    from .search import claim_search

    if request.user.role == Role.MEMBER:
        raise PermissionDenied
    qs, filters = claim_search(request.user, request.GET)
    qs = qs.select_related("member", "product_version").order_by("-id")
    full = full_names_for(request.user)
    buffer = io.BytesIO()
    book = workbook(buffer)
    sheet = Sheet(book, "理赔")
    sheet.row(0, 0, ["理赔编号", "会员", "身份证号（脱敏）", "保障产品", "事件日期", "来源", "状态",
                     "核定给付（元）", "审核级次", "风险提示"], book.add_format({"bold": True}))
    money = book.add_format({"num_format": "#,##0.00"})
    rows = 0
    for rows, c in enumerate(qs[:EXPORT_LIMIT].iterator(chunk_size=2000), start=1):
        sheet.row(rows, 0, [
            c.pk, c.member.name if full else mask_name(c.member.name),
            mask_id_number(c.member.id_number), c.product_version.name, c.event_date,
            c.get_source_display(), claim_state_label(c)])
        sheet.cell(rows, 7, Decimal(c.payable_fen) / 100, money)
        sheet.row(rows, 8, [f"第 {c.review_level} 级" if c.review_level else "",
                            "、".join(RISK_ZH.get(r.get("code", ""), "其他风险提示")
                                     for r in c.risk)])
    sheet.cell(rows + 2, 0, watermark(request.user))
    book.close()
    event_record(action=Action.EXPORT, actor=request.user, object_type="claims.claim",
                 after={"rows": rows, "filters": {k: v for k, v in filters.values.items()
                                                  if v and k != "q"}})
    response = HttpResponse(
        buffer.getvalue(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = "attachment; filename=claims.xlsx"
    return response


EXPORT_LIMIT = 100_000


def _bank_options(can_fix_payee: bool, ev: ClaimEvent | None) -> list[tuple[str, str]]:
    """The bank list for the 更正受益人银行卡 form (only where that form is shown)."""
    if not (can_fix_payee and ev is not None and ev.pays_person):
        return []
    from huzhu.payouts import banklist

    return banklist.choices()


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
    from .policies import stamp_words
    from .views_corrections import correction_context
    from .views_work import review_context

    story = None
    if request.user.role == "member":
        from .story import claim_story

        story = claim_story(claim)
    ev = ClaimEvent.objects.filter(claim=claim).first()
    can_fix_payee = request.user.can(Perm.FILE_CLAIMS) and request.user.role != "member"
    return render(request, "claims/detail.html", {
        "story": story,
        "claim": claim, "s": claim.settlement, "a": a,
        "ev": ev, "lines": lines, "others": others,
        "keyed": (KeyedStay.objects.filter(claim=claim).first()
                  if request.user.role != "member" else None),
        "history": history, "risk_zh": ZH,
        "can_fix_payee": can_fix_payee,
        "bank_options": _bank_options(can_fix_payee, ev),
        "stopped_by": [REASONS_ZH.get(c, c) for c in (a.reasons if a else [])],
        **review_context(request.user, claim),
        **correction_context(request.user, claim),
        "filed_under": stamp_words(claim.policy),
    })
