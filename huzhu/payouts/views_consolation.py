"""Consolation payments (慰问金) for staff: propose one for a member found by ID number, and
approve or refuse those others proposed (:mod:`huzhu.payouts.consolation`)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from huzhu.accounts.roles import Perm
from huzhu.actors import AuthedRequest
from huzhu.claims.models import Consolation, ConsolationStatus
from huzhu.errors import DomainError
from huzhu.members.access import members_visible_to
from huzhu.organisations.models import OrgKind
from huzhu.pii.crypto import blind_indexes
from huzhu.pii.identifiers import IdentifierError, check_resident_id
from huzhu.rules.money import MoneyError, parse_yuan
from huzhu.web.paging import paginate

from .consolation import LIMITS_FEN, consolation_decide, consolation_propose, limit_of


class ProposeForm(forms.Form):
    id_number = forms.CharField(label="会员身份证号", max_length=20)
    amount = forms.CharField(label="慰问金金额（元）", max_length=12)
    reason = forms.CharField(label="慰问事由", max_length=300, widget=forms.Textarea(
        attrs={"rows": 2}))


def _need(request: AuthedRequest) -> None:
    if not request.user.can(Perm.CONSOLATION):
        raise Http404


@login_required
def consolations(request: AuthedRequest) -> HttpResponse:
    """The consolations of the user's scope, and the form to propose one."""
    _need(request)
    user = request.user
    form = ProposeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        member = None
        try:
            rid = check_resident_id(form.cleaned_data["id_number"])
        except IdentifierError as exc:
            form.add_error("id_number", str(exc))
        else:
            member = members_visible_to(user).filter(
                id_number_bidx__in=blind_indexes(rid.number, field="id_number")).first()
            if member is None:
                form.add_error("id_number", "在您的管理范围内没有这位会员")
        try:
            fen = parse_yuan(form.cleaned_data["amount"].strip())
        except (MoneyError, ValueError):
            form.add_error("amount", "金额格式不正确，例如 800 或 800.00")
            fen = None
        if member is not None and fen is not None:
            try:
                row = consolation_propose(member=member, amount_fen=fen,
                                          reason=form.cleaned_data["reason"], actor=user)
            except DomainError as exc:  # NotAllowed included
                placed = False
                for field, msgs in exc.field_errors.items():
                    for m in msgs:
                        form.add_error(field if field in form.fields else None, m)
                        placed = True
                if not placed:
                    form.add_error(None, exc.message)
            else:
                messages.success(request, f"慰问金 {row.pk} 已提出，待另一人审批")
                return redirect("payouts:consolations")
    org = user.organisation
    qs = (Consolation.objects.filter(org_path__startswith=org.path if org else "/none/")
          .select_related("member", "proposed_by", "decided_by").order_by("-id"))
    return render(request, "payouts/consolations.html", {
        "form": form, "page": paginate(request, qs, per_page=30, count=False),
        "limit": limit_of(user), "limits": [(OrgKind(k).label, fen) for k, fen in LIMITS_FEN.items()],
        "proposed": ConsolationStatus.PROPOSED})


@login_required
@require_POST
def consolation_act(request: AuthedRequest, pk: int) -> HttpResponse:
    _need(request)
    org = request.user.organisation
    row = Consolation.objects.filter(pk=pk, org_path__startswith=org.path if org else "/none/"
                                     ).first()
    if row is None:
        raise Http404
    approve = request.POST.get("decision") == "approve"
    try:
        consolation_decide(consolation=row, approve=approve, actor=request.user,
                           note=request.POST.get("note", ""))
    except DomainError as exc:  # NotAllowed included
        messages.error(request, f"慰问金 {row.pk}：{exc.message}")
    else:
        messages.success(request, f"慰问金 {row.pk} 已" + ("批准，进入待支付" if approve
                                                         else "不予批准"))
    return redirect("payouts:consolations")
