"""Reading and writing the workbooks of the Excel-template formats: written
through ``huzhu.sheets`` (text stays text, a fixed creation time so the same batch gives the
same bytes), read (ours back, or the bank's result as .xlsx or .xls) with python-calamine."""

from __future__ import annotations

import datetime
import io
from decimal import Decimal
from typing import Any

from ..bankfile import MAX_RESULT_BYTES, BankFileError

FIXED_TIME = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)


def new_book(out: io.BytesIO) -> Any:
    from huzhu.sheets import workbook

    book = workbook(out)
    book.set_properties({"created": FIXED_TIME, "author": "huzhu"})
    return book


def yuan(fen: int) -> Decimal:
    return Decimal(fen) / 100


def read_sheets(data: bytes) -> dict[str, list[list[Any]]]:
    from python_calamine import CalamineWorkbook

    if len(data) > MAX_RESULT_BYTES:
        raise BankFileError([f"文件超过 {MAX_RESULT_BYTES // 1024 // 1024} MB 上限"])
    if not (data.startswith(b"PK\x03\x04") or data.startswith(b"\xd0\xcf\x11\xe0")):
        raise BankFileError(["文件不是 Excel 工作簿（.xlsx 或 .xls）：请上传银行导出的原文件"])
    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        return {name: book.get_sheet_by_name(name).to_python(skip_empty_area=False)
                for name in book.sheet_names}
    except Exception:  # noqa: BLE001 - calamine raises its own types for broken files
        raise BankFileError(["无法读取工作簿：文件已损坏"]) from None


def text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def fen(value: Any) -> int | None:
    """A yuan amount cell (a number or text with at most two decimals) in fen."""
    if isinstance(value, bool) or value is None or value == "":
        return None
    try:
        d = Decimal(str(value).strip().replace(",", ""))
    except ArithmeticError:
        return None
    if not d.is_finite() or d < 0 or (d * 100) != (d * 100).to_integral_value():
        return None
    return int(d * 100)
