"""The reports world: the claims world (张三 and 陈八 of 南宁示范机械厂 covered by 重庆 住院医疗
for 2026, the province's fund opened with ¥1,000,000) plus 孙七 of 柳州钢圈制造公司 enrolled
too, and one approved claim each for 张三 (¥1,400.00), 陈八 (¥700.00) and 孙七 (¥1,400.00)."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from tests.claims.conftest import MEDICAL, add_money_users, enroll_for_claims, record
from tests.enrollment.conftest import add_period, person, xlsx


@pytest.fixture(autouse=True)
def _fresh_cache() -> Any:
    """The public pages' cache and rate counters belong to one test."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


def approve(w: Any, member: Any, setl_id: str, **amounts: Any) -> Any:
    from huzhu.claims.ingest import settlement_ingest
    from huzhu.claims.models import Claim

    rec = record(setl_id, member.id_number, psn_name=member.name, **amounts)
    settlement_ingest(record=rec, actor=w.bureau, as_of=datetime.date(2026, 3, 20))
    return Claim.objects.get(setl_id=setl_id)


@pytest.fixture
def report_world(world: Any) -> Any:
    from huzhu.claims.models import ClaimPolicy
    from huzhu.enrollment.billing import invoice_create, payment_record
    from huzhu.enrollment.services import roster_check, roster_confirm, roster_upload

    w = add_money_users(enroll_for_claims(add_period(world)))
    name = w.medical.product_version.name
    roster, _ = roster_upload(unit=w.unit_b, period=w.period, file_name="b.xlsx",
                              data=xlsx([person("孙七", w.sunqi.id_number, name,
                                                手机号="13712345678")]), actor=w.zhaoliu)
    roster_check(roster)
    roster_confirm(roster=roster, actor=w.zhaoliu)
    invoice = invoice_create(unit=w.unit_b, period=w.period, actor=w.zhaoliu)
    payment_record(invoice=invoice, bank_ref="B2", amount_fen=invoice.due_fen,
                   paid_on=datetime.date(2025, 12, 11), payer_name="柳州钢圈制造公司",
                   actor=w.qianjiu)
    ClaimPolicy.objects.create(product_code=MEDICAL, auto_claim=True)
    w.claim_zhang = approve(w, w.zhangsan, "S1")
    w.claim_chen = approve(w, w.chenba, "S2", inscp=500_000, hifp=350_000)
    w.claim_sun = approve(w, w.sunqi, "S3")
    return w
