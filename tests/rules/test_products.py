"""Table-driven cases for the other catalog products, at the published boundaries."""

from datetime import timedelta

import pytest

from huzhu.rules.model import BenefitUsage, Usage
from huzhu.rules.premium import PremiumError, quote
from tests.rules.support import codes, d, facts, pay, pay_sequence, product, stay


def diagnosed(day: int, disease: str, **kw):
    """A diagnosis on day ``day`` of cover (cover starts 2024-01-01 = day 1)."""
    return facts(claim_type="diagnosis", disease=disease,
                 diagnosis_date=d("2024-01-01") + timedelta(days=day - 1), **kw)


@pytest.mark.parametrize("day,expected,code", [
    (30, 0, "WAITING_PERIOD"), (31, 100000, "WAITING_CONSOLATION"),
    (60, 100000, "WAITING_CONSOLATION"), (61, 3000000, None),
])
def test_beijing_office_women_waiting_tiers_per_share(day, expected, code):
    a = pay("beijing-office-2022-women", diagnosed(day, "w-05", shares=2, gender="F"))
    assert a.payable_fen == expected
    assert (code in codes(a, "women")) if code else codes(a, "women") == []


def test_beijing_office_in_situ_and_coverage_ends_after_payment():
    insitu = diagnosed(100, "w-insitu")
    later = diagnosed(200, "w-05")
    assert pay_sequence("beijing-office-2022-women", [insitu, later]) == [200000, 0]
    consol = diagnosed(45, "w-01")
    assert pay_sequence("beijing-office-2022-women", [consol, later]) == [50000, 0]


@pytest.mark.parametrize("day,expected", [(30, 0), (31, 50000), (90, 50000), (91, 1000000)])
def test_xian_15_disease_timing_tiers(day, expected):
    assert pay("xian-2015-allowance", diagnosed(day, "xa15-03")).payable_fen == expected


@pytest.mark.parametrize("days,expected", [(3, 0), (4, 20000), (100, 450000)])
def test_xian_allowance(days, expected):
    assert pay("xian-2015-allowance", stay(days, hospital_level=2)).payable_fen == expected


@pytest.mark.parametrize("day,first,lapse,expected", [
    (89, True, None, 0), (90, True, None, 3000000), (10, False, None, 3000000),
    (10, False, 0, 3000000), (10, False, 1, 0),
])
def test_ningbo_from_day_90_for_first_or_lapsed_joiners(day, first, lapse, expected):
    f = diagnosed(day, "w-05", shares=5, first_time=first, lapse_days=lapse)  # 5 shares: only 3 count
    assert pay("ningbo-2022-women", f).payable_fen == expected


@pytest.mark.parametrize("disease,expected", [("w-08", 600000), ("surg-hyst-oophor", 300000),
                                              ("surg-hyst-or-oophor", 200000), ("surg-myomectomy", 100000),
                                              ("ci25-02", 0)])
def test_nanping_classes(disease, expected):
    assert pay("nanping-2012-women", diagnosed(50, disease)).payable_fen == expected


@pytest.mark.parametrize("pid,total,expected", [("fuzhou-2010-hospital", "12345.67", 123457),
                                                ("fuzhou-2012-hospital", "10000.00", 130000)])
def test_fuzhou_percentage_of_total_cost(pid, total, expected):
    f = stay(5, medfee_sumamt=total, inscp_scp_amt="0.00", hifp_pay="0.00")
    assert pay(pid, f).payable_fen == expected


def test_fuzhou_cumulative_cap_50000_across_stays():
    claims = [stay(5, start=s, medfee_sumamt="200000.00", inscp_scp_amt="0", hifp_pay="0")
              for s in ("2024-02-01", "2024-04-01", "2024-06-01")]
    assert pay_sequence("fuzhou-2012-hospital", claims) == [2600000, 2400000, 0]


@pytest.mark.parametrize("paid,expected,code", [
    ("1999.99", 0, "BELOW_FIRST_TIER"), ("2000.00", 20000, None), ("3000.00", 30000, None),
    ("3000.50", 45008, None),  # gap read upward: 15 % of 3,000.50 = 450.075 → 450.08
    ("3001.00", 45015, None), ("10000.00", 450000, None), ("10000.01", 500001, None),
    ("120000.00", 5000000, None),
])
def test_enterprise_whole_amount_brackets(paid, expected, code):
    a = pay("enterprise-fund-hospital", stay(5, medfee_sumamt="200000.00", psn_part_amt=paid))
    assert a.payable_fen == expected
    if code:
        assert code in codes(a, "general")


def test_enterprise_dialysis_once_a_year_and_annual_cap():
    dial = stay(1, medfee_sumamt="5000.00", psn_part_amt="3000.00", flags=("dialysis",))
    assert pay_sequence("enterprise-fund-hospital", [dial, dial]) == [200000, 0]
    big = stay(5, medfee_sumamt="200000.00", psn_part_amt="90000.00")
    assert pay("enterprise-fund-hospital", big, Usage(product_paid_fen=1_000_000)).payable_fen == 4_000_000
    a = pay("enterprise-fund-hospital", big, Usage(product_paid_fen=1_000_000))
    assert "PRODUCT_PERIOD_CAP" in codes(a, "general")


@pytest.mark.parametrize("day,first,lapse,expected", [
    (30, True, None, 0), (31, True, None, 1500000), (90, True, None, 1500000), (91, True, None, 3000000),
    (10, False, 30, 3000000), (10, False, 31, 0),
])
def test_tianjin_waiting_and_renewal_within_30_days(day, first, lapse, expected):
    f = diagnosed(day, "tj16-13", shares=3, first_time=first, lapse_days=lapse)
    a = pay("tianjin-2022-critical", f)
    assert a.payable_fen == expected
    assert any("unpublished" in fl or "未公布" in fl for fl in a.flags)


def test_tianjin_premium_with_member_card():
    q = quote(product("tianjin-2022-critical"), 3, when=("union_card",))
    assert q.total_fen == 13500 and [p.fen for p in q.split] == [6000, 6000, 1500]
    with pytest.raises(PremiumError):
        quote(product("tianjin-2022-critical"), 4)


@pytest.mark.parametrize("years,expected", [(1, 10000), (2, 20000), (3, 30000), (7, 30000)])
def test_innermongolia_daily_subsidy_by_membership_year(years, expected):
    f = stay(10, medfee_sumamt="100.00", inscp_scp_amt="0.00", hifp_pay="0.00", membership_years=years)
    assert pay("innermongolia-2021-hospital", f).line("subsidy").payable_fen == expected


def test_innermongolia_minimum_200_and_period_cap_250000():
    small = stay(2, medfee_sumamt="1000.00", inscp_scp_amt="1000.00", hifp_pay="800.00")
    assert pay("innermongolia-2021-hospital", small).line("hospital").payable_fen == 20000
    big = stay(2, medfee_sumamt="900000.00", inscp_scp_amt="800000.00", hifp_pay="100000.00")
    a = pay("innermongolia-2021-hospital", big, Usage({"hospital": BenefitUsage(paid_fen=20_000_000)}))
    assert a.line("hospital").payable_fen == 5_000_000 and "PERIOD_CAP" in codes(a, "hospital")
    assert a.flags  # assumed segment table flagged


def test_innermongolia_deadline_90_days_after_settlement():
    f = stay(2, medfee_sumamt="1000.00", inscp_scp_amt="1000.00", hifp_pay="800.00",
             setl_date=d("2024-03-03"))
    assert pay("innermongolia-2021-hospital", f, as_of="2024-06-01").payable_fen > 0
    late = pay("innermongolia-2021-hospital", f, as_of="2024-06-02")
    assert late.payable_fen == 0 and "DEADLINE_PASSED" in codes(late, "hospital")


@pytest.mark.parametrize("disease,expected", [("w-05", 3200000), ("surg-hysterectomy", 2200000)])
def test_innermongolia_women_published_amounts(disease, expected):
    assert pay("innermongolia-2022-women", diagnosed(50, disease)).payable_fen == expected


def test_guangxi_huzhu3_needs_huzhu1_or_2_and_counts_own_expense():
    f = stay(5, medfee_sumamt="30000.00", inscp_scp_amt="20000.00", hifp_pay="15000.00",
             psn_ownpay="10000.00")
    assert codes(pay("guangxi-2024-huzhu3", f), "hospital") == ["NOT_ELIGIBLE"]
    ok = stay(5, medfee_sumamt="30000.00", inscp_scp_amt="20000.00", hifp_pay="15000.00",
              psn_ownpay="10000.00", held_products=("guangxi-2024-huzhu1",))
    assert pay("guangxi-2024-huzhu3", ok).payable_fen == 500000  # 15,000 base: 3,000 + 2,000


def test_guangxi_huzhu2_is_for_residents_insurance():
    f = stay(5, medfee_sumamt="3000.00", inscp_scp_amt="2000.00", hifp_pay="1000.00", insutype="310")
    assert codes(pay("guangxi-2024-huzhu2", f), "hospital") == ["NOT_ELIGIBLE"]


def test_hangzhou_deadline_31_march_next_year_and_cap():
    f = stay(5, medfee_sumamt="100000.00", inscp_scp_amt="90000.00", hifp_pay="20000.00", hospital_level=2)
    assert pay("hangzhou-2018-medical", f, as_of="2025-03-31").payable_fen == 3020000
    assert pay("hangzhou-2018-medical", f, as_of="2025-04-01").payable_fen == 0


def test_hangzhou_women_product_cap_across_claims():
    claims = [diagnosed(50, "w-insitu", gender="F")]
    assert pay_sequence("hangzhou-2018-women", claims) == [500000]


def test_premium_split_adds_up_for_every_product():
    for pid in ("innermongolia-2021-hospital", "hangzhou-2018-medical", "yueyang-2014-hospital"):
        q = quote(product(pid))
        assert not q.split or sum(p.fen for p in q.split) == q.total_fen
