"""Invoices, payments and coverage: a unit's payment puts its enrollments into force."""

from __future__ import annotations

import datetime

import pytest

from huzhu.enrollment.billing import invoice_create, payment_record
from huzhu.enrollment.coverage import coverage_on
from huzhu.enrollment.models import Enrollment, InvoiceStatus
from huzhu.enrollment.services import roster_check, roster_confirm, roster_upload
from huzhu.errors import DomainError
from huzhu.notices.models import OutboxMessage

from .conftest import person, xlsx
from .test_roster import new_id

JAN1 = datetime.date(2026, 1, 1)


def enrolled(world, rows):
    roster, _ = roster_upload(unit=world.unit_a, period=world.period, file_name="r.xlsx",
                              data=xlsx(rows), actor=world.lisi)
    roster_check(roster)
    roster_confirm(roster=roster, actor=world.lisi)
    return invoice_create(unit=world.unit_a, period=world.period, actor=world.lisi)


def test_invoice_splits_by_payer_and_bills_the_units_part(period_world):
    w = period_world
    name = w.medical.product_version.name
    invoice = enrolled(w, [person("刘一", new_id(1), name), person("劳模", new_id(2), name,
                                                                  劳模工匠="是")])
    assert invoice.total_fen == 22000
    assert invoice.lines == [
        {"payer": "employer", "fen": 5000, "members": 1},
        {"payer": "member", "fen": 6000, "members": 1},
        {"payer": "union_province", "fen": 11000, "members": 1},
    ]
    assert invoice.due_fen == 11000  # the regional union's gift is not the unit's to pay
    with pytest.raises(DomainError):
        invoice_create(unit=w.unit_a, period=w.period, actor=w.lisi)


def test_partial_then_full_payment_confirms_coverage(period_world):
    w = period_world
    name = w.medical.product_version.name
    invoice = enrolled(w, [person("刘一", new_id(1), name), person("张三", w.zhangsan.id_number,
                                                                  name, 手机号="13812341234")])
    payment_record(invoice=invoice, bank_ref="B001", amount_fen=10000,
                   paid_on=datetime.date(2025, 12, 10), payer_name="南宁示范机械厂", actor=w.wangwu)
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PARTLY_PAID and invoice.outstanding_fen == 12000
    assert not coverage_on(w.zhangsan.pk, JAN1)
    payment_record(invoice=invoice, bank_ref="B002", amount_fen=13000,
                   paid_on=datetime.date(2025, 12, 20), payer_name="", actor=w.wangwu)
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.OVERPAID and invoice.overpaid_fen == 1000
    covers = coverage_on(w.zhangsan.pk, JAN1)
    assert [(c.product_code, c.since, c.first_time) for c in covers] == [
        ("chongqing-2015-medical", JAN1, True)]
    assert not coverage_on(w.zhangsan.pk, datetime.date(2025, 12, 31))
    sms = OutboxMessage.objects.get(key=f"enrolled:{covers[0].enrollment_id}")
    assert sms.template == "ENROLLED" and sms.params["start"] == "2026-01-01"
    assert sms.phone == "13812341234"


def test_same_bank_reference_is_one_payment(period_world):
    w = period_world
    invoice = enrolled(w, [person("刘一", new_id(1), w.medical.product_version.name)])
    first = payment_record(invoice=invoice, bank_ref="B9", amount_fen=6000,
                           paid_on=JAN1, payer_name="", actor=w.wangwu)
    again = payment_record(invoice=invoice, bank_ref="B9", amount_fen=6000,
                           paid_on=JAN1, payer_name="", actor=w.wangwu)
    assert again.pk == first.pk
    invoice.refresh_from_db()
    assert invoice.paid_fen == 6000
    with pytest.raises(DomainError):
        payment_record(invoice=invoice, bank_ref="B9", amount_fen=7000, paid_on=JAN1,
                       payer_name="", actor=w.wangwu)
    assert first.receipt_serial.startswith("SJ2026-")


def test_late_joiner_is_covered_from_the_next_day(period_world):
    w = period_world
    invoice = enrolled(w, [person("刘一", new_id(1), w.medical.product_version.name)])
    payment_record(invoice=invoice, bank_ref="B1", amount_fen=11000,
                   paid_on=datetime.date(2026, 3, 15), payer_name="", actor=w.wangwu)
    e = Enrollment.objects.get(member__name="刘一")
    assert e.coverage_start == datetime.date(2026, 3, 16)
    assert not coverage_on(e.member_id, datetime.date(2026, 3, 15))
    assert coverage_on(e.member_id, datetime.date(2026, 3, 16))


def test_renewal_keeps_continuity_and_skips_waiting(period_world):
    from huzhu.enrollment.models import EnrollmentStatus
    from huzhu.products.models import Period

    w = period_world
    old = Period.objects.create(
        fund_region=w.province, code="2025", name="2025 年度",
        enroll_opens=datetime.date(2024, 11, 1), enroll_closes=datetime.date(2024, 12, 31),
        coverage_start=datetime.date(2025, 1, 1), coverage_end=datetime.date(2025, 12, 31))
    Enrollment.objects.create(
        member=w.zhangsan, period=old, product_version=w.medical.product_version,
        offer=w.medical, unit=w.unit_a, status=EnrollmentStatus.ACTIVE, premium_fen=11000,
        coverage_start=datetime.date(2025, 1, 1), continuous_since=datetime.date(2023, 1, 1),
        first_time=False, org_path=w.unit_a.org_path, fund_region=w.province)
    invoice = enrolled(w, [person("张三", w.zhangsan.id_number, w.medical.product_version.name)])
    payment_record(invoice=invoice, bank_ref="B1", amount_fen=11000,
                   paid_on=datetime.date(2025, 12, 1), payer_name="", actor=w.wangwu)
    cover = coverage_on(w.zhangsan.pk, datetime.date(2026, 6, 1))[0]
    assert cover.first_time is False and cover.continuous_since == datetime.date(2023, 1, 1)
    assert cover.waiting_until is None
