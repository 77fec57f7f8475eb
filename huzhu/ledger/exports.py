"""The fund statement and the trial balance as xlsx, straight from the ledger's figures.

Amounts are written as numbers in yuan (two decimals, ``#,##0.00``) so finance staff can sum
them; Excel stores doubles, exact for every amount below 10^13 fen at two decimals. Names
(organisations, accounts, products) are written as text through :mod:`huzhu.sheets`, never as
formulas. Every sheet names who exported it and when.
"""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

from huzhu.sheets import Sheet, watermark, workbook

from .selectors import TrialBalance
from .statement import FundStatement, format_percent


def _yuan(fen: int) -> Decimal:
    return Decimal(fen) / 100


class _Book:
    def __init__(self, title: str) -> None:
        self.buffer = io.BytesIO()
        self.book = workbook(self.buffer)
        self.sheet = Sheet(self.book, title)
        self.bold = self.book.add_format({"bold": True})
        self.money = self.book.add_format({"num_format": "#,##0.00"})
        self.row = 0
        self.sheet.ws.set_column(0, 0, 36)
        self.sheet.ws.set_column(1, 6, 18)

    def line(self, *cells: Any, bold: bool = False) -> None:
        for col, value in enumerate(cells):
            money = isinstance(value, Decimal)
            self.sheet.cell(self.row, col, value,
                            self.money if money else self.bold if bold else None)
        self.row += 1

    def close(self, user: Any) -> bytes:
        self.line()
        self.line(watermark(user))
        self.book.close()
        return self.buffer.getvalue()


def statement_xlsx(st: FundStatement, user: Any) -> bytes:
    b = _Book("基金收支表")
    f = st.figures
    b.line(f"{st.org.name} 基金收支表", bold=True)
    b.line(f"期间：{st.start.isoformat()} 至 {st.end.isoformat()}（单位：元）")
    b.line()
    b.line("项目", "金额", bold=True)
    b.line("期初基金结余", _yuan(st.opening_fen))
    b.line("互助金收入", _yuan(f.premium_fen))
    for label, fen in st.income_by_payer:
        b.line(f"　其中：{label}", _yuan(fen))
    b.line("减：退费", _yuan(f.refunds_fen))
    b.line("互助金支出（已赔付）", _yuan(f.benefits_fen))
    b.line("提取未决赔款准备金", _yuan(f.reserve_change_fen))
    b.line("慰问金支出", _yuan(f.consolation_fen))
    b.line("风险共担调剂（收入为正）", _yuan(f.risk_sharing_fen))
    b.line("其他基金变动", _yuan(f.other_fen))
    b.line("期末基金结余", _yuan(st.closing_fen))
    b.line("期末未决赔款准备金", _yuan(st.reserve_closing_fen))
    b.line("赔付率", format_percent(f.loss_ratio))
    b.line()
    b.line("收入明细：缴费方", "保障项目", "金额", bold=True)
    for payer, product, fen in st.income_matrix:
        b.line(payer, product, _yuan(fen))
    b.line()
    b.line("支出明细：保障项目", "金额", bold=True)
    for product, fen in st.benefits_by_product:
        b.line(product, _yuan(fen))
    if st.sub_pools:
        b.line()
        b.line("下级核算单位", "收入（扣退费）", "赔付及未决", "风险共担", "收支结余", "赔付率",
               bold=True)
        for sub in st.sub_pools:
            s = sub.figures
            b.line(sub.org.name, _yuan(s.net_income_fen), _yuan(s.incurred_fen),
                   _yuan(s.risk_sharing_fen), _yuan(s.result_fen), format_percent(s.loss_ratio))
    return b.close(user)


def trial_balance_xlsx(tb: TrialBalance, title: str, user: Any) -> bytes:
    b = _Book("试算平衡表")
    b.line(f"{title} 试算平衡表", bold=True)
    b.line(f"截至：{tb.as_of.isoformat() if tb.as_of else '当前'}（单位：元）")
    b.line()
    b.line("科目代码", "科目名称", "核算单位", "借方余额", "贷方余额", bold=True)
    for line in tb.lines:
        b.line(line.code, line.name, line.org_name, _yuan(line.debit_fen),
               _yuan(line.credit_fen))
    b.line("合计", "", "", _yuan(tb.debit_total), _yuan(tb.credit_total), bold=True)
    return b.close(user)
