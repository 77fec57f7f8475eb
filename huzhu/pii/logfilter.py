"""A safety net for logs (TRUST S-20): whatever reaches a log handler has every run of digits
shaped like a resident ID, a mobile phone or a bank card masked with the one pattern of
``huzhu.pii.masking``, in the message, its arguments and a traceback; and a message's carriage
returns and line feeds are written as ``\\r`` and ``\\n``, so text from a request cannot forge a
log line of its own (log injection). A traceback keeps its lines.

The platform does not log personal values (tests/foundation/test_no_pi_in_logs.py); this filter
catches the ones a library or an exception message might carry. Attached to every handler in
``settings.LOGGING``.
"""

from __future__ import annotations

import logging
import re

from .masking import mask_bank_card, mask_id_number, mask_phone

# Longest first, each a whole run of digits: an 18-character ID, a 12-19 digit card, then an
# 11-digit mobile number starting 1[3-9].
_PATTERN = re.compile(
    r"(?<![0-9A-Za-z])(?:(?P<id>\d{17}[\dXx])|(?P<card>\d{12,19})|(?P<phone>1[3-9]\d{9}))"
    r"(?![0-9A-Za-z])")
_FORMATTER = logging.Formatter()


def _mask(match: re.Match[str]) -> str:
    text = match.group(0)
    if match.group("id"):
        return mask_id_number(text)
    if match.group("phone"):
        return mask_phone(text)
    return mask_bank_card(text).replace(" ", "")


def redact(text: str) -> str:
    return _PATTERN.sub(_mask, text)


def one_line(text: str) -> str:
    """``text`` with CR and LF written as escapes, so it stays on its own line."""
    return text.replace("\r", "\\r").replace("\n", "\\n")


class RedactPersonalData(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string: keep what there is
            message = str(record.msg)
        record.msg, record.args = one_line(redact(message)), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = _FORMATTER.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True
