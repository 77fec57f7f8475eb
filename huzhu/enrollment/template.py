"""The roster template a unit downloads: Chinese headers, drop-downs, identifiers as text, and
last period's members pre-filled for renewal (续保), each with their member number and their
personal values as the downloader may see them (masks.py: masked unless the role may reveal)."""

from __future__ import annotations

import io
from typing import Any

from huzhu.members.models import InsuranceType, Member
from huzhu.organisations.models import Unit
from huzhu.products.models import Period
from huzhu.products.services import offers_for
from huzhu.sheets import Sheet, workbook

from .masks import Sight
from .models import Enrollment, EnrollmentStatus
from .roster_file import BANKS_SHEET, COLUMNS, DATA_SHEET, OPTIONS_SHEET

TEXT_COLUMNS = {"id_number", "phone", "bank_card", "name", "bank_name", "member_key"}
YES_NO_COLUMNS = {"is_union_member", "is_hardship", "is_model_worker", "is_new_form_worker",
                  "card_confirmed"}
PREFILL_ROWS_MAX = 50_000
BLANK_ROWS = 500


def previous_period(period: Period) -> Period | None:
    return (Period.objects.filter(fund_region=period.fund_region,
                                  coverage_end__lt=period.coverage_start)
            .order_by("-coverage_end").first())


def renewal_rows(unit: Unit, period: Period) -> list[tuple[Member, str, int]]:
    """Last period's active enrollments of the unit: (member, product name, shares)."""
    prev = previous_period(period)
    if prev is None:
        return []
    enrollments = (Enrollment.objects.filter(unit=unit, period=prev,
                                             status=EnrollmentStatus.ACTIVE)
                   .select_related("member", "product_version").order_by("member_id")
                   [:PREFILL_ROWS_MAX])
    offered = offers_for(org_path=unit.org_path, period=period)
    rows = []
    for e in enrollments:
        offer = offered.get(e.product_version.code)
        if offer is not None:
            rows.append((e.member, offer.product_version.name, e.shares))
    return rows


def _bank_sheet(book: Any, head: Any, text: Any) -> int:
    """The 银行名录 sheet: the bank list's names (the 开户行 column's drop-down), cities and
    联行号. Returns how many entries."""
    from huzhu.payouts.banklist import ensure_shipped
    from huzhu.payouts.models import PayeeBank

    ensure_shipped()
    banks = list(PayeeBank.objects.filter(active=True).order_by("bank_code", "name", "cnaps")
                 .values_list("name", "province", "city", "cnaps"))
    sheet = Sheet(book, BANKS_SHEET)
    sheet.row(0, 0, ["银行名称", "省份", "城市", "联行号"], head)
    sheet.ws.set_column(0, 0, 28)
    sheet.ws.set_column(3, 3, 16, text)
    for r, values in enumerate(banks, start=1):
        sheet.row(r, 0, list(values))
    return len(banks)


def roster_template(unit: Unit, period: Period, sight: Sight | None = None) -> bytes:
    """The template; ``sight`` says what the downloader sees in full (masked by default) and
    counts the full numbers written, for the reveal event."""
    sight = sight or Sight(numbers=False, names=False)
    out = io.BytesIO()
    book = workbook(out)
    data = Sheet(book, DATA_SHEET)
    options = Sheet(book, OPTIONS_SHEET)
    sheet = data.ws
    head = book.add_format({"bold": True, "bg_color": "#DDE6F3", "border": 1, "align": "center"})
    required = book.add_format({"bold": True, "bg_color": "#FCE4D6", "border": 1,
                                "align": "center"})
    text = book.add_format({"num_format": "@"})
    products = [o.product_version.name for o in offers_for(org_path=unit.org_path,
                                                           period=period).values()]
    insurance = [label for _, label in InsuranceType.choices]
    for i, values in enumerate([products, insurance, ["是", "否"]]):
        options.column(0, i, values)
    options.ws.hide()
    bank_names = _bank_sheet(book, head, text)
    last = BLANK_ROWS + PREFILL_ROWS_MAX
    for col, (key, title, is_required) in enumerate(COLUMNS):
        data.cell(0, col, title, required if is_required else head)
        sheet.set_column(col, col, 20 if key in TEXT_COLUMNS else 12,
                         text if key in TEXT_COLUMNS else None)
        source = None
        if key == "product" and products:
            source = f"={OPTIONS_SHEET}!$A$1:$A${len(products)}"
        elif key == "insurance_type":
            source = f"={OPTIONS_SHEET}!$B$1:$B${len(insurance)}"
        elif key in YES_NO_COLUMNS:
            source = f"={OPTIONS_SHEET}!$C$1:$C$2"
        elif key == "bank_name" and bank_names:
            # A drop-down of the list's names that still takes other text (a warning, not a
            # stop): the platform matches the text and names the rows it cannot tie.
            sheet.data_validation(1, col, last, col, {
                "validate": "list", "source": f"={BANKS_SHEET}!$A$2:$A${bank_names + 1}",
                "error_type": "warning", "error_title": "开户行不在银行名录中",
                "error_message": "开户行请填写“银行名录”表中的银行名称；其他写法导入时会提示，"
                                 "发放前须由工作人员选定",
                "input_title": "开户行", "input_message": "从“银行名录”表中选择银行名称"})
            sheet.write_comment(0, col, "开户行须为“银行名录”工作表中的银行名称（可从下拉列表选择）；"
                                        "不在名录中的写法导入时列为提示，发放前须由工作人员选定。")
        if source:
            sheet.data_validation(1, col, last, col, {"validate": "list", "source": source,
                                                      "error_title": "请从下拉列表选择"})
    sheet.freeze_panes(1, 2)
    keys = [k for k, _, _ in COLUMNS]
    for r, (member, product, shares) in enumerate(renewal_rows(unit, period), start=1):
        cells = {
            "name": sight.show("name", member.name),
            "id_number": sight.show("id_number", member.id_number or ""),
            "phone": sight.show("phone", member.phone or ""),
            "bank_card": sight.show("bank_card", member.bank_card or ""),
            "bank_name": member.bank_name,
            "insurance_type": member.get_insurance_type_display(),
            "is_union_member": "是" if member.is_union_member else "否",
            "is_hardship": "是" if member.is_hardship else "否",
            "is_model_worker": "是" if member.is_model_worker else "否",
            "is_new_form_worker": "是" if member.is_new_form_worker else "否",
            "product": product, "shares": str(shares), "member_key": str(member.pk),
            "card_confirmed": "",
        }
        for c, key in enumerate(keys):
            data.cell(r, c, cells[key], text)
        sight.rows += 1
    book.close()
    return out.getvalue()
