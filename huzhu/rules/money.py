"""Money: integer fen inside, yuan strings only at the edges.

This is the one module that does arithmetic on money by hand (STYLE §10 rule 17):
parsing yuan to fen, formatting fen as yuan and as 大写 capitals, and applying a ratio
with the single rounding rule, ROUND_HALF_UP to the fen.

Ratios are exact integers in basis points (1 bp = 0.01 %), so 70 % is ``7000``. Applying
``bp`` to ``fen`` is ``fen * bp / 10000`` rounded half up; on non-negative integers that is
``(fen * bp * 2 + 10000) // 20000``, which numpy computes identically on int64 arrays.
No float ever touches money.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

import numpy as np

BP_ONE = 10_000  # 100 % in basis points
_MAX_FEN = 10**13  # 1e11 yuan: above any real claim, far below int64 overflow with bp factors
# The common spelling (digits, optionally a point and one or two decimals), read without Decimal:
# a settlement file carries ten amounts a record and a delivery a hundred thousand records.
_PLAIN = re.compile(r"(\d{1,14})(?:\.(\d{1,2}))?")


class MoneyError(ValueError):
    """A yuan string or ratio that cannot be read exactly."""


def parse_yuan(text: str | int | Decimal) -> int:
    """Return fen for a yuan amount such as ``"1234.56"``; at most 2 decimals, exactly."""
    if isinstance(text, bool) or isinstance(text, float):
        raise MoneyError(f"金额必须是文本或整数，不能是 {type(text).__name__}: {text!r}")
    if type(text) is str and (m := _PLAIN.fullmatch(text)):
        cents = m.group(2) or "0"
        fen = int(m.group(1)) * 100 + int(cents) * (10 if len(cents) == 1 else 1)
        if fen > _MAX_FEN:
            raise MoneyError(f"金额过大: {text!r}")
        return fen
    raw = str(text).strip().replace(",", "")
    if raw.startswith("¥"):
        raw = raw[1:]
    try:
        value = Decimal(raw)
    except InvalidOperation as exc:
        raise MoneyError(f"不是金额: {text!r}") from exc
    if not value.is_finite():
        raise MoneyError(f"不是金额: {text!r}")
    exact = value * 100
    if exact != exact.to_integral_value():
        raise MoneyError(f"金额最多两位小数: {text!r}")
    if abs(exact) > _MAX_FEN:
        raise MoneyError(f"金额过大: {text!r}")
    return int(exact)


def format_yuan(fen: int, *, grouping: bool = False) -> str:
    """Return ``"1234.56"`` (or ``"1,234.56"`` with grouping) for an amount in fen."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(int(fen)), 100)
    body = f"{whole:,}" if grouping else str(whole)
    return f"{sign}{body}.{cents:02d}"


_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_SMALL_UNITS = ["", "拾", "佰", "仟"]
_BIG_UNITS = ["", "万", "亿", "万亿"]


def _four_digits(n: int) -> str:
    out = ""
    zero_pending = False
    for pos in range(3, -1, -1):
        d = (n // 10**pos) % 10
        if d == 0:
            zero_pending = bool(out)
            continue
        if zero_pending:
            out += "零"
            zero_pending = False
        out += _DIGITS[d] + _SMALL_UNITS[pos]
    return out


def _integer_capitals(n: int) -> str:
    if n == 0:
        return "零"
    groups = []
    while n:
        groups.append(n % 10_000)
        n //= 10_000
    out = ""
    need_zero = False
    for idx in range(len(groups) - 1, -1, -1):
        g = groups[idx]
        if g == 0:
            need_zero = bool(out)
            continue
        if out and (need_zero or g < 1000):
            out += "零"
        out += _four_digits(g) + _BIG_UNITS[idx]
        need_zero = False
    return out


def capitals(fen: int) -> str:
    """Return the amount in 大写 as written on cheques: 壹仟贰佰叁拾肆元伍角陆分, 伍拾元整."""
    if fen < 0:
        return "负" + capitals(-fen)
    yuan, rest = divmod(int(fen), 100)
    jiao, fen_digit = divmod(rest, 10)
    text = _integer_capitals(yuan) + "元" if yuan else ""
    if jiao == 0 and fen_digit == 0:
        return (text or "零元") + "整"
    if jiao:
        text += _DIGITS[jiao] + "角"
    elif yuan:
        text += "零"
    if fen_digit:
        text += _DIGITS[fen_digit] + "分"
    return text


def parse_ratio(text: str | int) -> int:
    """Return basis points for ``"70%"``, ``"0.35"`` or ``"12.5%"``; exact or an error."""
    raw = str(text).strip()
    percent = raw.endswith("%")
    try:
        value = Decimal(raw[:-1] if percent else raw)
    except InvalidOperation as exc:
        raise MoneyError(f"不是比例: {text!r}") from exc
    if not value.is_finite():
        raise MoneyError(f"不是比例: {text!r}")
    bp = value * (100 if percent else BP_ONE)
    if bp != bp.to_integral_value():
        raise MoneyError(f"比例精度最多到万分之一: {text!r}")
    return int(bp)


def format_ratio(bp: int) -> str:
    """Return ``"70%"`` or ``"12.5%"`` for basis points."""
    whole, frac = divmod(bp, 100)
    return f"{whole}%" if frac == 0 else f"{whole}.{frac:02d}".rstrip("0") + "%"


def apply_ratio(fen: int, bp: int) -> int:
    """Return ``fen × bp / 10000`` rounded ROUND_HALF_UP to the fen (halves away from zero)."""
    if fen < 0:
        return -apply_ratio(-fen, bp)
    return (fen * bp * 2 + BP_ONE) // (2 * BP_ONE)


def half_up_div(numerator: int, denominator: int) -> int:
    """Return ``numerator / denominator`` rounded half up, for non-negative numerators."""
    return (numerator * 2 + denominator) // (2 * denominator)


def apply_ratio_array(fen: np.ndarray, bp: int | np.ndarray) -> np.ndarray:
    """Vector form of :func:`apply_ratio` for non-negative int64 fen (the engines clip first)."""
    return (fen * bp * 2 + BP_ONE) // (2 * BP_ONE)


def half_up_div_array(numerator: np.ndarray, denominator: int) -> np.ndarray:
    """Vector form of :func:`half_up_div` for non-negative int64 numerators."""
    return (numerator * 2 + denominator) // (2 * denominator)
