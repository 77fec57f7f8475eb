"""The one log formatter (TRUST S-20): a log line never carries a full ID number, bank card or
phone, and a value cannot forge a log line.

The code logs ids, never personal numbers; this formatter is the net under that habit. Before a
record is written, every run of digits shaped like a resident ID number (18 characters), a bank
card (16–19 digits) or a mainland mobile number (11 digits from 1) is replaced by its mask, the
same pattern as on screen (``huzhu.pii.masking``), and carriage returns and line feeds inside the
message are written as ``\\r`` and ``\\n`` so that text from a request cannot start a line of its
own. A traceback keeps its lines but has its numbers masked too.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from huzhu.pii.masking import mask_bank_card, mask_id_number, mask_phone

# Digits not glued to other digits; the longest shapes are tried first.
_NUMBERS = re.compile(r"(?<![0-9A-Za-z])(\d{17}[0-9Xx]|\d{16,19}|1\d{10})(?![0-9A-Za-z])")


def _mask(match: re.Match[str]) -> str:
    text = match.group(1)
    if len(text) == 18:
        return mask_id_number(text)
    if len(text) == 11:
        return mask_phone(text)
    return mask_bank_card(text)


def redact(text: str) -> str:
    """``text`` with every ID-, card- or phone-shaped number masked."""
    return _NUMBERS.sub(_mask, text)


def one_line(text: str) -> str:
    """``text`` with CR and LF written as escapes, so it stays on its own line."""
    return text.replace("\r", "\\r").replace("\n", "\\n")


class SafeFormatter(logging.Formatter):
    """A ``logging.Formatter`` that masks personal numbers and neutralises line breaks."""

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 (logging's name)
        record.message = one_line(redact(record.message))
        return super().formatMessage(record)

    def formatException(self, ei: Any) -> str:  # noqa: N802
        return redact(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:  # noqa: N802
        return redact(super().formatStack(stack_info))
