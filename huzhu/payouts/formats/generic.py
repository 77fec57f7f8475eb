"""The platform's own CSV (``bankfile.py``), kept for banks that take a plain CSV."""

from __future__ import annotations

from .. import bankfile
from . import FileBatch, ReadLine, ResultLine


class GenericCsv:
    name = "generic-csv"
    label = "通用 CSV（平台格式）"
    extension = "csv"
    content_type = "text/csv; charset=utf-8"
    result_label = "平台格式回盘 CSV（8 列：批次号、明细号、收款账号、收款户名、金额、处理结果、失败原因、银行流水号）"
    result_accept = ".csv,text/csv"
    gbk = False
    needs_payer = False
    needs_cnaps = ""

    def render(self, batch: FileBatch) -> bytes:
        return bankfile.render_batch(batch.number, [
            bankfile.OutLine(ln.out_detail_no, ln.account_no, ln.account_name, ln.bank_name,
                             ln.amount_fen, ln.memo) for ln in batch.lines])

    def read_batch(self, data: bytes) -> tuple[str, int, int, list[ReadLine]]:
        number, count, total, lines = bankfile.parse_batch_head(data)
        return number, count, total, [ReadLine(o.out_detail_no, o.account_no, o.account_name,
                                               o.amount_fen, o.memo) for o in lines]

    def parse_result(self, data: bytes, batch_no: str) -> list[ResultLine]:
        return bankfile.parse_result(data)

    def render_result(self, batch_no: str, lines: list[ResultLine]) -> bytes:
        return bankfile.render_result(lines)
