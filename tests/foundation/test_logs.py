"""Logs never carry a full ID number, card or phone, and a value cannot forge a line (TRUST S-20).
The formatter is tested as configured in settings, on the loggers that write the platform's lines."""

from __future__ import annotations

import logging
import sys

import pytest

from huzhu.logs import SafeFormatter, one_line, redact
from huzhu.pii.masking import mask_bank_card

ID = "11010519491231002X"
CARD = "6222021234567893029"
PHONE = "13812345678"


def test_redact_masks_each_shape():
    text = f"member {ID} card {CARD} phone {PHONE} claim 63 amount 1234500"
    out = redact(text)
    assert ID not in out and CARD not in out and PHONE not in out
    assert "110105********002X" in out
    assert "138****5678" in out
    assert mask_bank_card(CARD) in out
    assert "claim 63 amount 1234500" in out


@pytest.mark.parametrize("glued", [f"x{ID}", f"{PHONE}9", f"A{CARD}"])
def test_numbers_glued_to_other_text_are_left(glued):
    assert redact(glued) == glued


def test_one_line_escapes_breaks():
    assert one_line("a\r\nINFO forged") == "a\\r\\nINFO forged"


def _handler_formatter(logger_name: str) -> logging.Formatter:
    logger = logging.getLogger(logger_name)
    handlers = logger.handlers or logging.getLogger().handlers
    formatters = [h.formatter for h in handlers if isinstance(h.formatter, SafeFormatter)]
    assert formatters, f"{logger_name} writes through no SafeFormatter"
    return formatters[0]


@pytest.mark.parametrize("name", ["huzhu.api", "django.request", "django.server"])
def test_configured_loggers_mask_and_keep_one_line(name):
    formatter = _handler_formatter(name)
    record = logging.LogRecord(name, logging.WARNING, __file__, 1,
                               '"GET /members/?q=%s HTTP/1.1" 200 %s\nFORGED line', (ID, PHONE), None)
    line = formatter.format(record)
    assert ID not in line and PHONE not in line
    assert "\n" not in line and "\\nFORGED line" in line


def test_a_traceback_is_masked_but_keeps_its_lines():
    formatter = _handler_formatter("django.request")
    try:
        raise ValueError(f"bad card {CARD}")
    except ValueError:
        record = logging.LogRecord("django.request", logging.ERROR, __file__, 1, "failed", (),
                                   sys.exc_info())
    line = formatter.format(record)
    assert CARD not in line and mask_bank_card(CARD) in line
    assert "Traceback" in line and line.count("\n") >= 2
