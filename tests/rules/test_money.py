import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from huzhu.rules.money import (
    MoneyError,
    apply_ratio,
    apply_ratio_array,
    capitals,
    format_ratio,
    format_yuan,
    parse_ratio,
    parse_yuan,
)


@pytest.mark.parametrize("text,fen", [("0", 0), ("1234.56", 123456), ("50", 5000), ("0.5", 50),
                                      ("1,000.00", 100000), ("¥3.01", 301), (12, 1200)])
def test_parse_yuan_reads_exact_amounts(text, fen):
    assert parse_yuan(text) == fen


@pytest.mark.parametrize("bad", ["1.234", "abc", "", "NaN", 1.5, True])
def test_parse_yuan_rejects_inexact_or_non_amounts(bad):
    with pytest.raises(MoneyError):
        parse_yuan(bad)


def test_format_yuan_round_trips_and_groups():
    assert format_yuan(123456) == "1234.56"
    assert format_yuan(123456789, grouping=True) == "1,234,567.89"
    assert format_yuan(-5) == "-0.05"


@pytest.mark.parametrize("fen,text", [
    (123456, "壹仟贰佰叁拾肆元伍角陆分"), (5000, "伍拾元整"), (0, "零元整"), (5, "伍分"),
    (100005, "壹仟元零伍分"), (1000000, "壹万元整"), (10010000, "壹拾万零壹佰元整"),
    (405000, "肆仟零伍拾元整"), (9000000, "玖万元整"), (10000000000, "壹亿元整"),
    (120, "壹元贰角"),
])
def test_capitals_write_amounts_as_on_cheques(fen, text):
    assert capitals(fen) == text


@pytest.mark.parametrize("text,bp", [("70%", 7000), ("0.35", 3500), ("12.5%", 1250), ("1", 10000)])
def test_parse_ratio_gives_basis_points(text, bp):
    assert parse_ratio(text) == bp
    assert parse_ratio(format_ratio(bp)) == bp


def test_parse_ratio_rejects_finer_than_a_basis_point():
    with pytest.raises(MoneyError):
        parse_ratio("0.123456")


@pytest.mark.parametrize("fen,bp,out", [(5, 5000, 3), (15, 3000, 5), (1, 5000, 1), (1, 4999, 0),
                                         (100, 3333, 33), (150, 3000, 45), (-5, 5000, -3)])
def test_apply_ratio_rounds_half_up_to_the_fen(fen, bp, out):
    assert apply_ratio(fen, bp) == out


def test_apply_ratio_array_matches_scalar():
    fen = np.arange(0, 100_000, 7, dtype=np.int64)
    for bp in (0, 1, 3000, 3333, 5000, 7000, 10000):
        assert apply_ratio_array(fen, bp).tolist() == [apply_ratio(int(x), bp) for x in fen]



def _outcome(text):
    try:
        return parse_yuan(text)
    except MoneyError:
        return "refused"


@given(st.from_regex(r"\A-?[0-9]{1,16}(\.[0-9]{0,3})?\Z"))
def test_parse_yuan_fast_path_means_what_decimal_means(text):
    """Plain digit strings are read without Decimal; a trailing space sends the same text
    through the Decimal path, and both must give the same fen or both refuse."""
    assert _outcome(text) == _outcome(text + " ")
