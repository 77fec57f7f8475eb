"""Synthetic but valid identifiers for demo data and tests."""

from __future__ import annotations

import datetime

from stdnum import luhn
from stdnum.cn import ric, uscc

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def resident_id(region: str, birth: datetime.date, order: int) -> str:
    """Return a valid 18-digit ID; ``order`` 0..999, odd for men, even for women."""
    body = f"{region}{birth:%Y%m%d}{order % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")


def social_credit_code(region: str, serial: int) -> str:
    """Return a valid unified social credit code for an enterprise (91…) in ``region``."""
    tail = ""
    n = serial
    for _ in range(9):
        tail = USCC_ALPHABET[n % 31] + tail
        n //= 31
    body = f"91{region}{tail}"
    return body + uscc.calc_check_digit(body)


def bank_card(serial: int, prefix: str = "622202") -> str:
    """Return a 19-digit card number that passes Luhn."""
    body = f"{prefix}{serial:012d}"
    return body + luhn.calc_check_digit(body)


def phone(serial: int) -> str:
    return f"13{serial % 10}{serial % 100_000_000:08d}"
