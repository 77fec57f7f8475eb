"""Validation of Chinese identifiers: resident ID, unified social credit code, phone, bank card.

Each ``check_*`` returns the normalised value and any warnings a staff user may confirm, or raises
``IdentifierError`` with a Chinese message fit to show next to the field.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from functools import lru_cache

from stdnum import luhn
from stdnum.cn import ric, uscc


class IdentifierError(ValueError):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Checked:
    value: str
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ResidentId:
    number: str
    birth_date: datetime.date
    gender: str  # "M" or "F"
    # 居民身份证; 港澳台居民居住证 (region 810000/820000/830000); 外国人永久居留身份证 (starts with 9)
    kind: str = "居民身份证"


# Full-width forms (an IME's ０–９, Ａ–Ｚ, the ideographic space) are what people type; they
# become their ASCII selves. Any other non-ASCII character (², ٣, a Roman numeral) is refused:
# Python's isdigit() would take it, a bank would not.
_FULL_WIDTH = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}


# The provinces (省级行政区划代码) that issue foreign permanent resident ID cards.
_PROVINCES = frozenset("11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 "
                       "53 54 61 62 63 64 65".split())


def _clean(raw: str | None) -> str:
    """``raw`` with full-width characters made half-width, spaces and hyphens removed."""
    return re.sub(r"[\s\-\u2010-\u2015]", "", (raw or "").translate(_FULL_WIDTH))


def _digits(value: str) -> bool:
    return value.isascii() and value.isdigit()


@lru_cache(maxsize=8192)
def _region_known(code: str) -> bool:
    """Whether the 6-digit division code ever existed.

    stdnum's ``get_birth_place`` also demands the code existed in the birth year, but people
    born before a division was created carry its code (numbers are issued later), so only
    existence is checked.
    """
    from stdnum import numdb

    parts = numdb.get("cn/loc").info(code)
    return any("county" in props for _, props in parts)


_SCIENTIFIC = re.compile(r"^\d(\.\d+)?[eE]\+?\d+$")


def _reject_spreadsheet_number(raw: str, label: str) -> None:
    if _SCIENTIFIC.match(raw) or re.fullmatch(r"\d+\.0", raw):
        raise IdentifierError(
            "excel_number",
            f"{label}被 Excel 当作数字保存（{raw}），已丢失位数；请把该列设为文本后重新填写",
        )


def check_resident_id(raw: str) -> ResidentId:
    """Validate an 18-digit resident ID number (GB 11643-1999), also in the two other forms
    built on it: the residence permit of Hong Kong, Macao and Taiwan residents (region code
    810000, 820000, 830000) and the foreign permanent resident ID card of 2023 (first digit 9);
    both carry the birth date and the check digit in the same places."""
    value = _clean(raw).upper()
    if not value:
        raise IdentifierError("required", "身份证号不能为空")
    _reject_spreadsheet_number(value, "身份证号")
    if len(value) == 15 and _digits(value):
        raise IdentifierError(
            "legacy_15", "不接受 15 位旧身份证号，请填写 18 位公民身份号码"
        )
    if len(value) != 18:
        raise IdentifierError("length", f"身份证号应为 18 位，实际为 {len(value)} 位")
    if not _digits(value[:17]) or not (_digits(value[17]) or value[17] == "X"):
        raise IdentifierError("format", "身份证号只能由数字组成，最后一位可以是 X")
    try:
        # What stdnum's ric.get_birth_date reads, from the 17 ASCII digits checked above
        # (its own cleaning of the number again was most of this check's time in an import).
        birth = datetime.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise IdentifierError(
            "birth_date", f"身份证号中的出生日期 {value[6:14]} 不存在"
        ) from None
    today = datetime.datetime.now(datetime.UTC).date()
    if birth > today or birth.year < 1900:
        raise IdentifierError("birth_date", f"身份证号中的出生日期 {value[6:14]} 不合理")
    if ric.calc_check_digit(value) != value[17]:
        raise IdentifierError("checksum", "身份证号校验位错误，请核对每一位数字")
    if value[:6] in ("810000", "820000", "830000"):
        kind = "港澳台居民居住证"
    elif value[0] == "9" and value[1:3] in _PROVINCES:  # 9, the issuing province, nationality
        kind = "外国人永久居留身份证"
    elif _region_known(value[:6]):
        kind = "居民身份证"
    else:
        raise IdentifierError("region", f"身份证号前 6 位行政区划代码 {value[:6]} 不存在")
    gender = "M" if int(value[16]) % 2 == 1 else "F"
    return ResidentId(number=value, birth_date=birth, gender=gender, kind=kind)


def check_uscc(raw: str) -> Checked:
    """Validate a unified social credit code; a checksum failure is only a warning."""
    value = _clean(raw).upper()
    if not value:
        raise IdentifierError("required", "统一社会信用代码不能为空")
    if len(value) != 18:
        raise IdentifierError("length", f"统一社会信用代码应为 18 位，实际为 {len(value)} 位")
    if any(c not in uscc._alphabet for c in value) or not _digits(value[2:8]):
        raise IdentifierError(
            "format", "统一社会信用代码含有不允许的字符（不含 I、O、S、V、Z，第 3–8 位为数字）"
        )
    if uscc.calc_check_digit(value[:17]) != value[17]:
        return Checked(value, ["统一社会信用代码校验位不符，请核对营业执照后确认"])
    return Checked(value)


_PHONE = re.compile(r"^1[3-9][0-9]{9}$")


def check_phone(raw: str) -> str:
    """Validate a mainland mobile number, stripping a +86 or 0086 prefix."""
    value = _clean(raw)
    if not value:
        raise IdentifierError("required", "手机号不能为空")
    _reject_spreadsheet_number(value, "手机号")
    for prefix in ("+86", "0086"):
        if value.startswith(prefix):
            value = value[len(prefix):]
    if not _PHONE.match(value):
        raise IdentifierError("format", "手机号应为 11 位，以 13–19 开头")
    return value


def check_bank_card(raw: str) -> Checked:
    """Validate a bank card number (16–19 digits); a Luhn failure is only a warning."""
    value = _clean(raw)
    if not value:
        raise IdentifierError("required", "银行卡号不能为空")
    _reject_spreadsheet_number(value, "银行卡号")
    if not _digits(value):
        raise IdentifierError("format", "银行卡号只能由数字组成")
    if not 16 <= len(value) <= 19:
        raise IdentifierError("length", f"银行卡号应为 16–19 位，实际为 {len(value)} 位")
    if not luhn.is_valid(value):
        return Checked(value, ["银行卡号未通过 Luhn 校验，请与持卡人核对后确认"])
    return Checked(value)
