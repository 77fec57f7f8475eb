"""The filing page of claims without a settlement (重大疾病, 女职工特殊疾病, 继续治疗, 意外伤残,
身故抚恤金, 配偶或子女患病): a member files their own, an agent or a county agency point files
for a member found by ID number (``file_start``). One form; the fields a kind does not use are
left alone, and bad input is named by field (:mod:`huzhu.claims.events`)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render

from huzhu.actors import AuthedRequest
from huzhu.audit.services import atomic_events
from huzhu.enrollment.models import Enrollment, EnrollmentStatus
from huzhu.errors import DomainError
from huzhu.members.access import member_get_for_user
from huzhu.payouts.shown import claim_state_label
from huzhu.web.forms import bank_choices, bank_field

from .events import REQUIRED_DOCUMENT, EventInput, claim_file_event, diseases_of, kinds_of
from .models import ClaimKind, DocumentKind, Relation
from .views_work import MAX_BYTES, MultiFileField, MultiFileInput, _may_file, _source_of

PHONE = {"inputmode": "numeric", "autocomplete": "off"}


class EventForm(forms.Form):
    what = forms.ChoiceField(label="申请的保障项目")
    event_date = forms.DateField(label="事件日期（确诊、出险或身故日期）",
                                 widget=forms.DateInput(attrs={"type": "date"}))
    disease = forms.ChoiceField(label="所患疾病（按产品病种目录）", required=False)
    disability_grade = forms.TypedChoiceField(
        label="伤残等级（以鉴定书为准）", required=False, coerce=int, empty_value=None,
        choices=[("", "—")] + [(str(n), f"{n} 级") for n in range(1, 11)])
    during_stay = forms.BooleanField(label="意外发生在住院期间", required=False)
    relation = forms.ChoiceField(label="与会员的关系（家属患病、受益人）", required=False,
                                 choices=[("", "—"), *Relation.choices])
    person_name = forms.CharField(label="家属或受益人姓名", max_length=60, required=False)
    person_id_number = forms.CharField(label="家属或受益人身份证号", max_length=20,
                                       required=False, widget=forms.TextInput(attrs=PHONE))
    person_phone = forms.CharField(label="受益人手机号（身故）", max_length=20, required=False,
                                   widget=forms.TextInput(attrs=PHONE))
    payee_card = forms.CharField(label="受益人银行卡号（身故）", max_length=30, required=False,
                                 widget=forms.TextInput(attrs=PHONE))
    payee_bank = bank_field("受益人开户行（身故）")
    files = MultiFileField(
        label="证明材料（病理报告、伤残鉴定书或死亡证明；照片或 PDF，可多选）", required=False,
        widget=MultiFileInput(attrs={"accept": "image/jpeg,image/png,application/pdf"})
    )  # type: ignore[assignment]  # a declared field (see views_work.DocumentsForm)
    other_files = MultiFileField(
        label="其他材料（关系证明等，可不传）", required=False,
        widget=MultiFileInput(attrs={"accept": "image/jpeg,image/png,application/pdf"})
    )

    def __init__(self, *args: Any, whats: list[tuple[str, str]],
                 diseases: list[tuple[str, str]], **kwargs: Any):
        super().__init__(*args, **kwargs)
        bank_choices(self, "payee_bank")
        what, disease = self.fields["what"], self.fields["disease"]
        assert isinstance(what, forms.ChoiceField) and isinstance(disease, forms.ChoiceField)
        what.choices = whats
        disease.choices = [("", "—"), *diseases]
        for f in self.fields.values():
            f.widget.attrs.setdefault("style", "max-width:100%")


def _offered(member_id: int) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The (product|kind) choices the member's active enrollments offer, and the diseases
    their lists hold."""
    whats: list[tuple[str, str]] = []
    diseases: dict[str, str] = {}
    seen: set[str] = set()
    for e in (Enrollment.objects.filter(member_id=member_id, status=EnrollmentStatus.ACTIVE)
              .select_related("product_version").order_by("-period__coverage_start")):
        v = e.product_version
        if v.code in seen:
            continue
        seen.add(v.code)
        for kind in kinds_of(v):
            whats.append((f"{v.code}|{kind}", f"{v.name} · {ClaimKind(kind).label}"))
            if kind in (ClaimKind.DIAGNOSIS, ClaimKind.FAMILY):
                subject = "spouse" if kind == ClaimKind.FAMILY else "member"
                diseases.update(diseases_of(v, kind, subject))
    return whats, sorted(diseases.items(), key=lambda kv: kv[0])


def _files(request: AuthedRequest, name: str, kind: str) -> list[tuple[str, str, bytes]]:
    out = []
    for f in request.FILES.getlist(name):
        fname = f.name or ""
        if (f.size or 0) > MAX_BYTES:
            raise DomainError(f"“{fname[:60]}”超过 10 MB 上限",
                              field_errors={name: [f"“{fname[:60]}”超过 10 MB 上限"]})
        out.append((kind, fname, f.read()))
    return out


@login_required
def file_event(request: AuthedRequest, member_id: int) -> HttpResponse:
    """File a claim without a settlement for a member (the member themself, an agent or an
    agency point)."""
    if not _may_file(request.user):
        raise Http404
    member, _ = member_get_for_user(request.user, member_id)
    whats, diseases = _offered(member.pk)
    form = EventForm(request.POST or None, request.FILES or None, whats=whats,
                     diseases=diseases)
    if request.method == "POST" and form.is_valid():
        code, kind = form.cleaned_data["what"].split("|", 1)
        d = form.cleaned_data
        try:
            with atomic_events():
                files = _files(request, "files", REQUIRED_DOCUMENT[kind])
                files += _files(request, "other_files", DocumentKind.OTHER)
                claim = claim_file_event(member=member, actor=request.user,
                                         source=_source_of(request.user), data=EventInput(
                    kind=kind, product_code=code, event_date=d["event_date"],
                    disease=d["disease"], disability_grade=d["disability_grade"],
                    during_stay=d["during_stay"], relation=d["relation"],
                    person_name=d["person_name"], person_id_number=d["person_id_number"],
                    person_phone=d["person_phone"], payee_card=d["payee_card"],
                    payee_bank_cnaps=d["payee_bank"], files=files))
        except DomainError as exc:
            placed = False
            for field, msgs in exc.field_errors.items():
                target = {"product": "what", "kind": "what"}.get(field, field)
                for m in msgs:
                    form.add_error(target if target in form.fields else None, m)
                    placed = True
            if not placed:
                form.add_error(None, exc.message)
        else:
            claim.refresh_from_db()
            messages.success(request, f"理赔 {claim.pk} 已提交：{claim_state_label(claim)}")
            return redirect("claims:detail", pk=claim.pk)
    return render(request, "claims/file_event.html", {
        "form": form, "member": member, "whats": whats})


class PayeeCardForm(forms.Form):
    payee_card = forms.CharField(label="受益人新银行卡号", max_length=30,
                                 widget=forms.TextInput(attrs=PHONE))
    payee_bank = forms.CharField(label="开户行", max_length=12)  # a bank-list 联行号
    confirm_luhn = forms.BooleanField(label="卡号未通过校验，已与受益人核对无误", required=False)


@login_required
def payee_card(request: AuthedRequest, pk: int) -> HttpResponse:
    """更正受益人银行卡 (the claim page's form posts here; :mod:`huzhu.claims.payee`)."""
    from .access import claim_get_for_user
    from .payee import payee_card_correct

    if request.method != "POST":
        return redirect("claims:detail", pk=pk)
    claim = claim_get_for_user(request.user, pk)  # 404 outside the user's scope
    form = PayeeCardForm(request.POST)
    if not form.is_valid():
        messages.error(request, "更正受益人银行卡：请填写新银行卡号并从银行名录中选择开户行")
        return redirect("claims:detail", pk=pk)
    try:
        requeued = payee_card_correct(
            claim=claim, actor=request.user, card=form.cleaned_data["payee_card"],
            bank_cnaps=form.cleaned_data["payee_bank"],
            confirm_luhn=form.cleaned_data["confirm_luhn"])
    except DomainError as exc:
        messages.error(request, f"更正受益人银行卡未成功：{exc.message}")
        return redirect("claims:detail", pk=pk)
    messages.success(request, "受益人银行卡已更正" + (
        "，支付失败的互助金已重新安排支付" if requeued else ""))
    return redirect("claims:detail", pk=pk)
