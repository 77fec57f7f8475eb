"""款项明细 (issue 17 part 5): the finance officer's list of every payout of the fund region,
filtered by status, kind, dates, name and batch, and its xlsx; another region's finance and
people without payouts see nothing of it."""

from __future__ import annotations

import datetime
import io
from typing import Any

import openpyxl
import pytest
from django.test import Client

from huzhu.audit.models import Action, Event
from huzhu.payouts.models import Payout
from huzhu.payouts.services import batch_build
from tests.enrollment.conftest import period_world  # noqa: F401

from .conftest import file_claim, pay_world  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def listed(pay_world: Any) -> Any:  # noqa: F811
    w = pay_world
    for i, m in enumerate(w.members[2:5]):
        file_claim(w, m, f"PL-{i}", begin=datetime.date(2026, 3, 2 + 10 * i))
    assert Payout.objects.count() == 3
    w.batch = batch_build(fund_region=w.province, actor=w.qianjiu).batch
    file_claim(w, w.members[5], "PL-9", begin=datetime.date(2026, 6, 1))  # after the batch
    return w


def _client(user: Any) -> Client:
    c = Client()
    c.force_login(user)
    return c


def test_the_list_filters_and_totals(listed: Any) -> None:
    w = listed
    c = _client(w.qianjiu)
    page = c.get("/payouts/list/").content.decode()
    assert page.count('<tr><td>') == 4 and "4,200.00" in page or "5,600.00" in page
    batched = c.get("/payouts/list/?status=batched").content.decode()
    assert batched.count("<tr><td>") == 3 and w.batch.number in batched
    payable = c.get("/payouts/list/?status=payable").content.decode()
    assert payable.count("<tr><td>") == 1 and "1,400.00" in payable
    by_batch = c.get(f"/payouts/list/?batch={w.batch.number}").content.decode()
    assert by_batch.count("<tr><td>") == 3
    by_name = c.get("/payouts/list/?q=孙三").content.decode()
    assert by_name.count("<tr><td>") == 1
    bad = c.get("/payouts/list/?from=2026-13-01&status=nonsense").content.decode()
    assert "日期格式应为 YYYY-MM-DD" in bad and "未知的支付状态" in bad
    assert bad.count("<tr><td>") == 4  # a bad filter is left out, named, never widening
    assert "batched" not in c.get("/payouts/list/?status=batched").content.decode().split(
        "<tbody>")[1]  # statuses in Chinese


def test_the_export_is_the_filtered_list_masked_and_recorded(listed: Any) -> None:
    w = listed
    r = _client(w.qianjiu).get("/payouts/list/export.xlsx?status=batched")
    assert r.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(r.content)).active
    rows = [row for row in sheet.iter_rows(values_only=True) if row[0] is not None]
    assert rows[0][:6] == ("款项编号", "类型", "会员", "理赔编号", "金额（元）", "支付状态")
    body = [row for row in rows[1:] if isinstance(row[0], int)]
    assert len(body) == 3 and {row[5] for row in body} == {"已编入批次"}
    assert {row[6] for row in body} == {w.batch.number}
    assert all(row[4] == 1400 for row in body)
    assert "导出人" in str(rows[-1][0])
    ev = Event.objects.get(action=Action.EXPORT, object_type="payouts.payout")
    assert ev.after["rows"] == 3 and ev.after["filters"] == {"status": "batched"}
    assert ev.org_path == w.province.path
    for row in body:
        assert not any(str(m.bank_card) in str(row) for m in w.members)


def test_other_regions_and_other_roles_see_none_of_it(listed: Any) -> None:
    w = listed
    other = _client(w.finance_b).get("/payouts/list/").content.decode()
    assert other.count("<tr><td>") == 0 and "没有符合条件的款项" in other
    assert _client(w.finance_b).get("/payouts/list/export.xlsx").status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(
        _client(w.finance_b).get("/payouts/list/export.xlsx").content)).active
    assert not [r for r in book.iter_rows(values_only=True) if isinstance(r[0], int)]
    for user in (w.lisi, w.wangwu, w.zhangsan_user):
        assert _client(user).get("/payouts/list/").status_code == 404
        assert _client(user).get("/payouts/list/export.xlsx").status_code == 404
