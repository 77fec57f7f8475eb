"""beijing-2011-allowance: 40 a day from the 4th day, 7,200 a period."""

import pytest

from tests.rules.support import codes, d, pay, pay_sequence, stay

P = "beijing-2011-allowance"


@pytest.mark.parametrize("days,expected", [(1, 0), (3, 0), (4, 4000), (5, 8000), (30, 108000)])
def test_pays_from_the_fourth_day(days, expected):
    assert pay(P, stay(days)).payable_fen == expected


def test_period_cap_of_7200_reached_mid_claim():
    claims = [stay(100, start="2024-01-05"), stay(100, start="2024-06-01")]
    assert pay_sequence(P, claims) == [388000, 720000 - 388000]


def test_accident_stays_count_too():
    assert pay(P, stay(10, flags=("accident",))).payable_fen == 28000


@pytest.mark.parametrize("gender,birth,ok", [("F", "1969-01-02", True), ("F", "1968-12-31", False),
                                             ("M", "1964-01-02", True), ("M", "1963-12-31", False)])
def test_women_under_55_men_under_60(gender, birth, ok):
    a = pay(P, stay(10, gender=gender, birth_date=d(birth)))
    assert (a.payable_fen > 0) is ok
    if not ok:
        assert codes(a, "allowance") == ["NOT_ELIGIBLE"]
