"""Log lines cannot be forged and keep personal numbers masked (TRUST S-20), on the loggers as
configured in settings: the platform's, Django's request log and the development server's
request lines (which carry query strings such as a search by ID number)."""

from __future__ import annotations

import logging
import sys

import pytest

from huzhu.pii.logfilter import RedactPersonalData, one_line, redact
from huzhu.pii.masking import mask_bank_card

ID = "11010519491231109X"
CARD = "6222021234567893029"
PHONE = "13812345678"


def test_one_line_escapes_breaks():
    assert one_line("a\r\nINFO forged") == "a\\r\\nINFO forged"


def test_numbers_glued_to_other_text_are_left():
    for glued in (f"x{ID}", f"{PHONE}a", f"A{CARD}"):
        assert redact(glued) == glued


def _handler(logger_name: str) -> logging.Handler:
    logger = logging.getLogger(logger_name)
    handlers = [h for h in (logger.handlers or logging.getLogger().handlers)
                if any(isinstance(f, RedactPersonalData) for f in h.filters)]
    assert handlers, f"{logger_name} writes through no RedactPersonalData filter"
    return handlers[0]


@pytest.mark.parametrize("name", ["huzhu.api", "django.request", "django.server"])
def test_configured_loggers_mask_and_keep_one_line(name):
    handler = _handler(name)
    record = logging.LogRecord(name, logging.WARNING, __file__, 1,
                               '"GET /members/?q=%s HTTP/1.1" 200 %s\nFORGED line', (ID, PHONE),
                               None)
    assert handler.filter(record)
    line = handler.format(record)
    assert ID not in line and PHONE not in line
    assert "\n" not in line and "\\nFORGED line" in line


def test_a_traceback_is_masked_but_keeps_its_lines():
    handler = _handler("django.request")
    try:
        raise ValueError(f"bad card {CARD}")
    except ValueError:
        record = logging.LogRecord("django.request", logging.ERROR, __file__, 1, "failed", (),
                                   sys.exc_info())
    assert handler.filter(record)
    line = handler.format(record)
    assert mask_bank_card(CARD).replace(" ", "") in line and f"bad card {CARD}" not in line
    assert "Traceback" in line and line.count("\n") >= 2
