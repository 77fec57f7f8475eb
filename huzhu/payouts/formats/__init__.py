"""Bank file formats (adapters), one per bank format, behind one interface: each writes a
batch file the bank takes (:meth:`BankFormat.render`), reads it back (:meth:`read_batch`: the
cross-check and the test bank), reads the bank's result file (:meth:`parse_result`, into the
platform's line results: paid / failed with reason / processing) and writes one
(:meth:`render_result`: the test bank and the samples in docs/samples/).

The file goes to the bank through a :class:`huzhu.payouts.channels.BankChannel` (sealed on
disk, ADR 0012), whatever its format. Which format a fund region's bank takes is its
``PayoutRegionSetting.adapter``, stamped on each batch when it is made.

Before a file is released (downloaded or sent) :func:`release` checks it (:func:`problems`):
every name must be encodable in GBK where the bank wants GBK, the payer account must be set,
each line's payee bank must be known where the format needs it; and the file is read back and
its count, total and every line's number, account and amount compared with the batch. Any
difference refuses the file, naming the line.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Protocol

from huzhu.errors import DomainError

from ..bankfile import BankFileError, ResultLine, fen_to_yuan


@dataclass(frozen=True)
class Payer:
    account: str
    name: str
    bank_name: str
    bank_cnaps: str

    @property
    def bank_code(self) -> str:
        return self.bank_cnaps[:3]


@dataclass(frozen=True)
class FileLine:
    seq: int                # the line's number in the batch (the tail of out_detail_no)
    out_detail_no: str
    account_no: str
    account_name: str
    bank_name: str          # the bank-list name when matched, else the roster's text
    bank_cnaps: str         # 12 digits, or "" when not matched
    province: str
    city: str
    amount_fen: int
    memo: str

    def same_bank(self, payer: Payer) -> bool:
        return bool(self.bank_cnaps) and self.bank_cnaps[:3] == payer.bank_code


@dataclass(frozen=True)
class FileBatch:
    number: str
    day: datetime.date
    payer: Payer
    lines: list[FileLine] = field(default_factory=list)

    @property
    def total_fen(self) -> int:
        return sum(ln.amount_fen for ln in self.lines)


@dataclass(frozen=True)
class ReadLine:
    """A line as read back from a batch file."""

    out_detail_no: str
    account_no: str
    account_name: str
    amount_fen: int
    memo: str = ""


class BankFormat(Protocol):
    name: str
    label: str          # the format in Chinese, as staff see it
    extension: str      # of the batch file
    content_type: str
    result_label: str   # what result file the result page expects
    result_accept: str  # the upload field's accept=
    gbk: bool           # names must be encodable in GBK
    needs_payer: bool
    needs_cnaps: str    # "" never, "cross" for cross-bank lines, "all"

    def render(self, batch: FileBatch) -> bytes: ...

    def read_batch(self, data: bytes) -> tuple[str, int, int, list[ReadLine]]:
        """(batch number, count, total in fen as the file states them, lines)."""
        ...

    def parse_result(self, data: bytes, batch_no: str) -> list[ResultLine]: ...

    def render_result(self, batch_no: str, lines: list[ResultLine]) -> bytes: ...


def seq_of(out_detail_no: str) -> int:
    tail = out_detail_no.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def batch_of(out_detail_no: str) -> str:
    return out_detail_no.rsplit("-", 1)[0] if "-" in out_detail_no else ""


def registry() -> dict[str, BankFormat]:
    from .cmb import CmbJson
    from .cnaps import CnapsText
    from .generic import GenericCsv
    from .icbc import IcbcWorkbook

    return {f.name: f for f in (GenericCsv(), IcbcWorkbook(), CmbJson(), CnapsText())}


def get(name: str) -> BankFormat:
    found = registry().get(name)
    if found is None:
        raise DomainError(f"未知的银行文件格式：{name}")
    return found


def choices() -> list[tuple[str, str]]:
    return [(f.name, f.label) for f in registry().values()]


def _gbk(text: str) -> bool:
    try:
        text.encode("gbk")
    except UnicodeEncodeError:
        return False
    return True


def problems(fmt: BankFormat, batch: FileBatch) -> list[str]:
    """What stops ``batch`` from being written in ``fmt``, each naming its line."""
    out: list[str] = []
    if fmt.needs_payer:
        if not (batch.payer.account and batch.payer.name and batch.payer.bank_cnaps):
            out.append("统筹区的付款账号、户名或开户行未设置（代付设置），不能生成"
                       f"{fmt.label}文件")
    if fmt.gbk:
        for what, text in (("付款账户名称", batch.payer.name), ("付款账户开户行",
                                                                batch.payer.bank_name)):
            if not _gbk(text):
                out.append(f"{what}含有 GBK 编码无法表示的字：{text}")
    for ln in batch.lines:
        where = f"第 {ln.seq} 笔（明细号 {ln.out_detail_no}）"
        if fmt.gbk and not _gbk(ln.account_name):
            bad = "".join(ch for ch in ln.account_name if not _gbk(ch))
            out.append(f"{where}收款户名“{ln.account_name}”含有银行文件所用 GBK 编码无法表示的字"
                       f"“{bad}”：请与银行核实户名写法并更正会员信息后重新制单")
        limit = getattr(fmt, "name_bytes", 0)
        if limit and _gbk(ln.account_name) and len(ln.account_name.encode("gbk")) > limit:
            out.append(f"{where}收款户名“{ln.account_name}”超过{fmt.label}的 {limit} 字节上限")
        if fmt.gbk and not _gbk(ln.bank_name):
            out.append(f"{where}开户行含有 GBK 编码无法表示的字")
        need = fmt.needs_cnaps == "all" or (fmt.needs_cnaps == "cross"
                                            and not ln.same_bank(batch.payer))
        if need and not ln.bank_cnaps:
            out.append(f"{where}开户行“{ln.bank_name or '（空）'}”未对应到银行名录，"
                       "请在批次页为该笔选择开户行")
    return out


def release(fmt: BankFormat, batch: FileBatch, *, line_count: int, total_fen: int) -> bytes:
    """The file of ``batch`` in ``fmt``, only once it is checked against the batch."""
    found = problems(fmt, batch)
    if found:
        raise DomainError("银行文件不能生成：" + "；".join(found[:20]), code="bank_file_refused")
    if len(batch.lines) != line_count or batch.total_fen != total_fen:
        raise DomainError(
            f"批次 {batch.number} 的明细与批次不符：批次记 {line_count} 笔 {fen_to_yuan(total_fen)} 元，"
            f"明细合计 {len(batch.lines)} 笔 {fen_to_yuan(batch.total_fen)} 元；文件未生成",
            code="bank_file_mismatch")
    content = fmt.render(batch)
    number, count, total, read = fmt.read_batch(content)
    diffs: list[str] = []
    if number != batch.number:
        diffs.append(f"文件批次号 {number} 不是 {batch.number}")
    if count != line_count or len(read) != line_count:
        diffs.append(f"文件笔数 {count}（明细 {len(read)} 行），批次 {line_count} 笔")
    if total != total_fen or sum(r.amount_fen for r in read) != total_fen:
        diffs.append(f"文件总金额 {fen_to_yuan(total)} 元，批次 {fen_to_yuan(total_fen)} 元")
    want = {ln.out_detail_no: ln for ln in batch.lines}
    for r in read:
        ln = want.pop(r.out_detail_no, None)
        if ln is None:
            diffs.append(f"文件中的明细 {r.out_detail_no} 不在批次中")
        elif (r.account_no, r.amount_fen, r.account_name) != (ln.account_no, ln.amount_fen,
                                                               ln.account_name):
            diffs.append(f"第 {ln.seq} 笔（明细号 {ln.out_detail_no}）的账号、户名或金额与批次不符")
    diffs += [f"第 {ln.seq} 笔（明细号 {ln.out_detail_no}）不在文件中" for ln in want.values()]
    if diffs:
        raise DomainError("银行文件与批次核对不符，未发出：" + "；".join(diffs[:20]),
                          code="bank_file_mismatch")
    return content


OUTCOME_WORDS = (("处理中", "processing"), ("待处理", "processing"), ("成功", "paid"),
                 ("失败", "failed"), ("退票", "failed"), ("拒绝", "failed"))


def outcome_of(text: str) -> str | None:
    for word, outcome in OUTCOME_WORDS:
        if word in text:
            return outcome
    return None


__all__ = ["BankFileError", "BankFormat", "FileBatch", "FileLine", "Payer", "ReadLine",
           "ResultLine", "batch_of", "choices", "get", "outcome_of", "problems", "registry",
           "release", "seq_of"]
