"""Premiums matched from the fund account's bank statement (对账单, issue 16 part 3).

Finance uploads the account's statement as the bank exports it (CSV in UTF-8 or GBK, or a
workbook). Each credit (money in) is matched to an open invoice of the fund region:

- its remark (摘要/附言/用途) names an invoice number → that invoice;
- else the payer's name is the invoice's payer and the amount is what the invoice still owes
  → that invoice, when exactly one fits;
- else invoices owing exactly that amount → offered as candidates, for a person to choose;
- else unmatched, listed for matching by hand.

A line whose transaction number (流水号) is already recorded is shown as such. Confirming a
match records the payment with :func:`huzhu.enrollment.billing.payment_record`, exactly as
keying it in does (ledger, receipt, coverage), under the statement's transaction number: the
same line can never pay two invoices, and confirming twice records it once. Confirmations of
one fund region are serialised on the region's row.

The parsed lines are kept encrypted (they carry payers' names and account numbers).
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import io
import json
import re
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from python_calamine import CalamineWorkbook

from huzhu.errors import DomainError, NotAllowed
from huzhu.organisations.models import Organisation
from huzhu.rules.money import MoneyError, parse_yuan

from .billing import payment_record
from .models import BankStatement, Invoice, InvoiceStatus, Payment

MAX_BYTES = 10 * 1024 * 1024
HEADERS: dict[str, tuple[str, ...]] = {
    "date": ("交易日期", "记账日期", "入账日期", "日期", "交易时间"),
    "credit": ("贷方发生额", "贷方金额", "收入金额", "收入", "存入金额", "转入金额", "贷方"),
    "debit": ("借方发生额", "借方金额", "支出金额", "支出", "转出金额", "借方"),
    "name": ("对方户名", "对方账户名称", "对方名称", "付款人名称", "对方账户名", "付款人户名"),
    "account": ("对方账号", "对方账户", "付款人账号"),
    "remark": ("摘要", "附言", "用途", "备注", "交易附言", "交易摘要"),
    "ref": ("交易流水号", "流水号", "交易参考号", "凭证号", "银行流水号"),
}
REQUIRED = ("date", "credit", "ref")
LABEL = {"date": "交易日期", "credit": "贷方金额", "ref": "交易流水号", "name": "对方户名"}


class StatementError(DomainError):
    pass


@dataclass(frozen=True)
class Line:
    index: int
    row: int
    day: datetime.date
    amount_fen: int
    name: str
    account: str
    remark: str
    ref: str


@dataclass
class Proposal:
    line: Line
    state: str  # recorded / matched / candidates / unmatched
    invoice: Invoice | None = None
    candidates: list[Invoice] = field(default_factory=list)
    why: str = ""


def _table(data: bytes, file_name: str) -> list[list[str]]:
    if len(data) > MAX_BYTES:
        raise StatementError(f"文件超过 {MAX_BYTES // 1024 // 1024} MB 上限")
    if not data:
        raise StatementError("文件是空的")
    if file_name.lower().endswith(".csv"):
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise StatementError("无法识别文件编码（应为 UTF-8 或 GBK）")
        return [[c.strip() for c in row] for row in csv.reader(io.StringIO(text))]
    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        rows = book.get_sheet_by_index(0).to_python(skip_empty_area=False)
    except Exception:  # noqa: BLE001 - calamine raises its own types for broken files
        raise StatementError("无法读取对账单：请上传银行导出的 .csv、.xls 或 .xlsx 文件") from None
    return [[_cell(c) for c in row] for row in rows]


def _cell(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()[:10]
    return str(value if value is not None else "").strip()


def _columns(row: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for i, cell in enumerate(row):
        name = cell.replace(" ", "").replace("（元）", "").replace("(元)", "")
        for key, names in HEADERS.items():
            if key not in found and name in names:
                found[key] = i
    return found


def _day(text: str) -> datetime.date:
    digits = re.sub(r"[^0-9]", "", text)[:8]
    if len(digits) != 8:
        raise ValueError(text)
    return datetime.date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))


def statement_read(data: bytes, file_name: str) -> list[Line]:
    """The statement's credits (money in). The header row is found among the first 20 rows (bank
    exports start with the account's title lines). Every bad line is named — row and column —
    in one error, and nothing is kept."""
    rows = _table(data, file_name)
    header_at, columns = -1, {}
    for i, row in enumerate(rows[:20]):
        columns = _columns(row)
        if all(k in columns for k in REQUIRED):
            header_at = i
            break
    if header_at < 0:
        raise StatementError("找不到表头：对账单应有“交易日期”“贷方金额（收入）”“交易流水号”等列")
    lines: list[Line] = []
    problems: list[str] = []
    seen: set[str] = set()
    for n, row in enumerate(rows[header_at + 1:], start=header_at + 2):
        def get(key: str, row: list[str] = row) -> str:
            i = columns.get(key)
            return row[i] if i is not None and i < len(row) else ""
        if not any(row) or get("date").startswith(("合计", "总计", "本页")):
            continue
        credit = get("credit").replace(",", "")
        if credit in ("", "0", "0.00", "-"):
            continue  # money out, or nothing
        try:
            amount = parse_yuan(credit)
        except MoneyError:
            problems.append(f"第 {n} 行 贷方金额“{credit}”不是金额")
            continue
        try:
            day = _day(get("date"))
        except ValueError:
            problems.append(f"第 {n} 行 交易日期“{get('date')}”不是日期")
            continue
        ref = get("ref")
        if not ref:
            problems.append(f"第 {n} 行 交易流水号为空")
            continue
        if ref in seen:
            problems.append(f"第 {n} 行 交易流水号“{ref}”在文件中重复")
            continue
        seen.add(ref)
        if amount <= 0:
            continue
        lines.append(Line(len(lines), n, day, amount, get("name"), get("account"),
                          get("remark"), ref))
    if problems:
        raise StatementError("对账单有误，未导入：" + "；".join(problems[:20])
                             + ("……" if len(problems) > 20 else ""))
    if not lines:
        raise StatementError("对账单中没有收入（贷方）记录")
    return lines


def statement_upload(*, region: Organisation, data: bytes, file_name: str, actor: Any
                     ) -> BankStatement:
    """Keep a statement of the fund region (the same file again is the same statement)."""
    lines = statement_read(data, file_name)
    sha = hashlib.sha256(data).hexdigest()
    existing = BankStatement.objects.filter(fund_region=region, sha256=sha).first()
    if existing is not None:
        return existing
    payload = json.dumps([{**line.__dict__, "day": line.day.isoformat()} for line in lines],
                         ensure_ascii=False)
    return BankStatement.objects.create(fund_region=region, file_name=file_name[:200],
                                        sha256=sha, lines=payload, line_count=len(lines),
                                        uploaded_by=actor)


def statement_lines(statement: BankStatement) -> list[Line]:
    return [Line(**{**d, "day": datetime.date.fromisoformat(d["day"])})
            for d in json.loads(statement.lines)]


def _open_invoices(region_id: int) -> list[Invoice]:
    return list(Invoice.objects.filter(fund_region_id=region_id,
                                       status__in=[InvoiceStatus.OPEN, InvoiceStatus.PARTLY_PAID])
                .select_related("unit", "member", "period"))


def statement_proposals(statement: BankStatement) -> list[Proposal]:
    lines = statement_lines(statement)
    recorded = set(Payment.objects.filter(invoice__fund_region_id=statement.fund_region_id,
                                          bank_ref__in=[ln.ref for ln in lines])
                   .values_list("bank_ref", flat=True))
    invoices = _open_invoices(statement.fund_region_id)
    by_number = {i.number: i for i in invoices}
    out: list[Proposal] = []
    for line in lines:
        if line.ref in recorded:
            out.append(Proposal(line, "recorded", why="该流水号已登记"))
            continue
        named = [by_number[n] for n in by_number if n and n in line.remark]
        if len(named) == 1:
            out.append(Proposal(line, "matched", named[0], why="附言中有缴费通知号"))
            continue
        owing = [i for i in invoices if i.outstanding_fen == line.amount_fen]
        payer = [i for i in owing if line.name and i.payer_label == line.name]
        if len(payer) == 1:
            out.append(Proposal(line, "matched", payer[0], why="付款户名与金额相符"))
        elif owing:
            out.append(Proposal(line, "candidates", candidates=payer or owing,
                                why="金额相符的缴费通知不止一张或户名不符，请选择"))
        else:
            out.append(Proposal(line, "unmatched", why="没有金额相符的缴费通知，请手工匹配"))
    return out


def statement_confirm(*, statement: BankStatement, choices: dict[int, int], actor: Any
                      ) -> dict[str, int]:
    """Record the payments of the chosen lines: ``choices`` maps a line's index to an invoice
    id. Each is checked again (the invoice is of the region and still owes; the line's
    transaction number pays no other invoice) and recorded as keying it in does."""
    org = getattr(actor, "organisation", None)
    own = None if org is None else (org.pk if org.is_fund_region else org.fund_region_id)
    if own != statement.fund_region_id:
        raise NotAllowed("只能确认本统筹区的对账单")
    lines = {ln.index: ln for ln in statement_lines(statement)}
    counts = {"recorded": 0, "already": 0}
    with transaction.atomic():
        Organisation.objects.select_for_update().filter(pk=statement.fund_region_id).first()
        for index, invoice_id in sorted(choices.items()):
            line = lines.get(index)
            if line is None:
                raise DomainError(f"对账单没有第 {index + 1} 条记录")
            invoice = Invoice.objects.filter(pk=invoice_id,
                                             fund_region_id=statement.fund_region_id).first()
            if invoice is None:
                raise DomainError(f"第 {line.row} 行：缴费通知不存在或不属于本统筹区")
            elsewhere = Payment.objects.filter(
                bank_ref=line.ref, invoice__fund_region_id=statement.fund_region_id
            ).exclude(invoice=invoice)
            if elsewhere.exists():
                raise DomainError(f"第 {line.row} 行：流水号 {line.ref} 已登记在另一张缴费通知上")
            if invoice.payments.filter(bank_ref=line.ref).exists():
                counts["already"] += 1
                continue
            payment_record(invoice=invoice, bank_ref=line.ref, amount_fen=line.amount_fen,
                           paid_on=line.day, payer_name=line.name, actor=actor)
            counts["recorded"] += 1
    return counts
