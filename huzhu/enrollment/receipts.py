"""Receipts (收据) for a unit's payments: the PDF, and the token its QR code carries.

A receipt is drawn afresh from the payment and its invoice each time it is asked for; the
payment row (serial, amount, date, payer) never changes, so neither does the receipt's money.

The QR code opens ``/billing/receipts/verify/<token>/`` where the token is the serial signed
with ``SECRET_KEY`` (django.core.signing, its own salt): anyone may check a receipt they hold,
nobody can walk the serials to read other units' payments. Rotating the key keeps printed
receipts verifiable as long as the old key stays in ``SECRET_KEY_FALLBACKS``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import segno
from django.conf import settings
from django.core import signing
from django.template.loader import render_to_string
from django.urls import reverse

from huzhu import clock
from huzhu.rules.money import capitals, format_yuan

from .models import UNIT_PAYERS, Invoice, Payment

_SALT = "huzhu.enrollment.receipt"
QR_SCALE = 8  # pixels per module in the embedded PNG; the PDF shows it at a fixed size
QR_ERROR = "m"


@dataclass(frozen=True)
class ReceiptItem:
    product: str
    members: int
    shares: int
    premium_fen: int
    unit_fen: int  # the part the invoice's payer owes (see due_payers)


def receipt_token(serial: str) -> str:
    """Return the signed serial that the verification URL carries."""
    return signing.Signer(salt=_SALT).sign(serial)


def receipt_serial_from_token(token: str) -> str | None:
    """Return the serial a genuine token signs, or None for anything forged or garbled."""
    try:
        return signing.Signer(salt=_SALT).unsign(token)
    except signing.BadSignature:
        return None


def receipt_verify(token: str) -> Payment | None:
    """Return the payment a genuine token names, or None."""
    serial = receipt_serial_from_token(token)
    if serial is None:
        return None
    return (Payment.objects.select_related("invoice__unit", "invoice__member", "invoice__period")
            .filter(receipt_serial=serial).first())


def public_base_url() -> str:
    base = getattr(settings, "PUBLIC_URL", None) or getattr(settings, "HUZHU_PUBLIC_URL", None)
    return (base or "http://127.0.0.1:8000").rstrip("/")


def verification_url(payment: Payment) -> str:
    path = reverse("billing:receipt_verify", args=[receipt_token(payment.receipt_serial)])
    return public_base_url() + path


def receipt_qr(payment: Payment) -> segno.QRCode:
    return segno.make(verification_url(payment), error=QR_ERROR, micro=False)


def due_payers(invoice: Invoice) -> tuple[str, ...]:
    """Return the payer kinds whose shares the invoice's payer owes (see ``due_fen``): a unit
    collects the members' and employer's parts; an individual pays only his own."""
    return UNIT_PAYERS if invoice.unit_id is not None else ("member",)


def receipt_items(invoice: Invoice) -> list[ReceiptItem]:
    """Return the invoice's enrollments grouped by product, with the part the payer owes."""
    payers = due_payers(invoice)
    rows = invoice.enrollments.values_list("product_version__name", "shares", "premium_fen",
                                           "split").order_by("product_version__name", "id")
    acc: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for name, shares, premium, split in rows:
        a = acc[name]
        a[0] += 1
        a[1] += shares
        a[2] += premium
        a[3] += sum(part["fen"] for part in split if part["payer"] in payers)
    return [ReceiptItem(name, *values) for name, values in acc.items()]


def _paid_up_to(payment: Payment) -> int:
    """Return what the unit had paid on the invoice once this payment was in."""
    earlier = payment.invoice.payments.filter(pk__lte=payment.pk).values_list("amount_fen",
                                                                               flat=True)
    return sum(earlier)


def receipt_context(payment: Payment) -> dict:
    invoice = payment.invoice
    items = receipt_items(invoice)
    paid = _paid_up_to(payment)
    recorder = payment.recorded_by
    return {
        "payment": payment, "invoice": invoice, "period": invoice.period,
        "payer": invoice.payer_label,
        "payee": invoice.fund_region.name,
        "issued_on": clock.today(payment.created_at),
        "amount": format_yuan(payment.amount_fen, grouping=True),
        "amount_capitals": capitals(payment.amount_fen),
        "items": [{"product": i.product, "members": i.members, "shares": i.shares,
                   "premium": format_yuan(i.premium_fen, grouping=True),
                   "unit_part": format_yuan(i.unit_fen, grouping=True)} for i in items],
        "members_total": sum(i.members for i in items),
        "shares_total": sum(i.shares for i in items),
        "premium_total": format_yuan(invoice.total_fen, grouping=True),
        "due": format_yuan(invoice.due_fen, grouping=True),
        "paid_so_far": format_yuan(paid, grouping=True),
        "outstanding": format_yuan(max(invoice.due_fen - paid, 0), grouping=True),
        "overpaid": format_yuan(max(paid - invoice.due_fen, 0), grouping=True),
        "is_overpaid": paid > invoice.due_fen,
        "qr_png": receipt_qr(payment).png_data_uri(scale=QR_SCALE, border=0, dark="#000"),
        "verify_url": verification_url(payment),
        "recorder": str(recorder) if recorder else "",
    }


def receipt_html(payment: Payment) -> str:
    return render_to_string("enrollment/billing/receipt.html", receipt_context(payment))


def receipt_document(payment: Payment):  # -> weasyprint.Document
    """Return the laid-out receipt, one A5 landscape page."""
    from weasyprint import HTML  # heavy import, only where receipts are drawn
    from weasyprint.urls import URLFetcher

    # A receipt loads nothing but its embedded QR code, and is not drawn without it.
    fetcher = URLFetcher(allowed_protocols={"data"}, fail_on_errors=True)
    return HTML(string=receipt_html(payment), url_fetcher=fetcher).render()


def receipt_pdf(payment: Payment) -> bytes:
    """Return the receipt as PDF bytes (fonts: Noto Serif/Sans CJK SC, embedded subsets)."""
    return receipt_document(payment).write_pdf()
