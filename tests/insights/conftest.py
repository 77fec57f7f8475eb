"""The insights worlds. Reports: the claims world (张三 and 陈八 of 南宁示范机械厂 covered by 重庆
住院医疗 for 2026, the province's fund opened with ¥1,000,000) plus 孙七 of 柳州钢圈制造公司
enrolled too, and one approved claim each for 张三 (¥1,400.00), 陈八 (¥700.00) and 孙七
(¥1,400.00). The simulator's small world: the claims world with 孙七 enrolled too, claims on known
amounts, and finance officers of the province and of each city."""

from __future__ import annotations

import datetime
import hashlib
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

AS_OF = datetime.date(2026, 6, 20)


def enroll_sunqi(w: Any) -> None:
    from huzhu.enrollment.billing import invoice_create, payment_record
    from huzhu.enrollment.services import roster_check, roster_confirm, roster_upload

    rows = [person("孙七", w.sunqi.id_number, w.medical.product_version.name,
                   手机号="13712345678")]
    roster, _ = roster_upload(unit=w.unit_b, period=w.period, file_name="b.xlsx",
                              data=xlsx(rows), actor=None)
    roster_check(roster)
    roster_confirm(roster=roster, actor=None)
    invoice = invoice_create(unit=w.unit_b, period=w.period, actor=None)
    payment_record(invoice=invoice, bank_ref="B2", amount_fen=invoice.due_fen,
                   paid_on=datetime.date(2025, 12, 11), payer_name="柳州钢圈制造公司",
                   actor=w.wangwu)


def file(w: Any, member: Any, setl_id: str, *, inscp: int, hifp: int, begin: str,
         end: str) -> Any:
    from huzhu.claims.ingest import settlement_ingest
    from huzhu.claims.services import claim_file

    s = settlement_ingest(record=record(setl_id, member.id_number, inscp=inscp, hifp=hifp,
                                        begin=begin, end=end), actor=w.bureau).settlement
    return claim_file(member=member, settlement=s, product_code=MEDICAL, actor=None,
                      source="agency", as_of=AS_OF)


@pytest.fixture
def sim_world(world: Any) -> Any:
    from huzhu.accounts.models import User
    from huzhu.accounts.roles import Role
    from tests.conftest import PASSWORD

    w = add_money_users(enroll_for_claims(add_period(world)))
    enroll_sunqi(w)
    # 张三: two stays, base (inscp − hifp) 1,000 元 each; 陈八: one stay, base 3,000 元;
    # 孙七 (柳州): one stay, base 2,000 元. Rate 70 %, capped at 20 % of hifp_pay.
    w.c1 = file(w, w.zhangsan, "S1", inscp=1_000_000, hifp=900_000, begin="2026-02-01",
                end="2026-02-05")
    w.c2 = file(w, w.zhangsan, "S2", inscp=1_000_000, hifp=900_000, begin="2026-03-01",
                end="2026-03-05")
    w.c3 = file(w, w.chenba, "S3", inscp=2_000_000, hifp=1_700_000, begin="2026-04-01",
                end="2026-04-09")
    w.c4 = file(w, w.sunqi, "S4", inscp=1_500_000, hifp=1_300_000, begin="2026-05-01",
                end="2026-05-03")

    def user(name: str, org: Any) -> Any:
        return User.objects.create_user(username=name, password=PASSWORD, role=Role.FINANCE,
                                        organisation=org, display_name=name)

    w.fin_nanning = user("fin_nn", w.city_a)
    w.fin_liuzhou = user("fin_lz", w.city_b)
    w.leader = User.objects.create_user(username="leader", password=PASSWORD,
                                        role=Role.LEADERSHIP, organisation=w.province,
                                        display_name="领导")
    return w


def tiered_version(rates: tuple[str, str] = ("50%", "70%")) -> Any:
    """A stored version of 重庆 住院医疗 whose rate is two bands: up to 500 元 and above."""
    from huzhu.products.models import ProductVersion

    old = ProductVersion.objects.get(code=MEDICAL, version="2015.1")
    low, high = rates
    tiers = ('tier_mode = "marginal"\ngaps = "upper"\ntiers = [\n'
             f'  {{ from = "0.00", to = "500.00", rate = "{low}" }},\n'
             f'  {{ from = "500.00", rate = "{high}" }},\n]')
    doc = old.document.replace('rate = "70%"', tiers).replace('version = "2015.1"',
                                                             'version = "2015.9"')
    assert doc != old.document
    return ProductVersion.objects.create(code=MEDICAL, version="2015.9", name=old.name,
                                         document=doc, lists_document=old.lists_document,
                                         digest=hashlib.sha256(doc.encode()).hexdigest())
