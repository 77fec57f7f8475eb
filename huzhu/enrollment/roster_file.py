"""Reading a roster file (xlsx from our template, or UTF-8 CSV) into header and rows.

File-level problems raise ``RosterFileError`` with a Chinese message: too large, not an xlsx,
a zip bomb, extra sheets, merged header cells, missing or renamed columns, a CSV not in UTF-8.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass
from typing import Any

from python_calamine import CalamineWorkbook

MAX_BYTES = 20 * 1024 * 1024
MAX_UNPACKED = 200 * 1024 * 1024
MAX_RATIO = 100
MAX_ROWS = 200_000
DATA_SHEET = "花名册"
OPTIONS_SHEET = "选项"
# The bank list the 开户行 column is filled from (the template's own copy, for reference).
BANKS_SHEET = "银行名录"

# (key, header, required)
COLUMNS: tuple[tuple[str, str, bool], ...] = (
    ("name", "姓名", True),
    ("id_number", "身份证号", True),
    ("phone", "手机号", False),
    ("bank_card", "银行卡号", False),
    ("bank_name", "开户行", False),
    ("insurance_type", "医保类型", True),
    ("is_union_member", "工会会员", False),
    ("is_hardship", "困难职工", False),
    ("is_model_worker", "劳模工匠", False),
    ("is_new_form_worker", "新就业形态", False),
    ("product", "保障产品", True),
    ("shares", "份数", False),
    # The member a pre-filled row belongs to: it lets a re-upload keep the stored value of a
    # cell still masked (roster.py, docs/adr/0012); blank on a new person's row.
    ("member_key", "会员编号", False),
    # A card that fails the Luhn check is taken only when the agent confirms it here, as the
    # member page asks to confirm it (issue 16 part 2).
    ("card_confirmed", "银行卡号已核对", False),
)
# The columns a mask-only role sees masked in the files it downloads (TRUST S-11, S-12).
MASKED_COLUMNS = ("name", "id_number", "phone", "bank_card")
HEADER_OF = {key: header for key, header, _ in COLUMNS}


class RosterFileError(ValueError):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass
class RosterTable:
    columns: dict[str, int]  # key -> column index
    header: list[str]
    rows: list[tuple[int, list[Any]]]  # (spreadsheet row number, cells)


def _check_zip(data: bytes) -> None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise RosterFileError("文件不是有效的 Excel 工作簿（.xlsx）") from None
    names = set(archive.namelist())
    if "[Content_Types].xml" not in names or not any(n.startswith("xl/") for n in names):
        raise RosterFileError("文件扩展名是 .xlsx，但内容不是 Excel 工作簿（可能是改名的压缩包）")
    unpacked = 0
    for info in archive.infolist():
        unpacked += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if unpacked > MAX_UNPACKED or (info.file_size > 1_000_000 and ratio > MAX_RATIO):
            raise RosterFileError("工作簿解压后体积异常（疑似压缩炸弹），已拒绝处理")


def _header_index(header: list[str]) -> dict[str, int]:
    cleaned = [str(h or "").strip().replace(" ", "").replace("*", "") for h in header]
    index: dict[str, int] = {}
    missing = []
    for key, title, required in COLUMNS:
        if title in cleaned:
            if cleaned.count(title) > 1:
                raise RosterFileError(f"表头“{title}”出现了不止一次")
            index[key] = cleaned.index(title)
        elif required:
            missing.append(title)
    if missing:
        known = {t for _, t, _ in COLUMNS}
        unknown = [h for h in cleaned if h and h not in known]
        hint = f"；无法识别的列：{'、'.join(unknown)}" if unknown else ""
        raise RosterFileError(
            f"缺少必填列：{'、'.join(missing)}{hint}。请使用平台下载的模板，不要修改表头"
        )
    return index


def _read_xlsx(data: bytes) -> RosterTable:
    _check_zip(data)
    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    except Exception:  # noqa: BLE001 - calamine raises its own types for broken files
        raise RosterFileError("无法读取工作簿：文件已损坏或不是 .xlsx 格式") from None
    sheets = list(book.sheet_names)
    extra = [s for s in sheets if s not in {DATA_SHEET, OPTIONS_SHEET, BANKS_SHEET}]
    if DATA_SHEET not in sheets:
        if len(sheets) == 1:
            data_sheet = sheets[0]
        else:
            raise RosterFileError(
                f"工作簿中没有名为“{DATA_SHEET}”的工作表；发现：{'、'.join(sheets)}"
            )
    else:
        data_sheet = DATA_SHEET
        if extra:
            raise RosterFileError(
                f"工作簿含有多余的工作表：{'、'.join(extra)}。请只在“{DATA_SHEET}”表中填写"
            )
    sheet = book.get_sheet_by_name(data_sheet)
    for merged in sheet.merged_cell_ranges or []:
        (r0, c0), (r1, c1) = merged
        if r0 == 0:
            raise RosterFileError(
                f"表头含有合并单元格（第 1 行第 {c0 + 1}–{c1 + 1} 列），请取消合并后重新上传"
            )
        raise RosterFileError(f"第 {r0 + 1} 行含有合并单元格，请取消合并后重新上传")
    rows = sheet.to_python(skip_empty_area=False)
    if not rows:
        raise RosterFileError("工作表是空的")
    return _table(rows)


def _read_csv(data: bytes) -> RosterTable:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        try:
            data.decode("gb18030")
            found = "GBK/GB18030"
        except UnicodeDecodeError:
            found = "未知编码"
        raise RosterFileError(
            f"CSV 文件不是 UTF-8 编码（看起来是 {found}）。请在 Excel 中“另存为 → CSV UTF-8（逗号分隔）”，"
            "或直接上传 .xlsx 模板"
        ) from None
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise RosterFileError("文件是空的")
    return _table(rows)


def _table(rows: list[list[Any]]) -> RosterTable:
    header = [str(h) if h is not None else "" for h in rows[0]]
    columns = _header_index(header)
    body = [(i + 2, list(r)) for i, r in enumerate(rows[1:])]
    while body and all(c in (None, "") for c in body[-1][1]):
        body.pop()  # trailing blank rows are the sheet's empty area, not data
    if len(body) > MAX_ROWS:
        raise RosterFileError(f"一次最多上传 {MAX_ROWS:,} 行，本文件有 {len(body):,} 行，请拆分")
    return RosterTable(columns=columns, header=header, rows=body)


def read_roster(data: bytes, file_name: str) -> RosterTable:
    if len(data) > MAX_BYTES:
        raise RosterFileError(f"文件超过 {MAX_BYTES // 1024 // 1024} MB 上限")
    if not data:
        raise RosterFileError("文件是空的")
    lower = file_name.lower()
    if lower.endswith(".csv"):
        return _read_csv(data)
    if lower.endswith(".xlsx"):
        return _read_xlsx(data)
    if data[:4] == b"PK\x03\x04":
        return _read_xlsx(data)
    raise RosterFileError("只接受 .xlsx（平台模板）或 UTF-8 编码的 .csv 文件")
