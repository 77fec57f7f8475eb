"""Claims from papers (经办录入, :mod:`huzhu.claims.keyed`): the agent's or agency point's
filing page for a member found as for any filing (``file_start``), the county's list of keyed
stays, and a keyed stay's page — the photos, the blind second keying (the first entry never
shown), and, while the entries differ, every entry side by side for a reviewer to key again."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render

from huzhu.accounts.models import User
from huzhu.accounts.roles import Perm
from huzhu.actors import AuthedRequest
from huzhu.audit.services import atomic_events
from huzhu.enrollment.models import Enrollment, EnrollmentStatus
from huzhu.errors import DomainError
from huzhu.members.access import member_get_for_user
from huzhu.payouts.shown import claim_state_label
from huzhu.web.paging import paginate

from .keyed import (
    KeyedInput,
    keyed_check,
    keyed_file,
    keyed_visible_to,
    may_check,
    may_key,
)
from .keyed_match import KEYED_AMOUNTS
from .models import ClaimDocument, DocumentKind, KeyedStatus
from .views_events import _files
from .views_work import MultiFileField, MultiFileInput, document_response

MONEY = {"inputmode": "decimal", "autocomplete": "off", "placeholder": "元"}
ACCEPT = {"accept": "image/jpeg,image/png,application/pdf"}


def _amount_fields() -> dict[str, forms.Field]:
    return {name: forms.CharField(label=f"{label}（元）", required=False, max_length=20,
                                  widget=forms.TextInput(attrs=MONEY))
            for name, label, _required in KEYED_AMOUNTS}


class AmountsForm(forms.Form):
    """The slip's amounts, in yuan as printed (checked by the service, naming the field)."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        for name, f in _amount_fields().items():
            self.fields[name] = f
        for name, _label, required in KEYED_AMOUNTS:
            self.fields[name].widget.attrs["style"] = "max-width:100%"
            if required:
                self.fields[name].label = str(self.fields[name].label) + " *"


class KeyedForm(forms.Form):
    product = forms.ChoiceField(label="申请的保障项目")
    hospital_name = forms.CharField(label="医疗机构名称（结算单上的）", max_length=200)
    hospital_code = forms.CharField(label="定点医疗机构编码（结算单上有的填写）", max_length=30,
                                    required=False)
    mdtrt_id = forms.CharField(label="就诊ID（结算单上有的填写）", max_length=60, required=False)
    hosp_lv = forms.TypedChoiceField(label="医院等级", required=False, coerce=int,
                                     empty_value=None,
                                     choices=[("", "—"), ("1", "一级"), ("2", "二级"), ("3", "三级")])
    begndate = forms.DateField(label="入院日期", widget=forms.DateInput(attrs={"type": "date"}))
    enddate = forms.DateField(label="出院日期", widget=forms.DateInput(attrs={"type": "date"}))
    out_of_region = forms.BooleanField(label="异地就医（在本统筹区以外住院）", required=False)
    place = forms.CharField(label="就医地（异地就医时填写，如“上海市黄浦区”）", max_length=100,
                            required=False)
    diag_name = forms.CharField(label="诊断（结算单或出院小结上的）", max_length=200)
    diag_code = forms.CharField(label="诊断编码（有的填写）", max_length=40, required=False)
    slip = MultiFileField(label="医保结算单照片（复核人对照照片录入；可多张）", required=False,
                          widget=MultiFileInput(attrs=ACCEPT))
    other_files = MultiFileField(label="其他材料（出院小结、发票等，可不传）", required=False,
                                 widget=MultiFileInput(attrs=ACCEPT))

    def __init__(self, *args: Any, products: list[tuple[str, str]], **kwargs: Any):
        super().__init__(*args, **kwargs)
        product = self.fields["product"]
        assert isinstance(product, forms.ChoiceField)
        product.choices = products
        for name, f in _amount_fields().items():
            self.fields[name] = f
        for f in self.fields.values():
            f.widget.attrs.setdefault("style", "max-width:100%")


def _place(form: forms.Form, exc: DomainError) -> None:
    placed = False
    for name, msgs in exc.field_errors.items():
        target = {"product": "product", "files": "slip"}.get(name, name)
        for m in msgs:
            form.add_error(target if target in form.fields else None, m)
            placed = True
    if not placed:
        form.add_error(None, exc.message)


@login_required
def file_keyed(request: AuthedRequest, member_id: int) -> HttpResponse:
    """Key a stay from papers for a member in the agent's or agency point's scope."""
    if not may_key(request.user):
        raise Http404
    member, _ = member_get_for_user(request.user, member_id)
    products: dict[str, str] = {}
    for e in (Enrollment.objects.filter(member=member, status=EnrollmentStatus.ACTIVE)
              .select_related("product_version").order_by("-period__coverage_start")):
        products.setdefault(e.product_version.code, e.product_version.name)
    form = KeyedForm(request.POST or None, request.FILES or None,
                     products=list(products.items()))
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            with atomic_events():
                files = _files(request, "slip", DocumentKind.SETTLEMENT)
                files += _files(request, "other_files", DocumentKind.OTHER)
                k = keyed_file(member=member, actor=request.user, data=KeyedInput(
                    product_code=d["product"], hospital_name=d["hospital_name"],
                    hospital_code=d["hospital_code"], mdtrt_id=d["mdtrt_id"],
                    hosp_lv=d["hosp_lv"], begndate=d["begndate"], enddate=d["enddate"],
                    out_of_region=d["out_of_region"], place=d["place"],
                    diag_name=d["diag_name"], diag_code=d["diag_code"],
                    amounts={name: d.get(name) or "" for name, _l, _r in KEYED_AMOUNTS},
                    files=files))
        except DomainError as exc:
            _place(form, exc)
        else:
            messages.success(request, f"结算单已录入（录入编号 {k.pk}），等待县级工会另一人对照照片复核金额")
            return redirect("claims:keyed_detail", pk=k.pk)
    return render(request, "claims/file_keyed.html", {
        "form": form, "member": member, "products": products})


@login_required
def keyed_list(request: AuthedRequest) -> HttpResponse:
    """Keyed stays in the user's scope; a reviewer sees those waiting for them first."""
    qs = keyed_visible_to(request.user).select_related("member", "keyed_by")
    if not qs.exists() and not (may_key(request.user) or request.user.can(Perm.REVIEW_CLAIMS)):
        raise Http404
    status = request.GET.get("status", "")
    if status in KeyedStatus.values:
        qs = qs.filter(status=status)
    page = paginate(request, qs.order_by("-id"), per_page=50, count=False)
    for k in page.rows:
        k.may_check = (k.status in (KeyedStatus.AWAITING, KeyedStatus.HELD)
                       and may_check(request.user, k))
    return render(request, "claims/keyed_list.html", {
        "page": page, "status": status, "statuses": KeyedStatus.choices})


def _entry_rows(entries: list[dict[str, Any]]) -> tuple[list[str], list[Any]]:
    """Every entry as a column (who, which step) and each amount as a row, a field that
    differs between entries marked: narrow enough for a phone."""
    names = dict(User.objects.filter(pk__in={e["by"] for e in entries})
                 .values_list("pk", "display_name"))
    steps = {"first": "录入", "check": "复核录入", "resolve": "核对后再录入"}
    heads = [f"{steps.get(e['step'], e['step'])}（{names.get(e['by']) or '—'}）" for e in entries]
    rows = []
    for name, label, _r in KEYED_AMOUNTS:
        values = [e["amounts"].get(name, 0) for e in entries]
        rows.append((label, values, len(set(values)) > 1))
    return heads, rows


@login_required
def keyed_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    """A keyed stay: its facts and photos; the blind keying form for a checker; while held,
    every entry for a reviewer to resolve."""
    k = (keyed_visible_to(request.user).select_related("member", "keyed_by", "checked_by",
                                                        "claim", "bureau_settlement")
         .filter(pk=pk).first())
    if k is None:
        raise Http404("录入不存在")
    checking = k.status in (KeyedStatus.AWAITING, KeyedStatus.HELD) and may_check(request.user, k)
    form = AmountsForm(request.POST or None) if checking else None
    if request.method == "POST":
        if form is None:
            raise Http404
        if form.is_valid():
            try:
                k = keyed_check(keyed=k, actor=request.user, amounts={
                    name: form.cleaned_data.get(name) or "" for name, _l, _r in KEYED_AMOUNTS})
            except DomainError as exc:
                _place(form, exc)
            else:
                if k.status == KeyedStatus.ACCEPTED and k.claim is not None:
                    messages.success(request, f"两次录入一致，已受理：理赔 {k.claim_id}，"
                                              f"{claim_state_label(k.claim)}")
                    return redirect("claims:detail", pk=k.claim_id)
                messages.error(request, "两次录入的金额不一致：这笔录入暂停，不会核算，"
                                        "请县级审核人员对照照片核对后再录入")
                return redirect("claims:keyed_detail", pk=k.pk)
    # Blind: while the second keying is awaited nobody but the person who keyed sees the
    # figures; once held, every entry is shown with the fields that differ.
    show = (k.status != KeyedStatus.AWAITING or request.user.pk == k.keyed_by_id)
    heads, rows = _entry_rows(k.entries) if show else ([], [])
    return render(request, "claims/keyed_detail.html", {
        "k": k, "form": form, "heads": heads, "rows": rows,
        "documents": k.documents.order_by("id"),
        "may_key_again": checking and k.status == KeyedStatus.HELD})


@login_required
def keyed_document(request: AuthedRequest, pk: int, doc_id: int) -> HttpResponse:
    k = keyed_visible_to(request.user).filter(pk=pk).first()
    doc = ClaimDocument.objects.filter(pk=doc_id, keyed=k).first() if k else None
    if doc is None:
        raise Http404
    return document_response(doc, request.user)

