"""Identifiers as people type them (issue 16 part 2): full-width digits and spaces become ASCII,
any other non-ASCII digit is refused with the field named; the residence permits of Hong Kong,
Macao and Taiwan residents and the foreign permanent resident ID card are taken as ID numbers."""

from __future__ import annotations

import pytest
from stdnum.cn import ric

from huzhu.pii.identifiers import (
    IdentifierError,
    check_bank_card,
    check_phone,
    check_resident_id,
)

CARD = "6222021234567893029"
ID = "11010519491231109X"


def full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def with_check(first17: str) -> str:
    return first17 + ric.calc_check_digit(first17 + "0")  # it reads the first 17 only


def test_full_width_digits_spaces_and_dashes_become_ascii():
    assert check_resident_id(full_width(ID.lower())).number == ID
    assert check_resident_id("110105\u3000194912311\u300009x").number == ID
    assert check_phone(full_width("+86 138-1234-5678")) == "13812345678"
    assert check_bank_card(full_width("6222 0212 3456 7893 029")).value == CARD
    assert check_bank_card("6222\u20140212345678930\u201329").value == CARD


@pytest.mark.parametrize(("check", "raw", "words"), [
    (check_bank_card, "622202123456789302²", "银行卡号只能由数字组成"),
    (check_bank_card, "٦٢٢٢٠٢١٢٣٤٥٦٧٨٩٣٠٢٩", "银行卡号只能由数字组成"),
    (check_phone, "1381234567²", "手机号应为 11 位"),
    (check_phone, "١٣٨١٢٣٤٥٦٧٨", "手机号应为 11 位"),
    (check_resident_id, "11010519491231109²", "身份证号只能由数字组成"),
])
def test_other_unicode_digits_are_refused_naming_the_field(check, raw, words):
    with pytest.raises(IdentifierError) as err:
        check(raw)
    assert words in err.value.message


@pytest.mark.parametrize(("region", "kind"), [("810000", "港澳台居民居住证"),
                                              ("820000", "港澳台居民居住证"),
                                              ("830000", "港澳台居民居住证")])
def test_residence_permits_of_hong_kong_macao_and_taiwan_residents(region, kind):
    number = with_check(region + "19900101001")
    got = check_resident_id(number)
    assert (got.number, got.kind, got.gender) == (number, kind, "M")
    assert got.birth_date.isoformat() == "1990-01-01"
    wrong = number[:17] + ("0" if number[17] != "0" else "1")
    with pytest.raises(IdentifierError, match="校验位"):
        check_resident_id(wrong)


def test_the_foreign_permanent_resident_id_card():
    number = with_check("931840" + "19850315" + "012")
    got = check_resident_id(number)
    assert (got.kind, got.gender, got.birth_date.isoformat()) == ("外国人永久居留身份证", "F",
                                                                  "1985-03-15")


def test_an_ordinary_id_keeps_its_kind_and_unknown_regions_are_still_refused():
    assert check_resident_id(ID).kind == "居民身份证"
    with pytest.raises(IdentifierError, match="行政区划代码"):
        check_resident_id(with_check("123456" + "19900101001"))  # no such division
