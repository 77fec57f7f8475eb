"""A city-level pool with three counties, one in deficit, settled by hand (资金统筹、风险共担).

梧州市 pools its fund; the city bears 70 % of a county's period loss. Figures in yuan:

| county | premium  | refunds | benefits   | 未决 change | net income | incurred   | deficit    |
|--------|----------|---------|------------|-------------|------------|------------|------------|
| 万秀区 | 500,000  | 0       | 380,000    | 20,000      | 500,000    | 400,000    | —          |
| 长洲区 | 300,000  | 5,000   | 250,000    | 0           | 295,000    | 250,000    | —          |
| 龙圩区 | 200,000  | 0       | 312,345.65 | 0           | 200,000    | 312,345.65 | 112,345.65 |

70 % of 112,345.65 is 78,641.955 → 78,641.96 (ROUND_HALF_UP to the fen); 龙圩区 keeps
33,703.69. The city itself has 100,000 of government subsidy and 40,000 of benefits. Pool:
premium 1,100,000, net income 1,095,000, incurred 1,002,345.65, loss ratio 91.54 %; with
1,000,000 carried over, the fund closes at 1,092,654.35.
"""

from __future__ import annotations

import datetime
from fractions import Fraction

import pytest

from huzhu.errors import DomainError
from huzhu.ledger.models import AccountKind as K
from huzhu.ledger.models import PayerKind as P
from huzhu.ledger.risk_sharing import risk_sharing_configure, risk_sharing_settle
from huzhu.ledger.selectors import accounts_under, balance_as_of, trial_balance
from huzhu.ledger.services import account_open, ledger_post
from huzhu.ledger.statement import format_percent, fund_statement
from huzhu.organisations.services import org_create

START, END = datetime.date(2025, 1, 1), datetime.date(2025, 12, 31)


def yuan(text: str) -> int:
    from huzhu.rules.money import parse_yuan

    return parse_yuan(text)


class Pool:
    def __init__(self) -> None:
        self.city = org_create(actor=None, name="梧州市总工会", kind="city", parent=None,
                               is_fund_region=True)
        self.wanxiu, self.changzhou, self.longxu = (
            org_create(actor=None, name=n, kind="county", parent=self.city)
            for n in ("万秀区总工会", "长洲区总工会", "龙圩区总工会"))
        self.bank = account_open(org=self.city, kind=K.BANK)
        self.payable = account_open(org=self.city, kind=K.BENEFIT_PAYABLE)
        self.n = 0

    def post(self, debit, credit, amount: str, day=datetime.date(2025, 6, 30)) -> None:
        self.n += 1
        fen = yuan(amount)
        ledger_post(key=f"wz:{self.n}", legs=[(debit, fen), (credit, -fen)], memo="",
                    business_date=day, source=("test", str(self.n)))

    def premium(self, org, payer, amount: str) -> None:
        income = account_open(org=org, kind=K.PREMIUM_INCOME, payer_kind=payer,
                              product_code="HZ1")
        self.post(self.bank, income, amount)

    def benefit(self, org, amount: str) -> None:
        self.post(account_open(org=org, kind=K.BENEFIT_EXPENSE, product_code="HZ1"),
                  self.payable, amount)


@pytest.fixture
def pool(db) -> Pool:
    p = Pool()
    p.post(p.bank, account_open(org=p.city, kind=K.FUND_BALANCE), "1000000.00",
           day=datetime.date(2024, 12, 31))
    p.premium(p.wanxiu, P.MEMBER, "300000.00")
    p.premium(p.wanxiu, P.EMPLOYER, "200000.00")
    p.benefit(p.wanxiu, "380000.00")
    p.post(account_open(org=p.wanxiu, kind=K.RESERVE_CHANGE),
           account_open(org=p.wanxiu, kind=K.PENDING_RESERVE), "20000.00")
    p.premium(p.changzhou, P.MEMBER, "300000.00")
    p.post(account_open(org=p.changzhou, kind=K.REFUND), p.bank, "5000.00")
    p.benefit(p.changzhou, "250000.00")
    p.premium(p.longxu, P.MEMBER, "120000.00")
    p.premium(p.longxu, P.UNION_COUNTY, "80000.00")
    p.benefit(p.longxu, "312345.65")
    subsidy = account_open(org=p.city, kind=K.SUBSIDY_RECEIVABLE)
    gov = account_open(org=p.city, kind=K.PREMIUM_INCOME, payer_kind=P.GOVERNMENT,
                       product_code="HZ1")
    p.post(subsidy, gov, "100000.00")
    p.benefit(p.city, "40000.00")
    p.post(p.payable, p.bank, "900000.00")  # most benefits paid out of the 专户
    risk_sharing_configure(pool=p.city, city_share_bp=7000)
    return p


def test_only_the_county_in_deficit_shares_its_loss_with_the_city(pool):
    lines = {line.county.name: line for line in risk_sharing_settle(
        pool=pool.city, period_code="2025", start=START, end=END)}
    assert lines["万秀区总工会"].deficit_fen == 0 and lines["万秀区总工会"].transaction is None
    assert lines["长洲区总工会"].deficit_fen == 0 and lines["长洲区总工会"].transaction is None
    longxu = lines["龙圩区总工会"]
    assert (longxu.net_income_fen, longxu.incurred_fen) == (yuan("200000"), yuan("312345.65"))
    assert longxu.deficit_fen == yuan("112345.65")
    assert longxu.city_share_fen == yuan("78641.96")  # 78,641.955 rounded half up
    assert longxu.county_share_fen == yuan("33703.69")
    legs = sorted((leg.account.org.name, leg.amount_fen) for leg in longxu.transaction.legs.all())
    assert legs == [("梧州市总工会", yuan("78641.96")), ("龙圩区总工会", -yuan("78641.96"))]
    assert trial_balance(path=pool.city.path).difference == 0


def test_settling_again_is_a_no_op_and_changed_figures_are_refused(pool):
    first = risk_sharing_settle(pool=pool.city, period_code="2025", start=START, end=END)
    again = risk_sharing_settle(pool=pool.city, period_code="2025", start=START, end=END)
    assert [line.transaction for line in first] == [line.transaction for line in again]
    pool.benefit(pool.longxu, "100.00")
    with pytest.raises(DomainError, match="幂等键"):
        risk_sharing_settle(pool=pool.city, period_code="2025", start=START, end=END)


def test_a_county_ratio_overrides_the_pool_default(pool):
    risk_sharing_configure(pool=pool.city, county=pool.longxu, city_share_bp=5000)
    lines = risk_sharing_settle(pool=pool.city, period_code="2025", start=START, end=END)
    longxu = next(line for line in lines if line.county == pool.longxu)
    assert longxu.city_share_fen == yuan("56172.83")  # 56,172.825 → half up


def test_the_pool_statement_shows_the_settlement_and_reconciles(pool):
    risk_sharing_settle(pool=pool.city, period_code="2025", start=START, end=END)
    st = fund_statement(org=pool.city, start=START, end=END)
    f = st.figures
    assert f.premium_fen == yuan("1100000") and f.refunds_fen == yuan("5000")
    assert f.benefits_fen == yuan("982345.65") and f.reserve_change_fen == yuan("20000")
    assert f.risk_sharing_fen == 0  # internal to the pool
    assert st.opening_fen == yuan("1000000")
    assert st.closing_fen == yuan("1092654.35") and st.reconciles
    assert st.reserve_closing_fen == yuan("20000")
    assert f.loss_ratio == Fraction(100234565, 109500000)
    assert format_percent(f.loss_ratio) == "91.54%"
    assert dict(st.income_by_payer) == {"职工个人": yuan("720000"), "用人单位": yuan("200000"),
                                        "县（区）总工会": yuan("80000"),
                                        "政府补贴": yuan("100000")}
    assert dict(st.benefits_by_product) == {"HZ1": yuan("982345.65")}
    subs = {s.org.name: s.figures for s in st.sub_pools}
    assert subs["龙圩区总工会"].risk_sharing_fen == yuan("78641.96")
    assert subs["龙圩区总工会"].result_fen == -yuan("33703.69")
    # The fund equals what the fund owns less what it owes.
    net_assets = balance_as_of(accounts=accounts_under(pool.city.path).filter(
        kind__in=[K.BANK, K.SUBSIDY_RECEIVABLE, K.BENEFIT_PAYABLE, K.PENDING_RESERVE]))
    assert net_assets == st.closing_fen


def test_a_county_statement_shows_what_it_received(pool):
    risk_sharing_settle(pool=pool.city, period_code="2025", start=START, end=END)
    st = fund_statement(org=pool.longxu, start=START, end=END)
    assert st.figures.risk_sharing_fen == yuan("78641.96")
    assert st.closing_fen == -yuan("33703.69") and st.reconciles


def test_it_needs_a_configured_ratio_and_a_city_pool(pool, world):
    from huzhu.ledger.models import RiskSharingRatio

    RiskSharingRatio.objects.all().delete()
    with pytest.raises(DomainError, match="未配置"):
        risk_sharing_settle(pool=pool.city, period_code="2025", start=START, end=END)
    with pytest.raises(DomainError, match="市级统筹区"):
        risk_sharing_settle(pool=world.province, period_code="2025", start=START, end=END)
