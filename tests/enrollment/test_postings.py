"""Premiums reach the fund's ledger: cash held on payment, income by payer and product once
the invoice is settled; the books balance and re-running changes nothing."""

from __future__ import annotations

import datetime

from django.core.management import call_command
from django.db.models import Sum

from huzhu.enrollment.billing import payment_record
from huzhu.ledger.models import Leg

from .conftest import person
from .test_billing import enrolled
from .test_roster import new_id


def balance(kind: str, **dims) -> int:
    filters = {f"account__{k}": v for k, v in dims.items()}
    return Leg.objects.filter(account__kind=kind, **filters).aggregate(
        s=Sum("amount_fen"))["s"] or 0


def test_payments_and_income_are_posted(period_world):
    w = period_world
    name = w.medical.product_version.name
    invoice = enrolled(w, [person("刘一", new_id(1), name),
                           person("劳模", new_id(2), name, 劳模工匠="是")])
    assert invoice.due_fen == 11000  # the model worker's premium is a union gift
    payment_record(invoice=invoice, bank_ref="B1", amount_fen=5000,
                   paid_on=datetime.date(2025, 12, 1), payer_name="", actor=w.qianjiu)
    assert balance("bank") == 5000 and balance("advance_received") == -5000
    assert balance("premium_income") == 0  # not income until the invoice is settled
    payment_record(invoice=invoice, bank_ref="B2", amount_fen=7000,
                   paid_on=datetime.date(2025, 12, 2), payer_name="", actor=w.qianjiu)
    assert balance("bank") == 12000
    assert balance("advance_received") == -1000  # the over-payment is owed back
    assert balance("subsidy_receivable") == 11000
    assert balance("premium_income", payer_kind="employer",
                   product_code="chongqing-2015-medical", period_code="2026") == -5000
    assert balance("premium_income", payer_kind="member") == -6000
    assert balance("premium_income", payer_kind="union_province") == -11000
    assert Leg.objects.aggregate(s=Sum("amount_fen"))["s"] == 0
    payment_record(invoice=invoice, bank_ref="B2", amount_fen=7000,
                   paid_on=datetime.date(2025, 12, 2), payer_name="", actor=w.qianjiu)
    assert balance("bank") == 12000  # the same bank reference posts nothing new
    call_command("ledger_verify")


def test_refund_takes_the_share_back_from_income(period_world):
    import pytest

    from huzhu.enrollment.billing import enrollment_refund
    from huzhu.enrollment.models import Enrollment, EnrollmentStatus
    from huzhu.errors import DomainError

    w = period_world
    name = w.medical.product_version.name
    invoice = enrolled(w, [person("刘一", new_id(1), name), person("刘二", new_id(2), name)])
    payment_record(invoice=invoice, bank_ref="B1", amount_fen=22000,
                   paid_on=datetime.date(2025, 12, 1), payer_name="", actor=w.qianjiu)
    e = Enrollment.objects.get(member__name="刘二")
    with pytest.raises(DomainError):
        enrollment_refund(enrollment=e, reason=" ", actor=w.qianjiu)
    enrollment_refund(enrollment=e, reason="退休，不符合参保条件", actor=w.qianjiu)
    enrollment_refund(enrollment=e, reason="重复操作", actor=w.qianjiu)  # posts nothing new
    e.refresh_from_db()
    assert e.status == EnrollmentStatus.REFUNDED
    assert balance("premium_income") == -11000
    assert balance("advance_received") == -11000  # his 110 yuan is owed back to the unit
    assert balance("bank") == 22000
    from huzhu.enrollment.coverage import coverage_on

    assert coverage_on(e.member_id, datetime.date(2026, 2, 1)) == []
    call_command("ledger_verify")
