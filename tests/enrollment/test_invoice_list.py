"""Finance's list of invoices (issue 16 part 3): every invoice of its fund region, filtered by
unit, state, period and overdue; not another region's (北海 pools its own fund under the
province), and nobody else's."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from huzhu.enrollment.models import Invoice, InvoiceStatus

pytestmark = pytest.mark.django_db


def invoice(w, unit, number, due, paid, status):
    return Invoice.objects.create(unit=unit, period=w.period, number=number, status=status,
                                  total_fen=due, due_fen=due, paid_fen=paid,
                                  org_path=unit.org_path,
                                  fund_region_id=unit.organisation.fund_region_id
                                  or unit.organisation.pk)


def listed(client, **params) -> set[str]:
    body = client.get(reverse("billing:invoice_list"), params).content.decode()
    return {n for n in ("INV-A-OPEN", "INV-A-PAID", "INV-B-PART", "INV-C-OPEN") if n in body}


def test_finance_filters_its_invoices(period_world):
    w = period_world
    invoice(w, w.unit_a, "INV-A-OPEN", 10_000, 0, InvoiceStatus.OPEN)
    invoice(w, w.unit_a, "INV-A-PAID", 10_000, 10_000, InvoiceStatus.PAID)
    invoice(w, w.unit_b, "INV-B-PART", 10_000, 4_000, InvoiceStatus.PARTLY_PAID)
    invoice(w, w.unit_c, "INV-C-OPEN", 10_000, 0, InvoiceStatus.OPEN)  # 北海, its own region
    with time_machine.travel(datetime.datetime.combine(w.period.enroll_closes,
                                                       datetime.time(10)).astimezone()
                             - datetime.timedelta(days=1), tick=False):
        client = Client()
        client.force_login(w.qianjiu)  # the province's finance
        assert listed(client) == {"INV-A-OPEN", "INV-A-PAID", "INV-B-PART"}
        assert listed(client, state="open") == {"INV-A-OPEN", "INV-B-PART"}
        assert listed(client, state="paid") == {"INV-A-PAID"}
        assert listed(client, q=w.unit_b.name) == {"INV-B-PART"}
        assert listed(client, period=str(w.period.pk)) == listed(client)
        assert listed(client, overdue="1") == set()  # the enrollment window is still open
        finance_b = Client()
        finance_b.force_login(w.finance_b)
        assert listed(finance_b) == {"INV-C-OPEN"}
        reviewer = Client()
        reviewer.force_login(w.wangwu)
        assert reviewer.get(reverse("billing:invoice_list")).status_code == 404
    with time_machine.travel(datetime.datetime.combine(w.period.enroll_closes,
                                                       datetime.time(10)).astimezone()
                             + datetime.timedelta(days=2), tick=False):
        client = Client()
        client.force_login(w.qianjiu)
        assert listed(client, overdue="1") == {"INV-A-OPEN", "INV-B-PART"}
        body = client.get(reverse("billing:invoice_list"), {"overdue": "1"}).content.decode()
        assert "逾期" in body and "60.00" in body  # 尚欠 of the partly paid one
