"""The payouts world: the enrollment world with a roster of members who all hold bank cards,
covered by 重庆 住院医疗 (chongqing-2015-medical, two claims a year) for 2026, plus a
province reviewer and a second finance officer for maker-checker."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from tests.claims.conftest import MEDICAL, record
from tests.enrollment.conftest import (
    period_world,  # noqa: F401
    person,
    xlsx,
)

AS_OF = datetime.date(2026, 12, 31)
NAMES = ["赵一", "钱二", "孙三", "李四海", "周五", "吴六", "郑七", "王八宝", "冯九", "陈十",
         "褚十一", "卫十二", "蒋十三", "沈十四", "韩十五", "杨十六"]


@pytest.fixture
def pay_world(period_world: Any) -> Any:  # noqa: F811
    """``w.members``: 张三, 陈八 and the people of NAMES, every one with a card."""
    from huzhu.accounts.models import User
    from huzhu.accounts.roles import Role
    from huzhu.demo.identities import bank_card, resident_id
    from huzhu.enrollment.billing import invoice_create, payment_record
    from huzhu.enrollment.services import roster_check, roster_confirm, roster_upload
    from huzhu.members.models import Member
    from tests.conftest import PASSWORD

    w = period_world
    name = w.medical.product_version.name
    ids = [resident_id("450103", datetime.date(1970 + i, 3, 1 + i), 100 + 2 * i)
           for i in range(len(NAMES))]
    rows = [person("张三", w.zhangsan.id_number, name, 手机号="13812341234",
                   银行卡号=w.zhangsan.bank_card, 开户行="中国工商银行南宁分行"),
            person("陈八", w.chenba.id_number, name, 手机号="13912345678",
                   银行卡号=bank_card(6001), 开户行="中国农业银行南宁分行")]
    rows += [person(n, ids[i], name, 手机号=f"1351234{i:04d}", 银行卡号=bank_card(7000 + i),
                    开户行="广西农村信用社") for i, n in enumerate(NAMES)]
    roster, _ = roster_upload(unit=w.unit_a, period=w.period, file_name="r.xlsx",
                              data=xlsx(rows), actor=w.lisi)
    roster_check(roster)
    roster_confirm(roster=roster, actor=w.lisi)
    invoice = invoice_create(unit=w.unit_a, period=w.period, actor=w.lisi)
    payment_record(invoice=invoice, bank_ref="B1", amount_fen=invoice.due_fen,
                   paid_on=datetime.date(2025, 12, 10), payer_name="南宁示范机械厂",
                   actor=w.wangwu)
    by_id = {m.id_number: m for m in Member.objects.filter(unit=w.unit_a)}
    w.members = [by_id[w.zhangsan.id_number], by_id[w.chenba.id_number]] + [by_id[x] for x in ids]
    assert all(m.bank_card for m in w.members)
    w.top_reviewer = User.objects.create_user(username="zhoushen", password=PASSWORD,
                                              role=Role.REVIEWER, organisation=w.province,
                                              display_name="周终审")
    w.checker = User.objects.create_user(username="sunfuhe", password=PASSWORD,
                                         role=Role.FINANCE, organisation=w.province,
                                         display_name="孙复核")
    from tests.claims.conftest import fund_opening

    fund_opening(w.province)
    return w


def file_claim(w: Any, member: Any, setl_id: str, *, begin: datetime.date,
               days: int = 9, as_of: datetime.date = AS_OF, **amounts: Any) -> Any:
    """Ingest a settlement for ``member`` and file a claim on it (the agent files it)."""
    from huzhu.claims.ingest import settlement_ingest
    from huzhu.claims.services import claim_file

    end = begin + datetime.timedelta(days=days)
    rec = record(setl_id, member.id_number, begin=begin.isoformat(), end=end.isoformat(),
                 psn_name=member.name, **amounts)
    s = settlement_ingest(record=rec, actor=w.bureau).settlement
    return claim_file(member=member, settlement=s, product_code=MEDICAL, actor=w.lisi,
                      source="agent", as_of=as_of)


def change_card(member: Any, card: str) -> Any:
    from huzhu.members.models import Member

    m = Member.objects.get(pk=member.pk)
    m.bank_card = card
    m.save()
    return m
