"""Premiums matched from the bank statement (issue 16 part 3): finance imports the fund
account's statement as the bank exports it (GBK CSV with title lines, a debit and a total row);
transfers are matched by the invoice number in the remark, by payer name and amount, offered as
candidates when only the amount fits, or left for matching by hand; confirming records the
payment exactly as keying it in does, once per transaction number, in the region only."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, connections, transaction  # noqa: F401 - connection: skipif
from django.test import Client
from django.urls import reverse

from huzhu.enrollment.billing import invoice_create
from huzhu.enrollment.models import BankStatement, Invoice, InvoiceStatus, Payment
from huzhu.enrollment.services import roster_check, roster_confirm, roster_upload
from huzhu.enrollment.statement import (
    StatementError,
    statement_confirm,
    statement_proposals,
    statement_read,
    statement_upload,
)
from huzhu.errors import DomainError, NotAllowed
from huzhu.rules.money import format_yuan
from tests.claims.conftest import ledger_clean
from tests.concurrency import run_together

from .conftest import person, xlsx
from .test_roster import new_id


def bill(w: Any, unit: Any, first_day: int, actor: Any) -> Invoice:
    name = w.medical.product_version.name
    rows = [person(f"员工{first_day}", new_id(first_day), name)]
    roster, _ = roster_upload(unit=unit, period=w.period, file_name=f"{unit.pk}.xlsx",
                              data=xlsx(rows), actor=actor)
    roster_check(roster)
    with transaction.atomic():
        roster_confirm(roster=roster, actor=actor)
        return invoice_create(unit=unit, period=w.period, actor=actor)


@pytest.fixture
def owed(period_world: Any) -> Any:
    w = period_world
    w.inv_a = bill(w, w.unit_a, 1, w.lisi)
    w.inv_b = bill(w, w.unit_b, 2, w.wangwu)
    assert w.inv_a.due_fen == w.inv_b.due_fen > 0  # the same premium: amount alone is ambiguous
    return w


def statement_csv(w: Any, lines: list[tuple[str, str, str, str, str]]) -> bytes:
    head = ["中国工商银行 账户明细", "账号：6222000000000000001  户名：广西职工互助保障基金", "",
            "交易日期,借方发生额（元）,贷方发生额（元）,对方户名,对方账号,摘要,交易流水号"]
    body = [f"{d},,{c},{n},6222888800001111,{r},{ref}" for d, c, n, r, ref in lines]
    tail = ["2026-12-05,500.00,,广西某供应商,6222999900002222,手续费,OUT-1",
            "合计,500.00,,,,,"]
    return "\n".join(head + body + tail).encode("gbk")


def lines_for(w: Any) -> list[tuple[str, str, str, str, str]]:
    y = format_yuan(w.inv_a.due_fen)
    return [("2026-12-01", y, "某某", f"缴费 {w.inv_a.number}", "TX-001"),     # by number
            ("2026-12-02", y, w.unit_b.name, "保费", "TX-002"),                # by name
            ("2026-12-03", y, "不认识的户名", "保费", "TX-003"),               # candidates
            ("2026-12-04", "12.34", "张先生", "个人转账", "TX-004")]           # unmatched


@pytest.mark.django_db
def test_a_bank_statement_is_matched_and_confirmed_as_keying_in(owed):
    w = owed
    st = statement_upload(region=w.province, data=statement_csv(w, lines_for(w)),
                          file_name="对账单.csv", actor=w.qianjiu)
    assert st.line_count == 4  # the debit and the total are not credits
    states = [(p.line.ref, p.state, p.invoice) for p in statement_proposals(st)]
    assert states[0] == ("TX-001", "matched", w.inv_a)
    assert states[1] == ("TX-002", "matched", w.inv_b)
    assert states[2][:2] == ("TX-003", "candidates")
    assert states[3][:2] == ("TX-004", "unmatched")
    candidates = statement_proposals(st)[2].candidates
    assert set(candidates) == {w.inv_a, w.inv_b}

    done = statement_confirm(statement=st, choices={0: w.inv_a.pk, 1: w.inv_b.pk}, actor=w.qianjiu)
    assert done == {"recorded": 2, "already": 0}
    for inv, ref, day in ((w.inv_a, "TX-001", 1), (w.inv_b, "TX-002", 2)):
        inv.refresh_from_db()
        assert inv.status == InvoiceStatus.PAID
        payment = Payment.objects.get(invoice=inv)
        assert (payment.bank_ref, payment.paid_on) == (ref, datetime.date(2026, 12, day))
    assert ledger_clean() == []
    again = statement_confirm(statement=st, choices={0: w.inv_a.pk}, actor=w.qianjiu)
    assert again == {"recorded": 0, "already": 1} and Payment.objects.count() == 2
    with pytest.raises(DomainError, match="已登记在另一张缴费通知上"):
        statement_confirm(statement=st, choices={0: w.inv_b.pk}, actor=w.qianjiu)
    assert [p.state for p in statement_proposals(st)][:2] == ["recorded", "recorded"]
    # The same file again is the same statement.
    same = statement_upload(region=w.province, data=statement_csv(w, lines_for(w)),
                            file_name="again.csv", actor=w.qianjiu)
    assert same.pk == st.pk and BankStatement.objects.count() == 1


@pytest.mark.django_db
def test_a_bad_statement_names_its_rows_and_keeps_nothing(owed):
    w = owed
    bad = lines_for(w)
    bad[1] = ("2026-12-02", "一千元", "x", "", "TX-002")
    bad[2] = ("昨天", "10.00", "x", "", "TX-003")
    with pytest.raises(StatementError) as err:
        statement_upload(region=w.province, data=statement_csv(w, bad), file_name="s.csv",
                         actor=w.qianjiu)
    assert "第 6 行 贷方金额“一千元”不是金额" in err.value.message
    assert "第 7 行 交易日期“昨天”不是日期" in err.value.message
    assert not BankStatement.objects.exists()
    with pytest.raises(StatementError, match="找不到表头"):
        statement_read("日期,金额\n2026-12-01,10\n".encode(), "x.csv")


@pytest.mark.django_db
def test_the_pages_in_the_region_only(owed):
    w = owed
    client = Client()
    client.force_login(w.qianjiu)
    response = client.post(reverse("billing:statements"), {
        "file": SimpleUploadedFile("对账单.csv", statement_csv(w, lines_for(w)))})
    st = BankStatement.objects.get()
    assert response.status_code == 302
    page = client.get(reverse("billing:statement", args=[st.pk])).content.decode()
    assert "建议匹配 2 笔" in page and "TX-003" in page and w.inv_a.number in page
    client.post(reverse("billing:statement", args=[st.pk]),
                {"line": ["0", "2"], "invoice_0": str(w.inv_a.pk), "invoice_2": str(w.inv_b.pk)})
    assert set(Payment.objects.values_list("bank_ref", flat=True)) == {"TX-001", "TX-003"}

    other = Client()
    other.force_login(w.finance_b)  # 北海's finance
    assert other.get(reverse("billing:statement", args=[st.pk])).status_code == 404
    with pytest.raises(NotAllowed):
        statement_confirm(statement=st, choices={1: w.inv_b.pk}, actor=w.finance_b)
    reviewer = Client()
    reviewer.force_login(w.wangwu)
    assert reviewer.get(reverse("billing:statements")).status_code == 404


@pytest.mark.postgres
@pytest.mark.skipif("connection.vendor != 'postgresql'",
                    reason="SQLite serialises every writer; the race needs PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_one_line_confirmed_twice_at_once_pays_one_invoice(owed):
    w = owed
    st = statement_upload(region=w.province, data=statement_csv(w, lines_for(w)),
                          file_name="s.csv", actor=w.qianjiu)
    results = run_together([
        lambda: statement_confirm(statement=st, choices={2: w.inv_a.pk}, actor=w.qianjiu),
        lambda: statement_confirm(statement=st, choices={2: w.inv_b.pk}, actor=w.qianjiu)])
    assert sum(isinstance(r, dict) for r in results) == 1, results
    assert Payment.objects.filter(bank_ref="TX-003").count() == 1
