"""At 07:30 in Beijing it is still yesterday in UTC (issue 14 part 8): the payment, the bank
batch and the day close all take Beijing's date, and the pages show Beijing's time."""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from huzhu.enrollment.billing import payment_record
from huzhu.enrollment.models import Invoice
from huzhu.enrollment.views_billing import PaymentForm
from huzhu.errors import DomainError
from huzhu.payouts.dayclose import payout_day_close
from huzhu.payouts.services import result_import

from .conftest import file_claim
from .test_bankfile import lines_of, raw, row, sent_batch

pytestmark = pytest.mark.django_db

D = datetime.date
SHANGHAI = ZoneInfo("Asia/Shanghai")
MORNING = datetime.datetime(2026, 12, 8, 7, 30, tzinfo=SHANGHAI)


def test_every_money_step_at_half_past_seven_uses_beijings_date(pay_world, tmp_path, client):
    w = pay_world
    for i, m in enumerate(w.members[:3]):
        file_claim(w, m, f"BJ{i}", begin=D(2026, 3, 2))
    assert MORNING.astimezone(datetime.UTC).date() == D(2026, 12, 7)
    with time_machine.travel(MORNING, tick=False):
        # The payment form's default date (today, Beijing) passes the form and the service.
        form = PaymentForm(data={"bank_ref": "B-MORNING", "amount": "10.00",
                                 "paid_on": "2026-12-08", "payer_name": ""})
        assert form.is_valid(), form.errors
        invoice = Invoice.objects.get(unit=w.unit_a, period=w.period)
        payment = payment_record(invoice=invoice, bank_ref="B-MORNING", amount_fen=1000,
                                 paid_on=D(2026, 12, 8), payer_name="", actor=w.wangwu)
        assert payment.paid_on == D(2026, 12, 8)
        tomorrow = PaymentForm(data={"bank_ref": "B2", "amount": "1.00", "paid_on": "2026-12-09"})
        assert tomorrow.errors["paid_on"] == ["到账日期不能晚于今天"]

        batch = sent_batch(w, tmp_path, 3)
        assert batch.number.startswith("PB20261208")
        result_import(batch=batch, data=raw([row(x) for x in lines_of(batch)]),
                      file_name="morning.csv", actor=w.qianjiu)
        close = payout_day_close(fund_region=w.province, date=D(2026, 12, 8), actor=w.qianjiu)
        assert (close.date, close.paid_count) == (D(2026, 12, 8), 3)
        with pytest.raises(DomainError):
            payout_day_close(fund_region=w.province, date=D(2026, 12, 9), actor=w.qianjiu)

        client.force_login(w.qianjiu)
        html = client.get(reverse("payouts:batch", args=[batch.pk])).content.decode()
        assert "2026-12-08 07:30" in html and "2026-12-07 23:30" not in html
