"""Enrolling one member: staff enrollment into the unit, and a courier enrolling himself."""

from __future__ import annotations

import datetime

import pytest

from huzhu.enrollment.billing import payment_record
from huzhu.enrollment.coverage import coverage_on
from huzhu.enrollment.models import Enrollment, Invoice, Source
from huzhu.enrollment.single import enrollment_single
from huzhu.errors import DomainError
from huzhu.members.services import MemberInput, member_create

from .test_roster import new_id


def test_staff_enrolls_a_member_of_the_unit(period_world):
    w = period_world
    e = enrollment_single(actor=w.wangwu, member=w.chenba, period=w.period,
                          product_code="beijing-2011-allowance")
    assert e.unit == w.unit_a and e.source == Source.STAFF and e.premium_fen == 6000
    with pytest.raises(DomainError, match="已参加"):
        enrollment_single(actor=w.wangwu, member=w.chenba, period=w.period,
                          product_code="beijing-2011-allowance")


def test_products_not_offered_or_not_allowed_are_refused(period_world):
    w = period_world
    with pytest.raises(DomainError, match="不向此会员开放"):  # 南宁 only
        enrollment_single(actor=w.zhaoliu, member=w.sunqi, period=w.period,
                          product_code="beijing-2011-allowance")
    old = member_create(actor=None, data=MemberInput(
        name="老王", id_number=new_id(5, 13, 1962), unit=w.unit_a))
    with pytest.raises(DomainError) as info:
        enrollment_single(actor=w.wangwu, member=old, period=w.period,
                          product_code="chongqing-2015-medical", shares=2)
    assert "参保年龄范围" in info.value.message and "最多 1 份" in info.value.message
    assert not Enrollment.objects.filter(member=old).exists()


def test_a_courier_enrolls_himself_and_pays_his_part(period_world):
    w = period_world
    courier = member_create(actor=None, data=MemberInput(
        name="快递小哥", id_number=new_id(7, 15, 1995), phone="13655556666",
        insurance_type="resident", is_new_form_worker=True, organisation=w.grassroots_a))
    e = enrollment_single(actor=None, member=courier, period=w.period,
                          product_code="chongqing-2015-medical", source=Source.SELF)
    invoice = Invoice.objects.get(member=courier)
    assert e.unit is None and invoice.unit is None and e.invoice == invoice
    assert invoice.due_fen == 6000 and invoice.total_fen == 11000  # the employer part stays receivable
    payment_record(invoice=invoice, bank_ref="WX1", amount_fen=6000,
                   paid_on=datetime.date(2026, 2, 1), payer_name="", actor=w.qianjiu)
    assert [c.since for c in coverage_on(courier.pk, datetime.date(2026, 2, 2))] == [
        datetime.date(2026, 2, 2)]
