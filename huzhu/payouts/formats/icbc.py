"""ICBC 企业网银 批量支付 (企业财务室) workbook, and its result.

Batch file (FORMATS §5.1, source S6): an .xlsx workbook, header in row 1, these 19 columns A–S:
币种, 日期, 明细标志, 顺序号, 付款账号开户行, 付款账号/卡号, 付款账号名称/卡名称, 收款账号开户行,
收款账号省份, 收款账号地市, 收款账号地区码, 收款账号, 收款账号名称, 金额, 汇款用途, 备注信息,
汇款方式, 收款账户短信通知手机号码, 自定义序号. 金额 is a number cell with two decimals.
Lines to ICBC cards (工行本行) go on the sheet ``工行本行``, the others (跨行) on ``跨行``: the
bank handles the two separately. 自定义序号 carries our 明细号 (out_detail_no), 顺序号 the
line's number in the batch.

Result (回单): no published layout was found. We read the workbook the bank exports for a
batch: any sheet whose header row holds 自定义序号, 收款账号, 收款账号名称, 金额 and a status
column (处理状态, 指令状态, 交易状态 or 处理结果: 成功 / 失败 / 处理中 …), with 失败原因 (or 错误信息)
and, when present, 银行流水号. 顺序号, when present, must agree with the 明细号.
"""

from __future__ import annotations

import io
from typing import Any

from ..bankfile import BankFileError, ResultLine, fen_to_yuan
from . import FileBatch, FileLine, ReadLine, batch_of, outcome_of, seq_of
from .workbook import fen, new_book, read_sheets, text, yuan

HEAD = ("币种", "日期", "明细标志", "顺序号", "付款账号开户行", "付款账号/卡号", "付款账号名称/卡名称",
        "收款账号开户行", "收款账号省份", "收款账号地市", "收款账号地区码", "收款账号", "收款账号名称",
        "金额", "汇款用途", "备注信息", "汇款方式", "收款账户短信通知手机号码", "自定义序号")
SAME, CROSS = "工行本行", "跨行"
PURPOSE = "互助金"
STATUS_COLS = ("处理状态", "指令状态", "交易状态", "处理结果")
REASON_COLS = ("失败原因", "错误信息")
RESULT_HEAD = (*HEAD, "处理状态", "失败原因", "银行流水号")


class IcbcWorkbook:
    name = "icbc-xlsx"
    label = "工商银行 企业网银批量支付模板（.xlsx）"
    extension = "xlsx"
    content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    result_label = ("工商银行网银导出的批量支付结果工作簿（.xlsx 或 .xls，含“自定义序号”“收款账号”"
                    "“收款账号名称”“金额”“处理状态”“失败原因”列）")
    result_accept = ".xlsx,.xls"
    gbk = True
    needs_payer = True
    needs_cnaps = ""

    def _row(self, batch: FileBatch, ln: FileLine) -> list[Any]:
        p = batch.payer
        return ["RMB", f"{batch.day:%Y%m%d}", "", ln.seq, p.bank_name, p.account, p.name,
                ln.bank_name, ln.province, ln.city, "", ln.account_no, ln.account_name,
                yuan(ln.amount_fen), PURPOSE, ln.memo, "", "", ln.out_detail_no]

    def render(self, batch: FileBatch) -> bytes:
        out = io.BytesIO()
        book = new_book(out)
        money = book.add_format({"num_format": "0.00"})
        from huzhu.sheets import Sheet

        for title, same in ((SAME, True), (CROSS, False)):
            sheet = Sheet(book, title)
            sheet.row(0, 0, HEAD)
            r = 1
            for ln in batch.lines:
                if ln.same_bank(batch.payer) != same:
                    continue
                cells = self._row(batch, ln)
                sheet.row(r, 0, cells[:13])
                sheet.cell(r, 13, cells[13], money)
                sheet.row(r, 14, cells[14:])
                r += 1
        book.close()
        return out.getvalue()

    def read_batch(self, data: bytes) -> tuple[str, int, int, list[ReadLine]]:
        sheets = read_sheets(data)
        lines = []
        for title in (SAME, CROSS):
            for row in sheets.get(title, [])[1:]:
                if not any(text(c) for c in row):
                    continue
                lines.append(ReadLine(text(row[18]), text(row[11]), text(row[12]),
                                      fen(row[13]) or 0, text(row[15])))
        number = batch_of(lines[0].out_detail_no) if lines else ""
        return number, len(lines), sum(ln.amount_fen for ln in lines), lines

    def parse_result(self, data: bytes, batch_no: str) -> list[ResultLine]:
        sheets = read_sheets(data)
        out: list[ResultLine] = []
        problems: list[str] = []
        found = False
        for title, rows in sheets.items():
            if not rows:
                continue
            head = [text(c).replace("*", "") for c in rows[0]]
            status = next((c for c in STATUS_COLS if c in head), None)
            needed = ("自定义序号", "收款账号", "收款账号名称", "金额")
            if status is None or any(c not in head for c in needed):
                continue
            found = True
            col = {c: head.index(c) for c in head if c}
            reason_col = next((c for c in REASON_COLS if c in head), None)
            for n, row in enumerate(rows[1:], 2):
                def cell(name: str | None, row: list[Any] = row,
                         col: dict[str, int] = col) -> Any:
                    i = col.get(name or "", -1)
                    return row[i] if 0 <= i < len(row) else None

                if not any(text(c) for c in row):
                    continue
                where = f"工作表“{title}”第 {n} 行"
                detail, acct, name = text(cell("自定义序号")), text(cell("收款账号")), \
                    text(cell("收款账号名称"))
                amount = fen(cell("金额"))
                outcome = outcome_of(text(cell(status)))
                reason = text(cell(reason_col))
                bad = [f"{where}“{c}”为空" for c, v in (("自定义序号", detail), ("收款账号", acct),
                                                        ("收款账号名称", name)) if not v]
                if amount is None:
                    bad.append(f"{where}“金额”不是两位小数的元金额：{text(cell('金额'))[:20]}")
                if outcome is None:
                    bad.append(f"{where}“{status}”无法识别：{text(cell(status))[:20]}")
                if outcome == "failed" and not reason:
                    bad.append(f"{where}处理失败，但“失败原因”为空")
                seq = text(cell("顺序号"))
                if detail and seq and seq != str(seq_of(detail)):
                    bad.append(f"{where}“顺序号” {seq} 与“自定义序号” {detail} 不一致")
                if bad:
                    problems += bad
                    continue
                out.append(ResultLine(n, batch_of(detail), detail, acct.replace(" ", ""), name,
                                      amount or 0, outcome or "processing", reason[:200],
                                      text(cell("银行流水号"))[:60]))
        if not found:
            raise BankFileError(["没有找到工商银行批量支付结果表（需含“自定义序号”“收款账号”“收款账号名称”"
                                 "“金额”和“处理状态”列）"])
        if problems:
            raise BankFileError(problems)
        if not out:
            raise BankFileError(["文件没有明细行"])
        return out

    def render_result(self, batch_no: str, lines: list[ResultLine]) -> bytes:
        """The bank's result workbook as the test bank (and the sample) writes it."""
        from huzhu.sheets import Sheet

        zh = {"paid": "成功", "failed": "失败", "processing": "处理中"}
        out = io.BytesIO()
        book = new_book(out)
        sheet = Sheet(book, "批量支付结果")
        sheet.row(0, 0, RESULT_HEAD)
        for r, ln in enumerate(lines, 1):
            sheet.row(r, 0, ["RMB", "", "", seq_of(ln.out_detail_no), "", "", "", "", "", "", "",
                             ln.account_no, ln.account_name, fen_to_yuan(ln.amount_fen), PURPOSE,
                             "", "", "", ln.out_detail_no, zh[ln.outcome], ln.reason,
                             ln.bank_ref])
        book.close()
        return out.getvalue()
