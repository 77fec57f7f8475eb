"""Identifier validation: the published vectors and mutated digits."""

from __future__ import annotations

import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from huzhu.demo.identities import bank_card, resident_id
from huzhu.pii.identifiers import (
    IdentifierError,
    check_bank_card,
    check_phone,
    check_resident_id,
    check_uscc,
)
from huzhu.pii.masking import mask_bank_card, mask_id_number, mask_name, mask_phone


@pytest.mark.parametrize("number, code", [
    ("11010519491231002X", None),
    ("110105194912310021", "checksum"),
    ("360426199101010071", None),
    ("360426199101010072", "checksum"),
    ("120103198806018241", None),
    ("230307196304054513", "checksum"),
    ("11010519491331002X", "birth_date"),
    ("1.10105E+17", "excel_number"),
    ("110105491231002", "legacy_15"),
    ("11010519491231002", "length"),
    ("11010519491231002Y", "format"),
    ("999999198001010011", "region"),
    ("", "required"),
])
def test_resident_id_vectors(number, code):
    if code is None:
        assert check_resident_id(number).number == number
    else:
        with pytest.raises(IdentifierError) as info:
            check_resident_id(number)
        assert info.value.code == code
        assert info.value.message  # a Chinese sentence for the person


def test_resident_id_derives_birth_date_and_gender():
    rid = check_resident_id("11010519491231002X")
    assert rid.birth_date == datetime.date(1949, 12, 31) and rid.gender == "F"
    assert check_resident_id("360426199101010071").gender == "M"
    assert check_resident_id(" 11010519491231002x ").number == "11010519491231002X"


@given(
    birth=st.dates(datetime.date(1950, 1, 1), datetime.date(2005, 12, 31)),
    order=st.integers(0, 999),
    position=st.integers(0, 16),
    delta=st.integers(1, 9),
)
def test_a_mutated_digit_is_caught(birth, order, position, delta):
    good = resident_id("450103", birth, order)
    assert check_resident_id(good).number == good
    digits = list(good)
    digits[position] = str((int(digits[position]) + delta) % 10)
    with pytest.raises(IdentifierError):
        check_resident_id("".join(digits))


@pytest.mark.parametrize("code, warned", [
    ("91350100M000100Y43", False), ("91110000101623741K", False),
    ("911101066976941872", False), ("91350100M000100Y4A", True), ("91350211M0000XUF46", True),
])
def test_uscc_vectors(code, warned):
    assert bool(check_uscc(code).warnings) is warned


@pytest.mark.parametrize("code", ["91350100M00010", "91350100M000100YI3", "91ABCD00M000100Y43"])
def test_uscc_malformed_is_an_error(code):
    with pytest.raises(IdentifierError):
        check_uscc(code)


def test_bank_card_vectors():
    assert not check_bank_card("6225881414207430").warnings
    assert check_bank_card("6225881414207431").warnings
    assert not check_bank_card("6227007200120897790").warnings
    for bad, code in [("622588141420743", "length"), ("62258814142074301234", "length"),
                      ("6225a81414207430", "format"), ("6.22588E+15", "excel_number")]:
        with pytest.raises(IdentifierError) as info:
            check_bank_card(bad)
        assert info.value.code == code


@given(serial=st.integers(0, 10**11), position=st.integers(0, 17), delta=st.integers(1, 9))
def test_luhn_catches_any_single_digit_change(serial, position, delta):
    card = bank_card(serial)
    digits = list(card)
    digits[position] = str((int(digits[position]) + delta) % 10)
    assert check_bank_card("".join(digits)).warnings


@pytest.mark.parametrize("raw, expected", [
    ("13812341234", "13812341234"), ("+86 138 1234 1234", "13812341234"),
    ("008613812341234", "13812341234"),
])
def test_phone_normalised(raw, expected):
    assert check_phone(raw) == expected


@pytest.mark.parametrize("raw", ["12812341234", "1381234123", "138123412345", "1.38123E+10"])
def test_phone_rejected(raw):
    with pytest.raises(IdentifierError):
        check_phone(raw)


def test_the_one_mask_pattern():
    assert mask_id_number("110101199001011234") == "110101********1234"
    assert mask_phone("13812341234") == "138****1234"
    assert mask_bank_card("6222020000003029") == "6222 **** **** 3029"
    assert mask_bank_card("6222020000000003029") == "6222 **** **** **** 3029"
    assert mask_name("张小三") == "张*三"
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳小锋") == "欧**锋"
