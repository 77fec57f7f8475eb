"""The claims world: the enrollment world with 张三 and 陈八 covered by 重庆 住院医疗 from
2026-01-01 (paid in December), and helpers for settlement records that add up."""

from __future__ import annotations

import datetime
import json
from typing import Any

import pytest

from tests.enrollment.conftest import (
    period_world,  # noqa: F401
    person,
    xlsx,
)

JAN1 = datetime.date(2026, 1, 1)
MEDICAL = "chongqing-2015-medical"


def yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def record(setl_id: str, certno: str, *, inscp: int = 1_000_000, hifp: int = 700_000,
           own: int = 100_000, over: int = 50_000, pre: int = 50_000,
           begin: str = "2026-03-01", end: str = "2026-03-10", **extra: Any) -> dict[str, Any]:
    """A record in yuan strings whose sums add up; amounts given in fen."""
    medfee = own + over + pre + inscp
    rec = {
        "setl_id": setl_id, "mdtrt_id": f"MD{setl_id}", "psn_no": "P1", "psn_name": "张三",
        "certno": certno, "gend": "1", "brdy": "1980-05-17", "insutype": "310",
        "med_type": "21", "begndate": begin, "enddate": end, "setl_time": f"{end} 10:00:00",
        "fixmedins_code": "H45010300001", "fixmedins_name": "广西医科大学第一附属医院",
        "hosp_lv": "3", "diag_code": "K35.800", "diag_name": "急性阑尾炎",
        "medfee_sumamt": yuan(medfee), "fulamt_ownpay_amt": yuan(own),
        "overlmt_selfpay": yuan(over), "preselfpay_amt": yuan(pre),
        "inscp_scp_amt": yuan(inscp), "hifp_pay": yuan(hifp), "fund_pay_sumamt": yuan(hifp),
        "psn_part_amt": yuan(medfee - hifp), "acct_pay": "0.00",
        "psn_cash_pay": yuan(medfee - hifp),
    }
    rec.update(extra)
    return rec


def jsonl(*records: dict[str, Any]) -> bytes:
    return "\n".join(json.dumps(r, ensure_ascii=False) for r in records).encode()


@pytest.fixture
def claims_world(period_world: Any) -> Any:  # noqa: F811
    return enroll_for_claims(period_world)


def enroll_for_claims(w: Any) -> Any:
    """张三 and 陈八 enrolled in 重庆 住院医疗 and paid (also used by the browser tests)."""
    from huzhu.enrollment.billing import invoice_create, payment_record
    from huzhu.enrollment.services import roster_check, roster_confirm, roster_upload

    name = w.medical.product_version.name
    rows = [person("张三", w.zhangsan.id_number, name, 手机号="13812341234"),
            person("陈八", w.chenba.id_number, name, 手机号="13912345678")]
    roster, _ = roster_upload(unit=w.unit_a, period=w.period, file_name="r.xlsx",
                              data=xlsx(rows), actor=w.lisi)
    roster_check(roster)
    roster_confirm(roster=roster, actor=w.lisi)
    invoice = invoice_create(unit=w.unit_a, period=w.period, actor=w.lisi)
    payment_record(invoice=invoice, bank_ref="B1", amount_fen=invoice.due_fen,
                   paid_on=datetime.date(2025, 12, 10), payer_name="南宁示范机械厂",
                   actor=w.wangwu)
    return w


@pytest.fixture
def money_world(claims_world: Any) -> Any:
    return add_money_users(claims_world)


def add_money_users(w: Any) -> Any:
    """A province reviewer (周终审) and a second finance officer (孙复核) for maker-checker."""
    from huzhu.accounts.models import User
    from huzhu.accounts.roles import Role
    from tests.conftest import PASSWORD

    w.top_reviewer = User.objects.create_user(username="zhoushen", password=PASSWORD,
                                              role=Role.REVIEWER, organisation=w.province,
                                              display_name="周终审")
    w.checker = User.objects.create_user(username="sunfuhe", password=PASSWORD,
                                         role=Role.FINANCE, organisation=w.province,
                                         display_name="孙复核")
    fund_opening(w.province)
    return w


def fund_opening(region: Any, fen: int = 100_000_000) -> None:
    """The fund account's balance carried over (¥1,000,000 by default), as a union has when it
    starts on the platform: without it the balance guard refuses every payout batch."""
    import datetime

    from huzhu.ledger.opening import fund_opening_record

    fund_opening_record(region=region, amount_fen=fen, on=datetime.date(2025, 12, 31), actor=None)


def ledger_clean() -> list[str]:
    from huzhu.ledger.verify import ledger_problems

    return [str(p) for p in ledger_problems()]
