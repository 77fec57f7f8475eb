"""The enrollment world: the persona world plus period 2026 and what is offered in it.

The province offers 重庆 住院医疗 (chongqing-2015-medical, 110 yuan: employer 50, member the
rest; model workers gifted by the regional union); 南宁 also offers 北京 住院津贴
(beijing-2011-allowance, 60 yuan, paid by the member; women under 55, men under 60).
"""

from __future__ import annotations

import datetime
import io
from typing import Any

import pytest
import xlsxwriter

from huzhu.enrollment.roster_file import COLUMNS


@pytest.fixture
def period_world(world: Any) -> Any:
    return add_period(world)


def add_period(world: Any) -> Any:
    """Period 2026 and its offers, on a world (also used by the browser tests)."""
    from huzhu.products.models import Period
    from huzhu.products.services import catalog_import, offer_create

    versions = {v.code: v for v in catalog_import()}
    period = Period.objects.create(
        fund_region=world.province, code="2026", name="2026 年度",
        enroll_opens=datetime.date(2025, 11, 1), enroll_closes=datetime.date(2025, 12, 31),
        coverage_start=datetime.date(2026, 1, 1), coverage_end=datetime.date(2026, 12, 31))
    world.period = period
    world.medical = offer_create(
        period=period, organisation=world.province,
        product_version=versions["chongqing-2015-medical"], premium_per_share_fen=11000,
        split=[{"payer": "employer", "fen": 5000}, {"payer": "member", "rest": True}],
        gift_flags=["model_worker"], gift_payer="union_province")
    world.allowance = offer_create(
        period=period, organisation=world.city_a,
        product_version=versions["beijing-2011-allowance"], premium_per_share_fen=6000,
        split=[{"payer": "member", "rest": True}])
    return world


HEADERS = [title for _, title, _ in COLUMNS]


def person(name: str, id_number: str, product: str = "", **extra: str) -> dict[str, str]:
    row = {"姓名": name, "身份证号": id_number, "手机号": "13800001111", "银行卡号": "",
           "开户行": "", "医保类型": "职工医保", "工会会员": "是", "困难职工": "否",
           "劳模工匠": "否", "新就业形态": "否", "保障产品": product, "份数": "1"}
    row.update(extra)
    return row


def xlsx(rows: list[dict[str, Any]], headers: list[str] | None = None,
         sheet: str = "花名册", extra_sheets: tuple[str, ...] = (),
         merge_header: bool = False) -> bytes:
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    ws = book.add_worksheet(sheet)
    headers = headers or HEADERS
    for c, h in enumerate(headers):
        ws.write_string(0, c, h)
    if merge_header:
        ws.merge_range(0, 0, 0, 1, headers[0])
    for r, row in enumerate(rows, start=1):
        for c, h in enumerate(headers):
            value = row.get(h, "")
            if isinstance(value, float | int):
                ws.write_number(r, c, value)
            elif value is not None:
                ws.write_string(r, c, value)
    for name in extra_sheets:
        book.add_worksheet(name).write_string(0, 0, "备注")
    book.close()
    return out.getvalue()
