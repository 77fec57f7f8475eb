"""The CNAPS-style fixed-field text file: one record per line, GBK, CRLF, every field a fixed
number of bytes (text left-aligned and padded with spaces, numbers right-aligned with zeros,
amounts in fen), the payee bank named by its 12-digit CNAPS 联行号. Many banks' 代发 import
accepts such a file with a layout agreed at contract; no public specification was found, so the
layout below is the platform's, written out in docs/data-formats.md for the bank to confirm.

    H 记录类型(1) 批次号(32) 日期(8) 总笔数(8) 总金额分(18) 付款账号(32) 付款户名(60) 付款行联行号(12)
    D 记录类型(1) 序号(8) 明细号(40) 收款账号(32) 收款户名(60) 收款行联行号(12) 收款行名称(60)
      跨行标志(1: 0 本行, 1 跨行) 金额分(18) 用途(30) 备注(60)

Result: the same H record, then per line the D record followed by 处理结果(1: S 成功, F 失败,
P 处理中), 失败原因(60), 银行流水号(32). A 收款户名 longer than 60 bytes in GBK is refused before
the file is made (never cut).
"""

from __future__ import annotations

from ..bankfile import MAX_RESULT_BYTES, BankFileError, ResultLine
from . import FileBatch, ReadLine, batch_of, seq_of

HEAD = (("type", 1), ("batch", 32), ("day", 8), ("count", 8), ("total", 18), ("payer_acct", 32),
        ("payer_name", 60), ("payer_cnaps", 12))
LINE = (("type", 1), ("seq", 8), ("detail", 40), ("acct", 32), ("name", 60), ("cnaps", 12),
        ("bank", 60), ("cross", 1), ("amount", 18), ("purpose", 30), ("memo", 60))
RESULT = (*LINE, ("outcome", 1), ("reason", 60), ("ref", 32))
NUMERIC = {"count", "total", "seq", "amount"}
OUTCOMES = {"S": "paid", "F": "failed", "P": "processing"}
PURPOSE = "互助金"


def _cut(raw: bytes, n: int) -> bytes:
    """At most ``n`` bytes of GBK text, never splitting a character."""
    raw = raw[:n]
    while raw:
        try:
            raw.decode("gbk")
            return raw
        except UnicodeDecodeError:
            raw = raw[:-1]
    return raw


def record(layout: tuple[tuple[str, int], ...], values: dict[str, object]) -> bytes:
    out = b""
    for key, width in layout:
        v = values.get(key, "")
        if key in NUMERIC:
            out += str(v).rjust(width, "0").encode("ascii")[:width]
        else:
            raw = _cut(str(v).encode("gbk"), width)
            out += raw + b" " * (width - len(raw))
    return out


def fields(layout: tuple[tuple[str, int], ...], raw: bytes) -> dict[str, str]:
    out, at = {}, 0
    for key, width in layout:
        out[key] = raw[at:at + width].decode("gbk", errors="strict").strip()
        at += width
    return out


def width(layout: tuple[tuple[str, int], ...]) -> int:
    return sum(w for _, w in layout)


class CnapsText:
    name = "cnaps-txt"
    label = "联行号定长文本（GBK）"
    extension = "txt"
    content_type = "text/plain; charset=gbk"
    result_label = "定长文本回盘（GBK，H 头记录 + 每笔 D 记录加处理结果、失败原因、银行流水号）"
    result_accept = ".txt,text/plain"
    gbk = True
    needs_payer = True
    needs_cnaps = "all"
    name_bytes = 60

    def render(self, batch: FileBatch) -> bytes:
        p = batch.payer
        rows = [record(HEAD, {"type": "H", "batch": batch.number, "day": f"{batch.day:%Y%m%d}",
                              "count": len(batch.lines), "total": batch.total_fen,
                              "payer_acct": p.account, "payer_name": p.name,
                              "payer_cnaps": p.bank_cnaps})]
        for ln in batch.lines:
            rows.append(record(LINE, {
                "type": "D", "seq": ln.seq, "detail": ln.out_detail_no, "acct": ln.account_no,
                "name": ln.account_name, "cnaps": ln.bank_cnaps, "bank": ln.bank_name,
                "cross": "0" if ln.same_bank(p) else "1", "amount": ln.amount_fen,
                "purpose": PURPOSE, "memo": ln.memo}))
        return b"\r\n".join(rows) + b"\r\n"

    def _records(self, data: bytes) -> tuple[dict[str, str], list[tuple[int, bytes]]]:
        if len(data) > MAX_RESULT_BYTES:
            raise BankFileError([f"文件超过 {MAX_RESULT_BYTES // 1024 // 1024} MB 上限"])
        rows = [(n, r) for n, r in enumerate(data.replace(b"\r\n", b"\n").split(b"\n"), 1)
                if r.strip()]
        if not rows or not rows[0][1].startswith(b"H") or len(rows[0][1]) != width(HEAD):
            raise BankFileError([f"第 1 行不是 {width(HEAD)} 字节的 H 头记录"])
        try:
            head = fields(HEAD, rows[0][1])
        except UnicodeDecodeError:
            raise BankFileError(["第 1 行不是 GBK 编码"]) from None
        return head, rows[1:]

    def read_batch(self, data: bytes) -> tuple[str, int, int, list[ReadLine]]:
        head, rows = self._records(data)
        lines = []
        for _n, raw in rows:
            f = fields(LINE, raw)
            lines.append(ReadLine(f["detail"], f["acct"], f["name"], int(f["amount"]), f["memo"]))
        return head["batch"], int(head["count"]), int(head["total"]), lines

    def parse_result(self, data: bytes, batch_no: str) -> list[ResultLine]:
        head, rows = self._records(data)
        out: list[ResultLine] = []
        problems: list[str] = []
        for n, raw in rows:
            where = f"第 {n} 行"
            if not raw.startswith(b"D") or len(raw) != width(RESULT):
                problems.append(f"{where}不是 {width(RESULT)} 字节的 D 回盘记录（实为 {len(raw)} 字节）")
                continue
            try:
                f = fields(RESULT, raw)
            except UnicodeDecodeError:
                problems.append(f"{where}不是 GBK 编码")
                continue
            bad = [f"{where}“{label}”为空" for key, label in (("detail", "明细号"), ("acct", "收款账号"),
                                                            ("name", "收款户名")) if not f[key]]
            if not f["amount"].isdigit():
                bad.append(f"{where}“金额”不是以分计的数字：{f['amount']}")
            if f["outcome"] not in OUTCOMES:
                bad.append(f"{where}“处理结果”应为 S、F 或 P：{f['outcome'] or '（空）'}")
            if f["outcome"] == "F" and not f["reason"]:
                bad.append(f"{where}处理结果为失败，但“失败原因”为空")
            if f["detail"] and f["seq"].isdigit() and int(f["seq"]) != seq_of(f["detail"]):
                bad.append(f"{where}“序号” {f['seq']} 与明细号 {f['detail']} 不一致")
            if f["detail"] and batch_of(f["detail"]) != head["batch"]:
                bad.append(f"{where}明细号 {f['detail']} 不属于头记录的批次 {head['batch']}")
            if bad:
                problems += bad
                continue
            out.append(ResultLine(n, head["batch"], f["detail"], f["acct"], f["name"],
                                  int(f["amount"]), OUTCOMES[f["outcome"]], f["reason"][:200],
                                  f["ref"][:60]))
        if problems:
            raise BankFileError(problems)
        if not out:
            raise BankFileError(["文件没有明细行"])
        return out

    def render_result(self, batch_no: str, lines: list[ResultLine]) -> bytes:
        rows = [record(HEAD, {"type": "H", "batch": batch_no, "day": "", "count": len(lines),
                              "total": sum(ln.amount_fen for ln in lines)})]
        flag = {"paid": "S", "failed": "F", "processing": "P"}
        for ln in lines:
            rows.append(record(RESULT, {
                "type": "D", "seq": seq_of(ln.out_detail_no), "detail": ln.out_detail_no,
                "acct": ln.account_no, "name": ln.account_name, "amount": ln.amount_fen,
                "outcome": flag[ln.outcome], "reason": ln.reason, "ref": ln.bank_ref}))
        return b"\r\n".join(rows) + b"\r\n"
