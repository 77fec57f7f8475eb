"""The four Chongqing 2015 products (工人日报 2015-07-24)."""

import pytest

from tests.rules.support import codes, d, facts, pay, pay_sequence, stay

ALLOW, MED, ACC, CRIT = ("chongqing-2015-allowance", "chongqing-2015-medical",
                         "chongqing-2015-accident", "chongqing-2015-critical")


@pytest.mark.parametrize("days,expected,code", [
    (3, 0, "STAY_TOO_SHORT"),   # "more than 3 days": 3 is not enough
    (4, 20000, None),           # 4 days, all of them paid ([G] no deduction)
    (43, 215000, None),         # P4 check: 43 × 50 = 2,150 under the 2015 reading
    (90, 450000, None),         # exactly at the 4,500 cap
    (91, 450000, "PER_CLAIM_CAP"),
])
def test_allowance_pays_50_a_day_for_stays_over_3_days(days, expected, code):
    a = pay(ALLOW, stay(days, hospital_level=2))
    assert a.payable_fen == expected
    if code:
        assert code in codes(a, "allowance")


def test_allowance_needs_a_level_2_hospital():
    a = pay(ALLOW, stay(10, hospital_level=1))
    assert a.payable_fen == 0 and codes(a, "allowance") == ["HOSPITAL_LEVEL"]


def test_allowance_third_claim_of_a_year_pays_nothing():
    claims = [stay(5, start=s, hospital_level=3) for s in ("2024-02-01", "2024-05-01", "2024-09-01")]
    assert pay_sequence(ALLOW, claims) == [25000, 25000, 0]


def test_allowance_short_stay_does_not_use_up_a_claim():
    claims = [stay(2, start="2024-02-01", hospital_level=2)] + [
        stay(5, start=s, hospital_level=2) for s in ("2024-05-01", "2024-09-01")]
    assert pay_sequence(ALLOW, claims) == [0, 25000, 25000]


def test_allowance_is_for_illness_not_accident():
    a = pay(ALLOW, stay(10, hospital_level=2, flags=("accident",)))
    assert codes(a, "allowance") == ["NOT_APPLICABLE"]


def test_allowance_age_band_16_to_60():
    ok = stay(10, hospital_level=2, birth_date=d("1963-06-01"))   # 60 on 2024-01-01
    old = stay(10, hospital_level=2, birth_date=d("1963-01-01"))  # 61
    assert pay(ALLOW, ok).payable_fen == 50000
    assert codes(pay(ALLOW, old), "allowance") == ["NOT_ELIGIBLE"]


@pytest.mark.parametrize("inscp,hifp,expected,code", [
    ("10000.00", "7000.00", 140000, "RATIO_SHARE_CAP"),  # 70% × 3,000 = 2,100 > 20% × 7,000 = 1,400
    ("10000.00", "9000.00", 70000, None),                # 70% × 1,000 = 700 < 1,800
    ("1000.00", "0.00", 0, "RATIO_SHARE_CAP"),           # nothing from the pooled fund: nothing
    ("10000.00", "8235.29", 123529, None),               # 70% × 1,764.71 = 1,235.297 → 1,235.30? cap 1,647.06
])
def test_medical_is_70_percent_capped_at_20_percent_of_the_pooled_fund(inscp, hifp, expected, code):
    a = pay(MED, stay(5, medfee_sumamt="20000.00", inscp_scp_amt=inscp, hifp_pay=hifp))
    if expected == 123529:
        expected = 123530  # half up: 1,235.297 → 1,235.30
    assert a.payable_fen == expected
    if code:
        assert code in codes(a, "medical")


def test_medical_two_claims_a_year():
    c = dict(medfee_sumamt="20000.00", inscp_scp_amt="10000.00", hifp_pay="9000.00")
    claims = [stay(5, start=s, **c) for s in ("2024-02-01", "2024-05-01", "2024-09-01")]
    assert pay_sequence(MED, claims) == [70000, 70000, 0]


@pytest.mark.parametrize("outcome,grade,during,expected", [
    ("death", None, False, 1000000), ("death", None, True, 2000000),
    ("disability", 1, False, 1000000), ("disability", 10, False, 100000),
    ("disability", 5, True, 1200000),
])
def test_accident_death_and_disability_grades(outcome, grade, during, expected):
    f = facts(claim_type="accident", accident_outcome=outcome, disability_grade=grade,
              during_stay=during, event_date=d("2024-04-01"))
    a = pay(ACC, f)
    assert a.payable_fen == expected
    assert any("grades" in flag for flag in a.flags)  # the assumed grade table is flagged


def test_critical_illness_on_the_25_list_once_in_a_life():
    f = facts(claim_type="diagnosis", disease="ci25-01", diagnosis_date=d("2024-04-01"))
    assert pay_sequence(CRIT, [f, f]) == [9000000, 0]
    other = facts(claim_type="diagnosis", disease="w-05", diagnosis_date=d("2024-04-01"))
    assert codes(pay(CRIT, other), "critical") == ["DISEASE_NOT_LISTED"]


def test_critical_family_member_and_continued_treatment():
    spouse = facts(claim_type="diagnosis", subject="spouse", disease="ci25-02",
                   diagnosis_date=d("2024-04-01"))
    a = pay(CRIT, spouse)
    assert a.payable_fen == 200000 and codes(a, "critical") == ["NOT_APPLICABLE"]
    cont = facts(claim_type="diagnosis", disease="ci25-01", diagnosis_date=d("2024-04-01"),
                 flags=("continued_treatment",))
    assert codes(pay(CRIT, cont), "continued") == ["NO_PRIOR_PAYMENT"]
    from huzhu.rules.model import Usage
    assert pay(CRIT, cont, Usage(prior_period_paid=True)).payable_fen == 200000
