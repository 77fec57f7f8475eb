"""Billing pages through the real views: invoices, payments, receipts and verification."""

from __future__ import annotations

import datetime
import re

import pytest
from django.test import Client
from django.urls import reverse

from huzhu.enrollment.billing import invoice_create, payment_record
from huzhu.enrollment.models import Enrollment, EnrollmentStatus, Invoice, InvoiceStatus, Payment
from huzhu.enrollment.receipts import receipt_token
from huzhu.enrollment.services import roster_check, roster_confirm, roster_upload
from huzhu.products.models import PayerKind

from .conftest import person, xlsx
from .test_roster import new_id

PAID_ON = datetime.date(2025, 12, 10)


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def committed(world) -> None:
    """Unit A's roster committed: 刘一 and 张三 pay 110 each (employer 50), 劳模 is gifted."""
    name = world.medical.product_version.name
    rows = [person("刘一", new_id(1), name), person("张三", world.zhangsan.id_number, name),
            person("劳模", new_id(2), name, 劳模工匠="是")]
    roster, _ = roster_upload(unit=world.unit_a, period=world.period, file_name="r.xlsx",
                              data=xlsx(rows), actor=world.lisi)
    roster_check(roster)
    roster_confirm(roster=roster, actor=world.lisi)


@pytest.fixture
def billed(period_world):
    w = period_world
    committed(w)
    w.invoice = invoice_create(unit=w.unit_a, period=w.period, actor=w.lisi)
    return w


def pay(client, invoice, follow=False, **fields):
    data = {"bank_ref": "B001", "amount": "100.00", "paid_on": "2025-12-10",
            "payer_name": "南宁示范机械厂"}
    data.update(fields)
    return client.post(reverse("billing:payment_create", args=[invoice.pk]), data, follow=follow)


def detail(client, invoice) -> str:
    response = client.get(reverse("billing:invoice_detail", args=[invoice.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_agent_bills_the_committed_roster(period_world):
    w = period_world
    committed(w)
    client = client_for(w.lisi)
    page = client.get(reverse("billing:unit_invoices", args=[w.unit_a.pk])).content.decode()
    assert "待开具缴费通知" in page and "按已提交花名册开具缴费通知" in page
    response = client.post(reverse("billing:invoice_create", args=[w.unit_a.pk]),
                           {"period": w.period.pk})
    invoice = Invoice.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("billing:invoice_detail", args=[invoice.pk])
    page = detail(client, invoice)
    for payer, amount in [("employer", "100.00"), ("member", "120.00"),
                          (w.medical.gift_payer, "110.00")]:  # the gift: the union's to settle
        label = PayerKind(payer).label
        row = f'<td>{label}</td><td class="num">\\d+</td><td class="num">{amount}</td>'
        assert re.search(row, page), label
    assert "220.00" in page and "贰佰贰拾元整" in page and "待缴费" in page
    assert "登记到账" not in page  # the agent does not confirm their own payment
    again = client.post(reverse("billing:invoice_create", args=[w.unit_a.pk]),
                        {"period": w.period.pk}, follow=True).content.decode()
    assert "没有待开具缴费通知的参保记录" in again and Invoice.objects.count() == 1


def test_agent_cannot_register_a_payment(billed):
    w = billed
    response = pay(client_for(w.lisi), w.invoice)
    assert response.status_code == 403
    assert not Payment.objects.exists()
    assert not Enrollment.objects.filter(status=EnrollmentStatus.ACTIVE).exists()


def test_partial_payment_shows_what_is_outstanding(billed):
    w = billed
    client = client_for(w.qianjiu)
    response = pay(client, w.invoice, amount="100")
    assert response.status_code == 302
    w.invoice.refresh_from_db()
    assert w.invoice.paid_fen == 10000 and w.invoice.status == InvoiceStatus.PARTLY_PAID
    page = detail(client, w.invoice)
    assert '<div class="value" id="outstanding" style="color:var(--red)">120.00</div>' in page
    assert "部分缴费" in page and "SJ2026-" in page
    assert reverse("billing:receipt_pdf", args=[Payment.objects.get().pk]) in page
    listing = client.get(reverse("billing:unit_invoices", args=[w.unit_a.pk])).content.decode()
    assert "120.00" in listing and w.invoice.number in listing


def test_overpayment_is_shown(billed):
    w = billed
    client = client_for(w.wangwu)  # the county reviewer manages units: may register payments
    pay(client, w.invoice, bank_ref="B1", amount="100.00")
    pay(client, w.invoice, bank_ref="B2", amount="1,300.50")
    w.invoice.refresh_from_db()
    assert w.invoice.status == InvoiceStatus.OVERPAID and w.invoice.overpaid_fen == 118050
    page = detail(client, w.invoice)
    assert 'id="overpaid"' in page and "1,180.50" in page and "多缴" in page
    assert Enrollment.objects.filter(status=EnrollmentStatus.ACTIVE).count() == 3


def test_same_bank_reference_twice_is_one_payment(billed):
    w = billed
    client = client_for(w.qianjiu)
    pay(client, w.invoice)
    page = pay(client, w.invoice, follow=True).content.decode()
    assert "未重复入账" in page and Payment.objects.count() == 1
    response = pay(client, w.invoice, amount="99.00")
    assert response.status_code == 400
    assert "该流水号已登记，金额不一致" in response.content.decode()
    w.invoice.refresh_from_db()
    assert w.invoice.paid_fen == 10000


@pytest.mark.parametrize("fields, field, message", [
    ({"amount": "-5"}, "amount", "金额必须大于 0"),
    ({"amount": "0"}, "amount", "金额必须大于 0"),
    ({"amount": "12.345"}, "amount", "金额最多两位小数"),
    ({"amount": "abc"}, "amount", "请输入金额数字"),
    ({"amount": ""}, "amount", "请填写到账金额"),
    ({"bank_ref": ""}, "bank_ref", "请填写银行流水号"),
    ({"bank_ref": "   "}, "bank_ref", "请填写银行流水号"),
    ({"paid_on": "10/12/2025"}, "paid_on", "日期格式应为"),
    ({"paid_on": "2999-01-01"}, "paid_on", "到账日期不能晚于今天"),
])
def test_bad_payment_input_is_refused_and_changes_nothing(billed, fields, field, message):
    w = billed
    response = pay(client_for(w.qianjiu), w.invoice, **fields)
    assert response.status_code == 400
    page = response.content.decode()
    assert f'data-field="{field}"' in page and message in page
    assert not Payment.objects.exists()
    w.invoice.refresh_from_db()
    assert w.invoice.paid_fen == 0 and w.invoice.status == InvoiceStatus.OPEN


def test_receipt_download_is_a_pdf(billed):
    w = billed
    payment = payment_record(invoice=w.invoice, bank_ref="B1", amount_fen=22000, paid_on=PAID_ON,
                             payer_name="", actor=w.qianjiu)
    response = client_for(w.lisi).get(reverse("billing:receipt_pdf", args=[payment.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-") and payment.receipt_serial in response[
        "Content-Disposition"]


def test_outsider_gets_404_everywhere(billed):
    w = billed
    payment = payment_record(invoice=w.invoice, bank_ref="B1", amount_fen=10000, paid_on=PAID_ON,
                             payer_name="", actor=w.qianjiu)
    for user in (w.zhaoliu, w.auditor):
        client = client_for(user)
        for url in [reverse("billing:unit_invoices", args=[w.unit_a.pk]),
                    reverse("billing:invoice_detail", args=[w.invoice.pk]),
                    reverse("billing:receipt_pdf", args=[payment.pk])]:
            assert client.get(url).status_code == 404, (user, url)
        assert client.post(reverse("billing:invoice_create", args=[w.unit_a.pk]),
                           {"period": w.period.pk}).status_code == 404
        assert pay(client, w.invoice, bank_ref="B2").status_code == 404
    assert Payment.objects.count() == 1 and Invoice.objects.count() == 1
    anonymous = Client().get(reverse("billing:invoice_detail", args=[w.invoice.pk]))
    assert anonymous.status_code == 302 and "/login" in anonymous["Location"]


def test_verification_page_says_genuine_without_login(billed):
    w = billed
    payment = payment_record(invoice=w.invoice, bank_ref="B1", amount_fen=12345, paid_on=PAID_ON,
                             payer_name="", actor=w.qianjiu)
    url = reverse("billing:receipt_verify", args=[receipt_token(payment.receipt_serial)])
    response = Client().get(url)
    page = response.content.decode()
    assert response.status_code == 200 and "真实有效" in page
    for shown in [payment.receipt_serial, "南宁示范机械厂", "123.45", "壹佰贰拾叁元肆角伍分",
                  "2025-12-10"]:
        assert shown in page
    for hidden in ["张三", "刘一", w.zhangsan.id_number, "B1</"]:  # no members, no bank ref
        assert hidden not in page


def test_forged_token_shows_nothing(billed):
    w = billed
    payment = payment_record(invoice=w.invoice, bank_ref="B1", amount_fen=12345, paid_on=PAID_ON,
                             payer_name="", actor=w.qianjiu)
    token = receipt_token(payment.receipt_serial)
    for forged in [payment.receipt_serial, token[:-2] + "xx", "SJ2026-00000002" + token[15:]]:
        response = client_for(w.zhaoliu).get(reverse("billing:receipt_verify", args=[forged]))
        page = response.content.decode()
        assert response.status_code == 404 and "未通过核验" in page
        assert "南宁示范机械厂" not in page and "123.45" not in page
        assert payment.receipt_serial not in page


def test_pages_query_counts_do_not_grow_with_payments(billed, django_assert_max_num_queries):
    w = billed
    client = client_for(w.qianjiu)
    for i in range(3):
        pay(client, w.invoice, bank_ref=f"B{i}", amount="10.00")
    with django_assert_max_num_queries(8):
        client.get(reverse("billing:unit_invoices", args=[w.unit_a.pk]))
    with django_assert_max_num_queries(10):
        detail(client, w.invoice)


def test_an_individuals_invoice_is_scoped_by_the_member_and_kept_off_the_public_page(
        period_world):
    from huzhu.enrollment.models import Source
    from huzhu.enrollment.single import enrollment_single
    from huzhu.members.services import MemberInput, member_create

    w = period_world
    courier = member_create(actor=None, data=MemberInput(
        name="快递小哥", id_number=new_id(7, 15, 1995), phone="13655556666",
        insurance_type="resident", is_new_form_worker=True, organisation=w.grassroots_a))
    enrollment_single(actor=None, member=courier, period=w.period,
                      product_code="chongqing-2015-medical", source=Source.SELF)
    invoice = Invoice.objects.get(member=courier)
    page = detail(client_for(w.wangwu), invoice)
    assert "快递小哥" in page and "由本人缴纳（计入应缴）" in page and "60.00" in page
    assert pay(client_for(w.wangwu), invoice, bank_ref="WX1", amount="60").status_code == 302
    payment = Payment.objects.get()
    for url in [reverse("billing:invoice_detail", args=[invoice.pk]),
                reverse("billing:receipt_pdf", args=[payment.pk])]:
        assert client_for(w.zhaoliu).get(url).status_code == 404
    pdf = client_for(w.wangwu).get(reverse("billing:receipt_pdf", args=[payment.pk]))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    url = reverse("billing:receipt_verify", args=[receipt_token(payment.receipt_serial)])
    public = Client().get(url).content.decode()
    assert "真实有效" in public and "个人缴费" in public and "60.00" in public
    assert "快递小哥" not in public and "快*" not in public  # not even masked
