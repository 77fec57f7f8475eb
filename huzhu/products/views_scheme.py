"""The scheme year's pages (docs/adr/0021): periods, offers and premiums with a bill preview,
targets handed down the tree with completion, and the units not yet enrolled (export, SMS)."""

from __future__ import annotations

import io
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from huzhu import clock
from huzhu.accounts.roles import Perm
from huzhu.actors import AuthedRequest
from huzhu.errors import DomainError
from huzhu.organisations.models import Organisation, Unit

from .models import Offer, PayerKind, Period, ProductVersion
from .scheme import (
    GIFT_LABELS,
    OfferInput,
    PeriodInput,
    bill_preview,
    offer_save,
    period_close,
    period_create,
    period_next_defaults,
    split_text,
    target_rows,
    targets_set,
    units_not_enrolled,
    units_remind,
    yuan_to_fen,
)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _place(request: AuthedRequest) -> Organisation:
    user = request.user
    if not user.can(Perm.MANAGE_SCHEME) or user.organisation is None:
        raise PermissionDenied("您的角色无权设置保障期、产品和参保任务")
    return user.organisation


def _periods(place: Organisation) -> Any:
    region_id = place.fund_region_id or place.pk
    return Period.objects.filter(fund_region_id=region_id).order_by("-coverage_start")


def _period(place: Organisation, pk: Any) -> Period:
    period = _periods(place).filter(pk=pk).first() if str(pk).isdigit() else None
    if period is None:
        raise Http404("保障期不存在")
    return period


def _errors_to_form(form: forms.Form, exc: DomainError) -> None:
    for field, msgs in exc.field_errors.items():
        for msg in msgs:
            form.add_error(field if field in form.fields else None, msg)
    if not exc.field_errors:
        form.add_error(None, exc.message)


# Periods.

_DATE = forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"})


class PeriodForm(forms.Form):
    code = forms.CharField(label="期号", max_length=20)
    name = forms.CharField(label="名称", max_length=100)
    enroll_opens = forms.DateField(label="参保开始日期", widget=_DATE)
    enroll_closes = forms.DateField(label="参保截止日期", widget=_DATE)
    coverage_start = forms.DateField(label="保障开始日期", widget=_DATE)
    coverage_end = forms.DateField(label="保障结束日期", widget=_DATE)
    renew_offers = forms.BooleanField(label="沿用上一期的全部产品、保费和分担规则", required=False,
                                      initial=True)


@login_required
def period_list(request: AuthedRequest) -> HttpResponse:
    place = _place(request)
    today = clock.today()
    rows = [{"period": p, "open": p.enroll_opens <= today <= p.enroll_closes,
             "days_left": (p.enroll_closes - today).days, "offers": p.offers.count()}
            for p in _periods(place)]
    return render(request, "products/periods.html", {
        "rows": rows, "place": place, "may_create": place.is_fund_region})


@login_required
def period_new(request: AuthedRequest) -> HttpResponse:
    place = _place(request)
    if not place.is_fund_region:
        raise PermissionDenied("保障期由统筹区工会设置，您所在的组织不是统筹区")
    defaults = period_next_defaults(place)
    form = PeriodForm(request.POST or None, initial=defaults)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            period = period_create(actor=request.user, renew_offers=d["renew_offers"],
                                   data=PeriodInput(**{k: d[k] for k in (
                                       "code", "name", "enroll_opens", "enroll_closes",
                                       "coverage_start", "coverage_end")}))
        except DomainError as exc:
            _errors_to_form(form, exc)
        else:
            messages.success(request, f"已设立“{period.name}”，共 {period.offers.count()} 项产品")
            return redirect("scheme:period", pk=period.pk)
    return render(request, "products/period_new.html", {
        "form": form, "renew_from": defaults["renew_from"]})


@login_required
@require_POST
def period_close_view(request: AuthedRequest, pk: int) -> HttpResponse:
    place = _place(request)
    period = _period(place, pk)
    try:
        period_close(actor=request.user, period=period)
    except DomainError as exc:
        messages.error(request, f"未关闭：{exc.message}")
    else:
        messages.success(request, f"“{period.name}”的参保已截止于 {period.enroll_closes}")
    return redirect("scheme:period", pk=period.pk)


# Offers.

class OfferForm(forms.Form):
    organisation = forms.TypedChoiceField(label="提供产品的组织", coerce=int)
    product_version = forms.TypedChoiceField(label="产品版本", coerce=int)
    premium_yuan = forms.CharField(label="每份保费（元）", max_length=12)
    rest_payer = forms.ChoiceField(label="承担其余部分的出资方", choices=PayerKind.choices,
                                   initial=PayerKind.MEMBER)
    gift_flags = forms.MultipleChoiceField(
        label="赠送参保对象（保费全部由赠送出资方承担）", required=False,
        choices=list(GIFT_LABELS.items()), widget=forms.CheckboxSelectMultiple)
    gift_payer = forms.ChoiceField(label="赠送出资方", choices=PayerKind.choices,
                                   initial=PayerKind.UNION_PROVINCE)

    def __init__(self, *args: Any, orgs: Any = (), versions: Any = (), **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].choices = [  # type: ignore[attr-defined]
            (o.pk, f"{'　' * o.depth}{o.name}") for o in orgs]
        self.fields["product_version"].choices = [  # type: ignore[attr-defined]
            (v.pk, str(v)) for v in versions]
        for kind, label in PayerKind.choices:
            self.fields[f"fixed_{kind}"] = forms.CharField(
                label=f"{label}每份固定承担（元）", required=False, max_length=12)

    def split(self) -> list[dict[str, Any]]:
        """The payer rule typed: fixed parts, then the rest payer; a bad amount names its
        field."""
        parts: list[dict[str, Any]] = []
        rest = self.cleaned_data["rest_payer"]
        for kind in PayerKind.values:
            raw = (self.cleaned_data.get(f"fixed_{kind}") or "").strip()
            if raw and kind != rest:
                fen = yuan_to_fen(raw, f"fixed_{kind}")
                if fen:
                    parts.append({"payer": kind, "fen": fen})
        return [*parts, {"payer": rest, "rest": True}]


def _offer_form_initial(offer: Offer) -> dict[str, Any]:
    initial: dict[str, Any] = {
        "organisation": offer.organisation_id, "product_version": offer.product_version_id,
        "premium_yuan": f"{offer.premium_per_share_fen / 100:.2f}",
        "gift_flags": offer.gift_flags, "gift_payer": offer.gift_payer}
    for e in offer.split:
        if e.get("rest"):
            initial["rest_payer"] = e["payer"]
        else:
            initial[f"fixed_{e['payer']}"] = f"{int(e['fen']) / 100:.2f}"
    return initial


@login_required
def period_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    """The period, its offers in the caller's subtree, and the form to add an offer."""
    place = _place(request)
    period = _period(place, pk)
    edit = None
    if request.GET.get("offer", "").isdigit():
        edit = Offer.objects.filter(period=period, pk=int(request.GET["offer"]),
                                    organisation__path__startswith=place.path).first()
        if edit is None:
            raise Http404("产品提供不存在")
    orgs = Organisation.objects.filter(path__startswith=place.path).exclude(
        kind="grassroots").order_by("path")
    form = OfferForm(request.POST or None, orgs=orgs, versions=ProductVersion.objects.all(),
                     initial=_offer_form_initial(edit) if edit else None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            offer = offer_save(actor=request.user, period=period, offer=edit, data=OfferInput(
                organisation_id=d["organisation"], product_version_id=d["product_version"],
                premium_yuan=d["premium_yuan"], split=form.split(),
                gift_flags=list(d["gift_flags"]), gift_payer=d["gift_payer"]))
        except DomainError as exc:
            _errors_to_form(form, exc)
        else:
            messages.success(request, f"已保存：{offer.organisation.name}提供"
                                      f"{offer.product_version}，每份 "
                                      f"{offer.premium_per_share_fen / 100:.2f} 元")
            return redirect("scheme:period", pk=period.pk)
    offers = (Offer.objects.filter(period=period, organisation__path__startswith=place.path)
              .select_related("organisation", "product_version").order_by(
                  "organisation__path", "product_version__code"))
    rows = [{"offer": o, "split": split_text(o.split),
             "gifts": "、".join(GIFT_LABELS.get(f, f) for f in o.gift_flags) or "—"}
            for o in offers]
    today = clock.today()
    return render(request, "products/period.html", {
        "period": period, "rows": rows, "form": form, "edit": edit,
        "open": period.enroll_opens <= today <= period.enroll_closes,
        "days_left": (period.enroll_closes - today).days,
        "may_close": place.pk == period.fund_region_id,
    })


@login_required
def bill_preview_view(request: AuthedRequest, pk: int) -> HttpResponse:
    """What a unit of the caller's subtree would be billed, each product, each payer."""
    place = _place(request)
    period = _period(place, pk)
    unit = None
    lines: list[Any] = []
    query = request.GET.get("q", "").strip()
    if query:
        unit = (Unit.objects.filter(org_path__startswith=place.path)
                .filter(uscc=query.upper()).first()
                or Unit.objects.filter(org_path__startswith=place.path,
                                       name__contains=query).order_by("name").first())
        if unit is None:
            messages.error(request, f"您的管理范围内没有名称或统一社会信用代码为“{query}”的单位")
        else:
            lines = bill_preview(unit=unit, period=period)
    return render(request, "products/preview.html", {
        "period": period, "unit": unit, "lines": lines, "q": query})


# Targets.

def _target_parent(request: AuthedRequest, place: Organisation) -> Organisation:
    org_id = request.GET.get("org") or request.POST.get("org")
    if org_id and str(org_id).isdigit():
        org = Organisation.objects.filter(pk=int(org_id), path__startswith=place.path).first()
        if org is None:
            raise Http404("组织不存在")
        return org
    return place


@login_required
def targets(request: AuthedRequest, pk: int) -> HttpResponse:
    """The targets the parent hands to each child, with completion; the sum beside the
    parent's own target."""
    from huzhu.enrollment.selectors import progress_total
    from huzhu.products.models import Target

    place = _place(request)
    period = _period(place, pk)
    parent = _target_parent(request, place)
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        values = {int(k[7:]): str(v) for k, v in request.POST.items()
                  if k.startswith("target_") and k[7:].isdigit()}
        try:
            targets_set(actor=request.user, period=period, parent=parent, values=values)
        except DomainError as exc:
            errors = exc.field_errors
            messages.error(request, exc.message)
        else:
            messages.success(request, "参保任务已保存")
            return redirect(f"{request.path}?org={parent.pk}")
    rows = target_rows(parent, period)
    own = Target.objects.filter(period=period, organisation=parent).values_list(
        "members", flat=True).first()
    handed = sum(r.target or 0 for r in rows)
    posted = request.POST if errors else {}
    return render(request, "products/targets.html", {
        "period": period, "parent": parent, "rows": [
            {"row": r, "error": "；".join(errors.get(f"target_{r.organisation.pk}", [])),
             "value": posted.get(f"target_{r.organisation.pk}",
                                 "" if r.target is None else r.target)} for r in rows],
        "own": own, "handed": handed, "over": own is not None and handed > own,
        "gap": own - handed if own is not None and handed < own else 0,
        "total": progress_total(parent, period),
        "up": parent.parent if parent.pk != place.pk else None,
    })


@login_required
def not_enrolled(request: AuthedRequest, pk: int) -> HttpResponse:
    place = _place(request)
    period = _period(place, pk)
    org = _target_parent(request, place)
    units = list(units_not_enrolled(org, period)[:500])
    return render(request, "products/not_enrolled.html", {
        "period": period, "org": org, "units": units,
        "total": units_not_enrolled(org, period).count()})


@login_required
def not_enrolled_export(request: AuthedRequest, pk: int) -> HttpResponse:
    """The units not yet enrolled and their agents, xlsx, phones masked; an export event."""
    from huzhu.audit.models import Action
    from huzhu.audit.services import event_record
    from huzhu.pii.masking import mask_phone
    from huzhu.sheets import Sheet, watermark, workbook

    place = _place(request)
    period = _period(place, pk)
    org = _target_parent(request, place)
    buffer = io.BytesIO()
    book = workbook(buffer)
    sheet = Sheet(book, "未参保单位")
    sheet.row(0, 0, ["单位名称", "统一社会信用代码", "所属工会", "经办人", "经办人手机（脱敏）"],
              book.add_format({"bold": True}))
    sheet.ws.set_column(0, 4, 24)
    n = 0
    for n, unit in enumerate(units_not_enrolled(org, period).iterator(chunk_size=2000), start=1):
        agents = [a for a in unit.agents.all() if a.is_active]
        sheet.row(n, 0, [unit.name, unit.uscc, unit.organisation.name,
                         "、".join(a.name for a in agents) or "（未登记经办人）",
                         "、".join(mask_phone(a.phone) for a in agents)])
    sheet.cell(n + 2, 0, watermark(request.user))
    book.close()
    event_record(action=Action.EXPORT, actor=request.user, object_type="organisations.unit",
                 org_path=org.path, after={"file": f"未参保单位（{period.name}）",
                                           "organisation": org.name, "rows": n})
    response = HttpResponse(buffer.getvalue(), content_type=XLSX)
    response["Content-Disposition"] = f"attachment; filename=not-enrolled-{period.code}.xlsx"
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def not_enrolled_remind(request: AuthedRequest, pk: int) -> HttpResponse:
    place = _place(request)
    period = _period(place, pk)
    org = _target_parent(request, place)
    queued = units_remind(actor=request.user, org=org, period=period)
    messages.success(request, f"已安排发送 {queued} 条短信提醒（同一经办人每天最多一条）")
    return redirect(f"/scheme/periods/{period.pk}/not-enrolled/?org={org.pk}")
