"""Billing pages: a unit's invoices (缴费通知), payments against them, receipts, and the public
page a receipt's QR code opens.

Who may do what (existing permissions, no new ones):

- See a unit's invoices, payments and receipts: whoever may see the unit (``VIEW_UNITS`` through
  ``unit_get_for_user``); anything outside the user's scope answers 404.
- Bill a unit for its committed roster (``invoice_create``): the unit's agent
  (``MANAGE_MEMBERS``), staff who manage units (``MANAGE_UNITS``) and finance (``POST_LEDGER``).
  An invoice only totals what was committed, so there is nothing to decide in making one.
- Register a payment (``payment_record``): finance (``POST_LEDGER``) and staff who manage units
  (``MANAGE_UNITS``), never the unit's own agent: a registered payment puts the unit's
  coverage into force, so the payer must not be the one who says the money arrived.
- Verify a receipt: anyone, without logging in, with a signed token; the page shows the serial,
  the unit's name, the amount and the date, and no personal data.
"""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from huzhu import clock
from huzhu.accounts.roles import Perm
from huzhu.actors import AuthedRequest
from huzhu.errors import DomainError
from huzhu.members.access import member_get_for_user
from huzhu.organisations.access import unit_get_for_user
from huzhu.products.models import PayerKind, Period
from huzhu.rules.money import MoneyError, capitals, format_yuan, parse_yuan
from huzhu.web.forms import ConfirmMixin
from huzhu.web.paging import paginate

from .billing import invoice_create, payment_record
from .models import Enrollment, EnrollmentStatus, Invoice, InvoiceStatus, Payment
from .receipts import due_payers, receipt_items, receipt_pdf, receipt_verify, verification_url


def can_bill(user: Any) -> bool:
    return (user.can(Perm.MANAGE_MEMBERS) or user.can(Perm.MANAGE_UNITS)
            or user.can(Perm.POST_LEDGER))


def can_take_payments(user: Any) -> bool:
    return user.can(Perm.POST_LEDGER) or user.can(Perm.MANAGE_UNITS)


class PaymentForm(forms.Form):
    bank_ref = forms.CharField(label="银行流水号", max_length=60, error_messages={
        "required": "请填写银行流水号", "max_length": "银行流水号不超过 60 个字符"})
    amount = forms.CharField(label="到账金额（元）", max_length=20, error_messages={
        "required": "请填写到账金额"})
    paid_on = forms.DateField(label="到账日期", widget=forms.DateInput(attrs={"type": "date"},
                                                              format="%Y-%m-%d"),
                              error_messages={"required": "请填写到账日期",
                                              "invalid": "日期格式应为 2026-01-31"})
    payer_name = forms.CharField(label="付款户名", max_length=200, required=False,
                                 help_text="留空则为单位名称")

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["amount"].widget.attrs.update({"inputmode": "decimal",
                                                   "placeholder": "如 1234.56"})

    def clean_bank_ref(self) -> str:
        return self.cleaned_data["bank_ref"].strip()

    def clean_amount(self) -> int:
        """Return fen; yuan with at most two decimals, more than zero."""
        text = self.cleaned_data["amount"]
        try:
            fen = parse_yuan(text)
        except MoneyError as exc:
            if "两位小数" in str(exc):
                raise forms.ValidationError("金额最多两位小数（精确到分）") from exc
            raise forms.ValidationError("请输入金额数字，如 1234.56") from exc
        if fen <= 0:
            raise forms.ValidationError("金额必须大于 0")
        return fen

    def clean_paid_on(self) -> datetime.date:
        paid_on = self.cleaned_data["paid_on"]
        if paid_on > clock.today():
            raise forms.ValidationError("到账日期不能晚于今天")
        return paid_on

    def apply_error(self, exc: DomainError) -> None:
        ConfirmMixin.apply_error(self, exc)  # type: ignore[arg-type]


def _in_scope(request: AuthedRequest, invoice: Invoice) -> None:
    """Raise 404 unless the user may see the invoice's payer: the unit, or for an individual
    enrollment (no unit) the member."""
    if invoice.unit_id is not None:
        unit_get_for_user(request.user, invoice.unit_id)
    elif invoice.member_id is not None:
        member_get_for_user(request.user, invoice.member_id)
    else:
        raise Http404("缴费通知不存在")


def _invoice_for(request: AuthedRequest, invoice_id: int) -> Invoice:
    invoice = (Invoice.objects.select_related("unit", "member", "period", "fund_region")
               .filter(pk=invoice_id).first())
    if invoice is None:
        raise Http404("缴费通知不存在")
    _in_scope(request, invoice)
    return invoice


def _money(fen: int) -> str:
    return format_yuan(fen, grouping=True)


def _invoice_row(invoice: Invoice) -> dict[str, Any]:
    return {"invoice": invoice, "total": _money(invoice.total_fen), "due": _money(invoice.due_fen),
            "paid": _money(invoice.paid_fen), "outstanding": _money(invoice.outstanding_fen),
            "overpaid": _money(invoice.overpaid_fen) if invoice.overpaid_fen else ""}


INVOICE_STATES = {"open": "尚欠费（待缴费、部分缴费）", "paid": "已缴清", "overpaid": "多缴"}


@login_required
@require_GET
def invoice_list(request: AuthedRequest) -> HttpResponse:
    """Finance's list of every invoice of its fund region (the money it receives), with
    filters: the unit's name, the state, the period, and 逾期 (still owing after the period's
    enrollment closed)."""
    user = request.user
    org = getattr(user, "organisation", None)
    if org is None or not user.can(Perm.POST_LEDGER):
        raise Http404
    region_id = org.pk if org.is_fund_region else org.fund_region_id
    mine = Invoice.objects.filter(fund_region_id=region_id, org_path__startswith=org.path)
    qs = (mine
          .select_related("unit", "member", "period").order_by("-created_at", "-id"))
    q = request.GET.get("q", "").strip()[:60]
    state = request.GET.get("state", "")
    period = request.GET.get("period", "")
    overdue = request.GET.get("overdue") == "1"
    if q:
        qs = qs.filter(unit__name__contains=q)
    if state == "open":
        qs = qs.filter(status__in=[InvoiceStatus.OPEN, InvoiceStatus.PARTLY_PAID])
    elif state in ("paid", "overpaid"):
        qs = qs.filter(status=state)
    if period.isascii() and period.isdigit():
        qs = qs.filter(period_id=int(period))
    today = clock.today()
    if overdue:
        qs = qs.filter(status__in=[InvoiceStatus.OPEN, InvoiceStatus.PARTLY_PAID],
                       period__enroll_closes__lt=today)
    page = paginate(request, qs, per_page=50)
    rows = []
    for invoice in page.rows:
        row = _invoice_row(invoice)
        row["overdue"] = bool(invoice.outstanding_fen and invoice.period.enroll_closes < today)
        rows.append(row)
    periods = Period.objects.filter(pk__in=mine.values("period_id")).order_by("-coverage_start")
    return render(request, "enrollment/billing/invoice_list.html", {
        "page": page, "rows": rows, "periods": periods, "states": INVOICE_STATES,
        "q": q, "state": state, "period": period, "overdue": overdue})


@login_required
@require_GET
def unit_invoices(request: AuthedRequest, unit_id: int) -> HttpResponse:
    unit, _ = unit_get_for_user(request.user, unit_id)
    invoices = Invoice.objects.filter(unit=unit).select_related("period").order_by("-created_at")
    unbilled = (Enrollment.objects.filter(unit=unit, status=EnrollmentStatus.PENDING,
                                          invoice__isnull=True)
                .values("period_id", "period__name").annotate(n=Count("id"))
                .order_by("period_id"))
    return render(request, "enrollment/billing/unit_invoices.html", {
        "unit": unit, "rows": [_invoice_row(i) for i in invoices], "unbilled": list(unbilled),
        "can_bill": can_bill(request.user),
    })


@login_required
@require_POST
def invoice_create_view(request: AuthedRequest, unit_id: int) -> HttpResponse:
    unit, _ = unit_get_for_user(request.user, unit_id)
    if not can_bill(request.user):
        raise PermissionDenied
    period_id = request.POST.get("period", "")
    period = (Period.objects.filter(pk=int(period_id), fund_region_id=unit.fund_region_id).first()
              if period_id.isdigit() else None)
    if period is None:
        messages.error(request, "请选择保障期")
        return redirect("billing:unit_invoices", unit_id=unit.pk)
    try:
        invoice = invoice_create(unit=unit, period=period, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("billing:unit_invoices", unit_id=unit.pk)
    messages.success(request, f"已开具缴费通知 {invoice.number}，单位应缴 {_money(invoice.due_fen)} 元")
    return redirect("billing:invoice_detail", invoice_id=invoice.pk)


def _detail_context(request: AuthedRequest, invoice: Invoice, form: PaymentForm | None) -> dict:
    payments = list(invoice.payments.select_related("recorded_by").order_by("created_at", "id"))
    owed = due_payers(invoice)
    lines = [{"label": PayerKind(line["payer"]).label if line["payer"] in PayerKind.values
              else line["payer"], "members": line["members"], "amount": _money(line["fen"]),
              "owed": line["payer"] in owed} for line in invoice.lines]
    items = [{"product": i.product, "members": i.members, "shares": i.shares,
              "premium": _money(i.premium_fen), "unit_part": _money(i.unit_fen)}
             for i in receipt_items(invoice)]
    may_pay = can_take_payments(request.user)
    payer = invoice.payer_label
    if may_pay and form is None:
        form = PaymentForm(initial={"payer_name": payer, "paid_on": clock.today()})
    return {
        "invoice": invoice, "unit": invoice.unit, "payer": payer, "period": invoice.period,
        "money": _invoice_row(invoice), "due_capitals": capitals(invoice.due_fen),
        "lines": lines, "items": items,
        "payments": [{"payment": p, "amount": _money(p.amount_fen)} for p in payments],
        "form": form if may_pay else None,
    }


@login_required
@require_GET
def invoice_detail(request: AuthedRequest, invoice_id: int) -> HttpResponse:
    invoice = _invoice_for(request, invoice_id)
    return render(request, "enrollment/billing/invoice_detail.html",
                  _detail_context(request, invoice, None))


@login_required
@require_POST
def payment_create(request: AuthedRequest, invoice_id: int) -> HttpResponse:
    invoice = _invoice_for(request, invoice_id)
    if not can_take_payments(request.user):
        raise PermissionDenied
    form = PaymentForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        known = invoice.payments.filter(bank_ref=data["bank_ref"]).exists()
        try:
            payment = payment_record(invoice=invoice, bank_ref=data["bank_ref"],
                                     amount_fen=data["amount"], paid_on=data["paid_on"],
                                     payer_name=data["payer_name"].strip(), actor=request.user)
        except DomainError as exc:
            form.apply_error(exc)
        else:
            if known:
                messages.info(request, f"流水号 {payment.bank_ref} 此前已登记（收据 "
                                       f"{payment.receipt_serial}），未重复入账")
            else:
                messages.success(request, f"已登记到账 {_money(payment.amount_fen)} 元，"
                                          f"收据号 {payment.receipt_serial}")
            return redirect("billing:invoice_detail", invoice_id=invoice.pk)
    return render(request, "enrollment/billing/invoice_detail.html",
                  _detail_context(request, invoice, form), status=400)


@login_required
@require_GET
def receipt_download(request: AuthedRequest, payment_id: int) -> HttpResponse:
    payment = (Payment.objects.select_related("invoice__unit", "invoice__member",
                                              "invoice__period", "invoice__fund_region",
                                              "recorded_by")
               .filter(pk=payment_id).first())
    if payment is None:
        raise Http404("收据不存在")
    _in_scope(request, payment.invoice)
    response = HttpResponse(receipt_pdf(payment), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="receipt-{payment.receipt_serial}.pdf"'
    return response


@require_GET
def receipt_verify_view(request: HttpRequest, token: str) -> HttpResponse:
    """Public: say whether a receipt is genuine. A forged token learns nothing, not even
    whether the serial it names exists."""
    payment = receipt_verify(token)
    context: dict[str, Any] = {"genuine": payment is not None}
    if payment is not None:
        context.update({
            "serial": payment.receipt_serial,
            # a unit's name is public; an individual's is personal data and stays off this page
            "unit_name": payment.invoice.unit.name if payment.invoice.unit else "个人缴费",
            "amount": _money(payment.amount_fen), "amount_capitals": capitals(payment.amount_fen),
            "paid_on": payment.paid_on, "invoice_number": payment.invoice.number,
            "period": payment.invoice.period.name, "url": verification_url(payment),
        })
    return render(request, "enrollment/billing/verify.html", context,
                  status=200 if payment is not None else 404)


# --------------------------------------------------------------------------- bank statements


def _finance_region(request: AuthedRequest) -> Any:
    user = request.user
    org = getattr(user, "organisation", None)
    if org is None or not user.can(Perm.POST_LEDGER):
        raise Http404
    from huzhu.organisations.models import Organisation

    return Organisation.objects.get(pk=org.pk if org.is_fund_region else org.fund_region_id)


@login_required
def statements(request: AuthedRequest) -> HttpResponse:
    """Upload the fund account's statement; the statements uploaded so far."""
    from .models import BankStatement
    from .statement import StatementError, statement_upload

    region = _finance_region(request)
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            messages.error(request, "请选择对账单文件")
        else:
            try:
                st = statement_upload(region=region, data=upload.read(),
                                      file_name=upload.name or "statement.csv",
                                      actor=request.user)
            except StatementError as exc:
                messages.error(request, exc.message)
            else:
                return redirect("billing:statement", pk=st.pk)
    return render(request, "enrollment/billing/statements.html", {
        "statements": BankStatement.objects.filter(fund_region=region)[:50]})


@login_required
def statement(request: AuthedRequest, pk: int) -> HttpResponse:
    """The statement's credits with their proposed invoices; confirm in one step."""
    from .models import BankStatement
    from .statement import statement_confirm, statement_proposals

    region = _finance_region(request)
    st = BankStatement.objects.filter(pk=pk, fund_region=region).first()
    if st is None:
        raise Http404
    if request.method == "POST":
        choices: dict[int, int] = {}
        for key in request.POST.getlist("line"):
            chosen = request.POST.get(f"invoice_{key}", "")
            if key.isascii() and key.isdigit() and chosen.isascii() and chosen.isdigit():
                choices[int(key)] = int(chosen)
        if not choices:
            messages.error(request, "请勾选要确认的记录，并为每条选择缴费通知")
        else:
            try:
                done = statement_confirm(statement=st, choices=choices, actor=request.user)
            except DomainError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, f"已登记到账 {done['recorded']} 笔"
                                          + (f"，{done['already']} 笔此前已登记" if done["already"]
                                             else ""))
            return redirect("billing:statement", pk=st.pk)
    proposals = statement_proposals(st)
    open_invoices = list(Invoice.objects.filter(
        fund_region=region, status__in=[InvoiceStatus.OPEN, InvoiceStatus.PARTLY_PAID])
        .select_related("unit", "member").order_by("number")[:500])
    return render(request, "enrollment/billing/statement.html", {
        "st": st, "proposals": proposals, "open_invoices": open_invoices,
        "counts": {s: sum(1 for p in proposals if p.state == s)
                   for s in ("matched", "candidates", "unmatched", "recorded")}})
