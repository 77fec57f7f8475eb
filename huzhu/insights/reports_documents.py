"""The reports as documents: PDF (WeasyPrint, Noto CJK fonts, nothing fetched from outside)
and xlsx (huzhu.sheets, watermarked with the exporter)."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

from django.template.loader import render_to_string

from huzhu.sheets import Sheet, watermark, workbook

from .reports import Bulletin


def pdf_from_html(html: str) -> bytes:
    """Lay out and write a PDF; the page loads nothing (no URL is followed)."""
    from weasyprint import HTML  # heavy import, only where documents are drawn
    from weasyprint.urls import URLFetcher

    fetcher = URLFetcher(allowed_protocols={"data"}, fail_on_errors=True)
    return bytes(HTML(string=html, url_fetcher=fetcher).write_pdf())


def render_pdf(template: str, context: dict[str, Any]) -> bytes:
    return pdf_from_html(render_to_string(template, context))


def _yuan(fen: int) -> Decimal:
    return Decimal(fen) / 100


def bulletin_xlsx(b: Bulletin, user: Any) -> bytes:
    buffer = io.BytesIO()
    book = workbook(buffer)
    bold = book.add_format({"bold": True})
    money = book.add_format({"num_format": "#,##0.00"})
    sheet = Sheet(book, "运行通报")
    sheet.ws.set_column(0, 0, 14)
    sheet.ws.set_column(1, 5, 20)
    row = 0

    def line(*cells: Any, strong: bool = False) -> None:
        nonlocal row
        for col, value in enumerate(cells):
            fmt = money if isinstance(value, Decimal) else bold if strong else None
            sheet.cell(row, col, value, fmt)
        row += 1

    line(b.title, strong=True)
    line(f"期间：{b.period_label}（金额单位：元；姓名、身份证号已脱敏）")
    line()
    line("参保人数", len(b.members))
    line("理赔件数", len(b.cases))
    line("获助人数", b.members_helped)
    line("互助金支出（已赔付）", _yuan(b.benefits_fen))
    line()
    line("保障项目", "参保人数", "份数", strong=True)
    for name, members, shares in b.enrolled_by_product:
        line(name, members, shares)
    line()
    line("理赔状态", "件数", strong=True)
    for label, count in b.claims_by_status:
        line(label, count)
    line()
    line("姓名", "身份证号", "保障项目", "事件日期", "状态", "互助金", strong=True)
    for c in b.cases:
        line(c.name, c.id_number, c.product, c.event_date.isoformat(), c.status,
             _yuan(c.benefit_fen))
    line()
    line("姓名", "身份证号", "参保项目", "份数", strong=True)
    for m in b.members:
        line(m.name, m.id_number, m.products, m.shares)
    line()
    line(watermark(user))
    book.close()
    return buffer.getvalue()
