"""Home pages say what to do (issue 17 part 4): each role's first block lists today's work, each
item a count and a link, within the person's own scope."""

from __future__ import annotations

import datetime

import pytest
from django.test import Client
from django.urls import reverse

from tests.claims import conftest as claims_conftest
from tests.claims import test_review
from tests.claims.test_review import in_review
from tests.enrollment import conftest as enrollment_conftest
from tests.enrollment.conftest import person, xlsx
from tests.enrollment.test_pages import upload
from tests.enrollment.test_roster import new_id
from tests.payouts import conftest as payouts_conftest
from tests.payouts.conftest import file_claim

# The other directories' worlds, as fixtures here too.
period_world = enrollment_conftest.period_world
claims_world = claims_conftest.claims_world
money_world = claims_conftest.money_world
review_world = test_review.review_world
pay_world = payouts_conftest.pay_world
pytestmark = pytest.mark.django_db


def home(user) -> str:
    client = Client()
    client.force_login(user)
    return client.get(reverse("web:home")).content.decode()


def test_the_agent_sees_rosters_to_fix_and_invoices_to_pay(period_world):
    w = period_world
    client = Client()
    client.force_login(w.lisi)
    upload(client, w, xlsx([person("坏人", "123", w.medical.product_version.name)]))
    page = home(w.lisi)
    assert "今天要做的事" in page and "有错误，请更正后重新上传" in page
    assert reverse("enrollment:roster_detail", args=[1]).rsplit("/", 2)[0] in page
    from huzhu.enrollment.billing import invoice_create
    from huzhu.enrollment.services import roster_check, roster_confirm, roster_upload

    roster, _ = roster_upload(unit=w.unit_a, period=w.period, file_name="ok.xlsx",
                              data=xlsx([person("刘一", new_id(1), w.medical.product_version.name)]),
                              actor=w.lisi)
    roster_check(roster)
    roster_confirm(roster=roster, actor=w.lisi)
    invoice_create(unit=w.unit_a, period=w.period, actor=w.lisi)
    page = home(w.lisi)
    assert "1 张缴费通知尚未缴清" in page
    assert reverse("billing:unit_invoices", args=[w.unit_a.pk]) in page
    assert "缴费通知尚未缴清" not in home(w.zhaoliu)  # another city's staff


def test_the_reviewer_sees_the_queue_and_what_is_overdue(review_world):
    w = review_world
    in_review(w, "S1", filed=datetime.date(2026, 3, 2))  # due 03-04, long past
    page = home(w.wangwu)
    assert "1 件理赔待您审核" in page and "其中 1 件已超过审核时限" in page
    assert reverse("claims:queue") in page
    assert "待您审核" not in home(w.zhaoliu)  # another city: nothing of this claim


def test_finance_sees_payables_to_batch(pay_world):
    w = pay_world
    for i, m in enumerate(w.members[:2]):
        file_claim(w, m, f"TD{i}", begin=datetime.date(2026, 3, 2))
    page = home(w.qianjiu)
    assert "2 笔互助金待编入代付批次" in page and reverse("payouts:index") in page
    assert "待编入代付批次" not in home(w.finance_b)  # 北海's finance


def test_a_member_gets_no_staff_to_do_block(world):
    page = home(world.zhangsan_user)
    assert "今天要做的事" not in page and "今天没有待办事项" not in page
