"""The one road by which the platform writes spreadsheet cells: text stays text.

xlsxwriter's ``write()`` guesses a cell's type from a string: ``=HYPERLINK("http://evil","x")``
becomes a live formula and ``http://…`` a link. A member's name, a unit's or organisation's name,
a product name or a cell of an uploaded roster is text someone typed, so every workbook the
platform hands out is made by :func:`workbook` (xlsxwriter's guessing switched off, as a second
wall) and written through :class:`Sheet`, whose :meth:`Sheet.cell` picks the writer by Python
type: ``str`` with ``write_string`` (never a formula, never a URL, never a number), ``int`` /
``float`` / ``Decimal`` with ``write_number``, ``date`` / ``datetime`` with ``write_datetime``,
``bool`` with ``write_boolean``, ``None`` blank. Anything else is refused, so a new type must
be decided here, not guessed.

A CSV cell has no types: Excel evaluates a cell beginning with ``=``, ``+``, ``-``, ``@``, TAB or
CR as a formula. :func:`csv_cell` prefixes such text with a single quote (OWASP's advice for CSV
injection); a plain number such as ``-12.50`` is left as it is.

Bank files (huzhu/payouts/bankfile.py) do not use :func:`csv_cell`: their format is fixed by the
bank, which matches 收款户名 character for character against the account holder.
"""

from __future__ import annotations

import datetime
import io
import re
from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from xlsxwriter.format import Format
    from xlsxwriter.workbook import Workbook
    from xlsxwriter.worksheet import Worksheet

# Never let xlsxwriter turn a string into something else, even if a caller reaches past Sheet.
SAFE_OPTIONS = {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
                "strings_to_numbers": False}
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"

CSV_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")


def watermark(user: Any, use: str = "工作") -> str:
    """The line every export ends with (TRUST S-21): who exported it and when, Beijing time."""
    from huzhu import clock

    stamp = clock.local(clock.now()).strftime("%Y-%m-%d %H:%M")
    return f"导出人：{user.username}（{user}）；导出时间：{stamp}（北京时间）；仅限{use}使用"


def workbook(out: io.BytesIO) -> Workbook:
    """A new in-memory workbook writing into ``out``, with xlsxwriter's string guessing off."""
    import xlsxwriter

    return xlsxwriter.Workbook(out, dict(SAFE_OPTIONS))


class Sheet:
    """A worksheet written cell by cell, each cell's kind taken from its Python type."""

    def __init__(self, book: Workbook, name: str) -> None:
        self.book = book
        self.ws: Worksheet = book.add_worksheet(name)
        self._date: Format | None = None
        self._datetime: Format | None = None

    def cell(self, row: int, col: int, value: Any, fmt: Format | None = None) -> None:
        ws = self.ws
        if value is None:
            ws.write_blank(row, col, None, fmt)
        elif isinstance(value, str):
            ws.write_string(row, col, value, fmt)
        elif isinstance(value, bool):
            ws.write_boolean(row, col, value, fmt)
        elif isinstance(value, int | float | Decimal):
            ws.write_number(row, col, value, fmt)
        elif isinstance(value, datetime.datetime):
            if value.tzinfo is not None:
                raise TypeError("aware datetimes must be made local and naive before writing")
            ws.write_datetime(row, col, value, fmt or self._datetime_format())
        elif isinstance(value, datetime.date):
            ws.write_datetime(row, col, value, fmt or self._date_format())
        else:
            raise TypeError(f"no spreadsheet cell kind for {type(value).__name__}")

    def row(self, row: int, col: int, values: Iterable[Any], fmt: Format | None = None) -> None:
        for offset, value in enumerate(values):
            self.cell(row, col + offset, value, fmt)

    def column(self, row: int, col: int, values: Iterable[Any],
               fmt: Format | None = None) -> None:
        for offset, value in enumerate(values):
            self.cell(row + offset, col, value, fmt)

    def _date_format(self) -> Format:
        if self._date is None:
            self._date = self.book.add_format({"num_format": DATE_FORMAT})
        return self._date

    def _datetime_format(self) -> Format:
        if self._datetime is None:
            self._datetime = self.book.add_format({"num_format": DATETIME_FORMAT})
        return self._datetime


def csv_cell(value: Any) -> Any:
    """A CSV cell Excel will not evaluate: text starting with = + - @ TAB or CR gets a leading
    single quote; numbers (and text that is just a number, like ``-12.50``) pass unchanged."""
    if not isinstance(value, str) or not value.startswith(CSV_DANGEROUS):
        return value
    if _NUMBER.match(value):
        return value
    return "'" + value
