"""Invoices from committed rosters, payments against them, and coverage once a unit has paid.
"""

from __future__ import annotations

import datetime
from collections import defaultdict

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from huzhu import clock
from huzhu.actors import Actor
from huzhu.audit.models import Action
from huzhu.audit.services import event_record
from huzhu.errors import DomainError
from huzhu.notices.services import notice_enqueue
from huzhu.organisations.models import Unit
from huzhu.products.models import Period
from huzhu.rules.money import format_yuan

from .coverage import coverage_dates
from .models import (
    UNIT_PAYERS,
    Enrollment,
    EnrollmentStatus,
    Invoice,
    InvoiceStatus,
    Payment,
)
from .postings import post_payment_received, post_premium_income, post_refund


@transaction.atomic
def invoice_create(*, unit: Unit, period: Period, actor: Actor) -> Invoice:
    """Bill the unit for every pending enrollment of the period not yet on an invoice."""
    pending = list(Enrollment.objects.select_for_update(no_key=True)
                   .filter(unit=unit, period=period, status=EnrollmentStatus.PENDING,
                           invoice__isnull=True))
    if not pending:
        raise DomainError("没有待开具缴费通知的参保记录", code="nothing_to_bill")
    by_payer: dict[str, int] = defaultdict(int)
    members: dict[str, int] = defaultdict(int)
    for e in pending:
        for part in e.split:
            by_payer[part["payer"]] += part["fen"]
            members[part["payer"]] += 1
    total = sum(by_payer.values())
    due = sum(fen for payer, fen in by_payer.items() if payer in UNIT_PAYERS)
    invoice = Invoice.objects.create(
        unit=unit, period=period, number=f"pending-{timezone.now().timestamp()}-{unit.pk}",
        total_fen=total, due_fen=due, org_path=unit.org_path, fund_region=period.fund_region,
        lines=[{"payer": p, "fen": by_payer[p], "members": members[p]} for p in sorted(by_payer)])
    invoice.number = f"JF{period.code}-{invoice.pk:06d}"
    invoice.save(update_fields=["number"])
    Enrollment.objects.filter(pk__in=[e.pk for e in pending]).update(invoice=invoice)
    if due == 0:
        _confirm(invoice, clock.today(), actor)
    return invoice


def _status_for(due: int, paid: int) -> str:
    if paid == 0:
        return InvoiceStatus.OPEN
    if paid < due:
        return InvoiceStatus.PARTLY_PAID
    return InvoiceStatus.PAID if paid == due else InvoiceStatus.OVERPAID


@transaction.atomic
def payment_record(*, invoice: Invoice, bank_ref: str, amount_fen: int, paid_on: datetime.date,
                   payer_name: str, actor: Actor) -> Payment:
    """Register a bank transfer. The same bank reference twice is the same payment; a
    different amount under a known reference is refused."""
    bank_ref = bank_ref.strip()
    if not bank_ref:
        raise DomainError("请填写银行流水号", field_errors={"bank_ref": ["请填写银行流水号"]})
    if amount_fen <= 0:
        raise DomainError("金额必须大于 0", field_errors={"amount": ["金额必须大于 0"]})
    if paid_on > clock.today():
        raise DomainError("到账日期不能晚于今天", field_errors={"paid_on": ["到账日期不能晚于今天"]})
    invoice = Invoice.objects.select_for_update(no_key=True).get(pk=invoice.pk)
    existing = invoice.payments.filter(bank_ref=bank_ref).first()
    if existing is not None:
        if existing.amount_fen != amount_fen:
            raise DomainError(f"流水号 {bank_ref} 已登记为 {format_yuan(existing.amount_fen)} 元",
                              field_errors={"bank_ref": ["该流水号已登记，金额不一致"]})
        return existing
    was_paid = invoice.paid_fen >= invoice.due_fen
    payment = Payment.objects.create(
        invoice=invoice, bank_ref=bank_ref, amount_fen=amount_fen, paid_on=paid_on,
        payer_name=payer_name or invoice.payer_label,
        recorded_by=actor if getattr(
            actor, "pk", None) else None, receipt_serial=f"tmp-{bank_ref}-{invoice.pk}")
    payment.receipt_serial = f"SJ{invoice.period.code}-{payment.pk:08d}"
    payment.save(update_fields=["receipt_serial"])
    Invoice.objects.filter(pk=invoice.pk).update(paid_fen=F("paid_fen") + amount_fen)
    invoice.refresh_from_db()
    invoice.status = _status_for(invoice.due_fen, invoice.paid_fen)
    invoice.save(update_fields=["status"])
    post_payment_received(payment=payment, invoice=invoice, actor=actor)
    event_record(action=Action.PAYMENT_RECORDED, actor=actor, obj=payment,
                 org_path=invoice.org_path,
                 after={"invoice": invoice.number, "amount_fen": amount_fen, "bank_ref": bank_ref})
    if not was_paid and invoice.paid_fen >= invoice.due_fen:
        _confirm(invoice, paid_on, actor)
    return payment


def _confirm(invoice: Invoice, confirmed_on: datetime.date, actor: Actor) -> int:
    """Put every enrollment of a paid invoice into force and tell each member by SMS."""
    enrollments = list(invoice.enrollments.filter(status=EnrollmentStatus.PENDING)
                       .select_related("member", "period", "product_version"))
    now = timezone.now()
    for e in enrollments:
        start, waiting, first, since = coverage_dates(e, confirmed_on)
        e.status, e.coverage_start, e.waiting_until = EnrollmentStatus.ACTIVE, start, waiting
        e.first_time, e.continuous_since, e.confirmed_at = first, since, now
        params = {"name": e.member.name, "product": e.product_version.name,
                  "period": e.period.name, "start": start.isoformat()}
        template = "ENROLLED"
        if waiting:
            template, params["waiting"] = "ENROLLED_WAITING", waiting.isoformat()
        notice_enqueue(key=f"enrolled:{e.pk}", template=template, phone=e.member.phone or "",
                       params=params, member_id=e.member_id, org_path=e.org_path)
    Enrollment.objects.bulk_update(enrollments, ["status", "coverage_start", "waiting_until",
                                                 "first_time", "continuous_since",
                                                 "confirmed_at"], batch_size=1000)
    post_premium_income(invoice=invoice, settled_on=confirmed_on, actor=actor)
    event_record(action=Action.ENROLLMENT_CONFIRMED, actor=actor, obj=invoice,
                 org_path=invoice.org_path, after={"enrollments": len(enrollments),
                                                    "confirmed_on": confirmed_on.isoformat()})
    return len(enrollments)


@transaction.atomic
def enrollment_refund(*, enrollment: Enrollment, reason: str, actor: Actor,
                      on: datetime.date | None = None) -> Enrollment:
    """Refund a member's premium (e.g. found ineligible after the unit paid): coverage ends,
    his share leaves income, and what his unit paid for him is owed back."""
    if not reason.strip():
        raise DomainError("请填写退费原因", field_errors={"reason": ["请填写退费原因"]})
    enrollment = Enrollment.objects.select_for_update(of=("self",)).select_related(
        "invoice", "product_version", "period").get(pk=enrollment.pk)
    if enrollment.status == EnrollmentStatus.REFUNDED:
        return enrollment
    was_active = enrollment.status == EnrollmentStatus.ACTIVE
    enrollment.status = EnrollmentStatus.REFUNDED
    enrollment.save(update_fields=["status"])
    if was_active:
        post_refund(enrollment=enrollment, on=on or clock.today(), actor=actor)
    elif enrollment.invoice_id is not None:
        # Not yet settled: the member simply leaves the unit's bill.
        unit_part = sum(p["fen"] for p in enrollment.split if p["payer"] in UNIT_PAYERS)
        Invoice.objects.filter(pk=enrollment.invoice_id).update(
            total_fen=F("total_fen") - enrollment.premium_fen, due_fen=F("due_fen") - unit_part)
    event_record(action="enrollment.refunded", actor=actor, obj=enrollment,
                 org_path=enrollment.org_path,
                 after={"reason": reason.strip()[:200], "premium_fen": enrollment.premium_fen})
    return enrollment
