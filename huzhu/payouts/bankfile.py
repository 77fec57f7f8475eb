"""The first bank adapter: a generic CSV for 批量代付 (batch payments to personal cards),
and the result file (回盘文件) the bank returns. Documented in docs/data-formats.md.

Batch file, UTF-8 with BOM (so Excel and the common 网银 upload pages read it):

    批次号,总笔数,总金额
    PB20270315000001,2,2900.00
    明细号,收款账号,收款户名,开户行,金额,用途,备注
    PB20270315000001-000001,6222020200112233445,张三,中国工商银行南宁分行,1400.00,互助金,理赔 12

Result file: one header row and one row per processed line; 处理结果 is 成功, 失败 or 处理中:

    批次号,明细号,收款账号,收款户名,金额,处理结果,失败原因,银行流水号

Amounts are yuan with two decimals, turned into integer fen here; a malformed file (a blank
批次号, 明细号, 收款账号, 收款户名, 金额 or 处理结果 among its faults) is refused as a whole with
the row and column of each problem, and changes nothing.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass

from huzhu.errors import DomainError

NAME = "generic-csv"
BATCH_HEAD = ("批次号", "总笔数", "总金额")
LINE_HEAD = ("明细号", "收款账号", "收款户名", "开户行", "金额", "用途", "备注")
RESULT_HEAD = ("批次号", "明细号", "收款账号", "收款户名", "金额", "处理结果", "失败原因", "银行流水号")
OUTCOMES = {"成功": "paid", "失败": "failed", "处理中": "processing"}
# Cells a result line must fill: a blank one would skip the check of that column against what
# was sent (收款账号), or leave the line unmatched or unreadable.
REQUIRED = ("批次号", "明细号", "收款账号", "收款户名", "金额", "处理结果")
MAX_RESULT_BYTES = 20 * 1024 * 1024
_AMOUNT = re.compile(r"^(0|[1-9]\d{0,11})\.(\d{2})$")


def fen_to_yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def yuan_to_fen(text: str) -> int | None:
    m = _AMOUNT.match(text.strip())
    return int(m.group(1)) * 100 + int(m.group(2)) if m else None


@dataclass(frozen=True)
class OutLine:
    out_detail_no: str
    account_no: str
    account_name: str
    bank_name: str
    amount_fen: int
    memo: str


def render_batch(batch_no: str, lines: Iterable[OutLine]) -> bytes:
    lines = list(lines)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(BATCH_HEAD)
    w.writerow((batch_no, len(lines), fen_to_yuan(sum(ln.amount_fen for ln in lines))))
    w.writerow(LINE_HEAD)
    for ln in lines:
        w.writerow((ln.out_detail_no, ln.account_no, ln.account_name, ln.bank_name,
                    fen_to_yuan(ln.amount_fen), "互助金", ln.memo))
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


@dataclass(frozen=True)
class ResultLine:
    row: int
    batch_no: str
    out_detail_no: str
    account_no: str
    account_name: str
    amount_fen: int
    outcome: str  # paid | failed | processing
    reason: str
    bank_ref: str


class BankFileError(DomainError):
    code = "bank_file_invalid"

    def __init__(self, problems: list[str]):
        super().__init__("银行回盘文件有误，未做任何处理：" + "；".join(problems[:20]))
        self.problems = problems


def _text(data: bytes) -> str:
    if len(data) > MAX_RESULT_BYTES:
        raise BankFileError([f"文件超过 {MAX_RESULT_BYTES // 1024 // 1024} MB 上限"])
    if data.startswith(b"PK\x03\x04"):
        raise BankFileError(["这是 Excel/压缩文件，请上传银行导出的 CSV 回盘文件"])
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return data.decode("gb18030")
        except UnicodeDecodeError:
            raise BankFileError(["文件编码无法识别（应为 UTF-8 或 GBK 的 CSV）"]) from None


def parse_result(data: bytes) -> list[ResultLine]:
    """Read a result file; refuse it whole, naming each bad row and column."""
    rows = list(csv.reader(io.StringIO(_text(data))))
    while rows and not any(c.strip() for c in rows[-1]):
        rows.pop()
    if not rows:
        raise BankFileError(["文件为空"])
    head = tuple(c.strip() for c in rows[0])
    missing = [c for c in RESULT_HEAD if c not in head]
    if missing:
        raise BankFileError([f"第 1 行缺少列：{'、'.join(missing)}"])
    col = {name: head.index(name) for name in RESULT_HEAD}
    out: list[ResultLine] = []
    problems: list[str] = []
    for n, raw in enumerate(rows[1:], 2):
        if not any(c.strip() for c in raw):
            continue
        cell = {name: (raw[i].strip() if i < len(raw) else "") for name, i in col.items()}
        bad = []
        for name in REQUIRED:
            if not cell[name]:
                bad.append(f"第 {n} 行“{name}”为空")
        fen = yuan_to_fen(cell["金额"]) if cell["金额"] else None
        if cell["金额"] and fen is None:
            bad.append(f"第 {n} 行“金额”不是两位小数的元金额：{cell['金额'][:20]}")
        if cell["处理结果"] and cell["处理结果"] not in OUTCOMES:
            bad.append(f"第 {n} 行“处理结果”应为 成功、失败 或 处理中：{cell['处理结果'][:20]}")
        if cell["处理结果"] == "失败" and not cell["失败原因"]:
            bad.append(f"第 {n} 行处理结果为失败，但“失败原因”为空")
        if bad:
            problems.extend(bad)
            continue
        out.append(ResultLine(n, cell["批次号"], cell["明细号"], cell["收款账号"].replace(" ", ""),
                              cell["收款户名"], fen or 0, OUTCOMES[cell["处理结果"]],
                              cell["失败原因"][:200], cell["银行流水号"][:60]))
    if problems:
        raise BankFileError(problems)
    if not out:
        raise BankFileError(["文件没有明细行"])
    first = out[0]
    others = [ln for ln in out if ln.batch_no != first.batch_no]
    if others:
        raise BankFileError([f"第 {ln.row} 行“批次号”为 {ln.batch_no[:32]}，与第 {first.row} 行的 "
                             f"{first.batch_no[:32]} 不同：一个回盘文件只能包含一个批次"
                             for ln in others])
    return out


def render_result(lines: Iterable[ResultLine]) -> bytes:
    """Write a result file (what a bank sends back); used by the test bank and the docs."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(RESULT_HEAD)
    zh = {v: k for k, v in OUTCOMES.items()}
    for ln in lines:
        w.writerow((ln.batch_no, ln.out_detail_no, ln.account_no, ln.account_name,
                    fen_to_yuan(ln.amount_fen), zh[ln.outcome], ln.reason, ln.bank_ref))
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def parse_batch(data: bytes) -> tuple[str, list[OutLine]]:
    """Read a batch file back (the test bank reads what we send)."""
    batch_no, _count, _total, lines = parse_batch_head(data)
    return batch_no, lines


def parse_batch_head(data: bytes) -> tuple[str, int, int, list[OutLine]]:
    """A batch file read back with the count and total its head states (the cross-check)."""
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    batch_no = rows[1][0]
    lines = [OutLine(r[0], r[1], r[2], r[3], yuan_to_fen(r[4]) or 0, r[6]) for r in rows[3:] if r]
    return batch_no, int(rows[1][1]), yuan_to_fen(rows[1][2]) or 0, lines
