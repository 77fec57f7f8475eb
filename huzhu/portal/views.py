"""The member portal (phone first): 我的保障, 银行卡, 我的收据, 消息, 常见问题 and the answering
robot. 我的理赔 and 申请理赔 are the claims app's member pages (claims:mine, claims:file_*),
which these link to."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render

from huzhu.actors import AuthedRequest
from huzhu.enrollment.models import Enrollment, EnrollmentStatus, Payment
from huzhu.errors import DomainError
from huzhu.ledger.models import PayerKind
from huzhu.pii.masking import mask_bank_card, mask_phone
from huzhu.web.forms import bank_choices, bank_field

from .access import member_of
from .card import CODE_TTL, card_change_confirm, card_change_start, card_code_pending
from .cover import member_covers, yuan
from .models import KnowledgeEntry, Ticket, Topic
from .services import member_messages, robot_ask


@login_required
def home(request: AuthedRequest) -> HttpResponse:
    """我的保障."""
    member = member_of(request.user)
    return render(request, "portal/home.html", {
        "member": member, "covers": member_covers(member),
        "card": mask_bank_card(member.bank_card or ""),
        "phone": mask_phone(member.phone or "")})


class CardForm(forms.Form):
    bank_card = forms.CharField(label="新银行卡号", max_length=30, widget=forms.TextInput(
        attrs={"inputmode": "numeric", "autocomplete": "off"}))
    bank_cnaps = bank_field("新卡开户行")

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        bank_choices(self)


class CodeForm(forms.Form):
    code = forms.CharField(label="短信验证码", max_length=6, min_length=6, widget=forms.TextInput(
        attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}))


def _place(form: forms.Form, exc: DomainError) -> None:
    placed = False
    for field, msgs in exc.field_errors.items():
        for m in msgs:
            if field in form.fields:
                form.add_error(field, m)
                placed = True
    if not placed:
        form.add_error(None, exc.message)


@login_required
def card(request: AuthedRequest) -> HttpResponse:
    """银行卡: a new card, then the code sent to the phone on record."""
    member = member_of(request.user)
    card_form, code_form = CardForm(), CodeForm()
    if request.method == "POST" and request.POST.get("step") == "send":
        card_form = CardForm(request.POST)
        if card_form.is_valid():
            try:
                card_change_start(actor=request.user, member=member,
                                  bank_card=card_form.cleaned_data["bank_card"],
                                  bank_cnaps=card_form.cleaned_data["bank_cnaps"],
                                  bank_required=True)
            except DomainError as exc:
                _place(card_form, exc)
            else:
                messages.success(request, f"验证码已发送到 {mask_phone(member.phone or '')}，"
                                          f"{int(CODE_TTL.total_seconds() // 60)} 分钟内有效")
                return redirect("portal:card")
    elif request.method == "POST" and request.POST.get("step") == "confirm":
        code_form = CodeForm(request.POST)
        pending = card_code_pending(member)
        if pending is None:
            messages.error(request, "验证码已失效，请重新获取")
            return redirect("portal:card")
        if code_form.is_valid():
            try:
                card_change_confirm(actor=request.user, member=member, change_id=pending.pk,
                                    code=code_form.cleaned_data["code"])
            except DomainError as exc:
                _place(code_form, exc)
            else:
                messages.success(request, "银行卡已更换，以后的互助金将支付到新卡")
                return redirect("portal:card")
    member.refresh_from_db()
    pending = card_code_pending(member)
    return render(request, "portal/card.html", {
        "member": member, "card": mask_bank_card(member.bank_card or ""),
        "phone": mask_phone(member.phone or ""), "card_form": card_form,
        "code_form": code_form, "pending": pending,
        "pending_card": mask_bank_card(pending.bank_card) if pending else ""})


@login_required
def receipts(request: AuthedRequest) -> HttpResponse:
    """我的收据. A unit's receipt is the unit's (it lists every member's premium in one sum):
    a member sees the line for themself — product, shares, premium and who paid which part —
    with the unit's payment (date, receipt number) that covered it. An individual enrollment's
    receipt is the member's own, downloadable."""
    member = member_of(request.user)
    rows = (Enrollment.objects.filter(member=member, status__in=[EnrollmentStatus.ACTIVE,
                                                                 EnrollmentStatus.PENDING])
            .select_related("period", "product_version", "invoice", "invoice__unit")
            .order_by("-period__coverage_start", "id"))
    lines: list[dict[str, Any]] = []
    invoice_ids = {e.invoice_id for e in rows if e.invoice_id}
    payments: dict[int, list[Payment]] = {}
    for p in Payment.objects.filter(invoice_id__in=invoice_ids).order_by("paid_on", "id"):
        payments.setdefault(p.invoice_id, []).append(p)
    for e in rows:
        own = e.invoice is not None and e.invoice.member_id == member.pk
        lines.append({
            "product": e.product_version.name, "period": e.period.name, "shares": e.shares,
            "premium": yuan(e.premium_fen), "gifted": e.gifted, "own": own,
            "parts": [(PayerKind(p["payer"]).label, yuan(p["fen"])) for p in e.split
                      if p.get("fen")],
            "payer": (e.invoice.unit.name if e.invoice and e.invoice.unit else "本人"),
            "payments": payments.get(e.invoice_id or 0, []),
            "status": e.get_status_display()})
    return render(request, "portal/receipts.html", {"lines": lines})


@login_required
def inbox(request: AuthedRequest) -> HttpResponse:
    """消息: the SMS sent to the member, and their questions to staff with the replies."""
    member = member_of(request.user)
    tickets = Ticket.objects.filter(member=member).order_by("-id")[:20]
    return render(request, "portal/messages.html", {"sms": member_messages(member),
                                                    "tickets": tickets})


@login_required
def faq(request: AuthedRequest) -> HttpResponse:
    member_of(request.user)
    groups: dict[str, list[KnowledgeEntry]] = {}
    for e in KnowledgeEntry.objects.filter(active=True).order_by("id"):
        groups.setdefault(e.topic, []).append(e)
    return render(request, "portal/faq.html", {
        "groups": [(label, groups[key]) for key, label in Topic.choices if key in groups]})


class AskForm(forms.Form):
    question = forms.CharField(label="您的问题", max_length=300, widget=forms.TextInput(
        attrs={"placeholder": "例如：住院了怎么申请？", "autocomplete": "off"}))


@login_required
def ask(request: AuthedRequest) -> HttpResponse:
    """在线问答: the robot, 7×24."""
    member_of(request.user)
    form, reply = AskForm(request.POST or None), None
    if request.method == "POST" and form.is_valid():
        try:
            reply = robot_ask(user=request.user, question=form.cleaned_data["question"])
        except DomainError as exc:
            _place(form, exc)
    return render(request, "portal/ask.html", {"form": form, "reply": reply})
