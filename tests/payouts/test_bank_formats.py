"""Bank file formats (issue 16 part 1): a batch goes through each adapter to its file, the
test bank (tests/payouts/fakebank.py, speaking that format) pays some lines and fails one,
and its result file comes back through the adapter's parser into paid / failed lines; names
outside GBK are refused with the line named; the file is cross-checked with the batch before
it is released; the files stay sealed at rest."""

from __future__ import annotations

import datetime
import io
import json
import random
from typing import Any

import pytest
from python_calamine import CalamineWorkbook

from huzhu.errors import DomainError
from huzhu.ledger.models import Transaction
from huzhu.members.models import Member
from huzhu.payouts import banklist, formats
from huzhu.payouts.bankfile import BankFileError, ResultLine
from huzhu.payouts.channels import FileDropChannel
from huzhu.payouts.formats.icbc import IcbcWorkbook
from huzhu.payouts.models import (
    BatchStatus,
    ExceptionKind,
    LineStatus,
    PayoutBatch,
    PayoutException,
    PayoutLine,
)
from huzhu.payouts.regions import region_setting_save
from huzhu.payouts.services import (
    batch_approve,
    batch_build,
    batch_file,
    batch_send,
    file_batch,
    line_bank_set,
    result_import,
)
from tests.claims.conftest import ledger_clean

from .conftest import file_claim
from .fakebank import FakeBank

pytestmark = pytest.mark.django_db

ICBC, ABC = "102100099996", "103100000026"
RURAL = "402611099974"  # a test entry added from a CSV, as finance would load one
FORMATS = ["icbc-xlsx", "cmb-bb1paybh", "cnaps-txt", "generic-csv"]
PAYER_BANK = {"icbc-xlsx": ICBC, "cmb-bb1paybh": "308584000013", "cnaps-txt": ICBC,
              "generic-csv": ICBC}


def add_rural_bank() -> None:
    banklist.ensure_shipped()
    banklist.load("联行号,银行名称,简称,省份,城市\r\n"
                  f"{RURAL},广西壮族自治区农村信用社联合社,,广西,南宁\r\n".encode("gbk"))


def configure(w: Any, adapter: str) -> None:
    region_setting_save(region=w.province, actor=w.qianjiu, adapter=adapter,
                        payer_account="2102 1100 0900 1234 567", payer_name="广西职工互助保障协会",
                        payer_bank_cnaps=PAYER_BANK[adapter], balance_floor="0")


def draft(w: Any, n: int = 3, prefix: str = "AD") -> PayoutBatch:
    """Claims of the first ``n`` members (张三 at ICBC, 陈八 at ABC, then 广西农村信用社)."""
    for i, m in enumerate(w.members[:n]):
        file_claim(w, m, f"{prefix}{i}", begin=datetime.date(2026, 3, 2))
    batch = batch_build(fund_region=w.province, actor=w.qianjiu).batch
    assert batch is not None and batch.line_count == n
    return batch


def pick_unmatched(w: Any, batch: PayoutBatch) -> None:
    for ln in batch.lines.filter(bank_cnaps=""):
        line_bank_set(batch=batch, line_id=ln.pk, cnaps=RURAL, actor=w.qianjiu)


@pytest.mark.parametrize("adapter", FORMATS)
def test_a_batch_through_each_format_and_back_with_a_failed_line(pay_world, tmp_path, adapter):
    w = pay_world
    add_rural_bank()
    configure(w, adapter)
    batch = draft(w)
    assert batch.adapter == adapter and batch.payer_account == "210211000900123456" + "7"
    pick_unmatched(w, batch)
    batch = batch_approve(batch=batch, actor=w.checker)
    channel = FileDropChannel(tmp_path)
    batch = batch_send(batch=batch, actor=w.qianjiu, channel=channel)
    assert batch.status == BatchStatus.SENT
    fmt = formats.get(adapter)
    content = channel.read(batch.number)
    assert content == batch_file(batch)
    # Sealed at rest (ADR 0012): no card number in the bytes on disk, whatever the format.
    on_disk = channel.path(batch.number).read_bytes()
    lines = list(batch.lines.order_by("id"))
    assert all(ln.account_no.encode() not in on_disk for ln in lines)
    number, count, total, read = fmt.read_batch(content)
    assert (number, count, total) == (batch.number, 3, batch.total_fen)
    assert [r.out_detail_no for r in read] == [ln.out_detail_no for ln in lines] or \
        sorted(r.out_detail_no for r in read) == sorted(ln.out_detail_no for ln in lines)
    # The bank (speaking this format) takes the file finance uploads; 陈八's card is closed.
    bank = FakeBank(random.Random(7), p_refuse=0, p_lost_before=0, p_lost_after=0, p_fail=0,
                    fmt=adapter)
    bank.closed_cards.add(lines[1].account_no)
    bank.submit(batch.number, content)
    bank.settle_all()
    assert bank.write_result(batch.number, partial=False)
    delivery = bank.deliver(p_dup=0)
    assert delivery is not None and delivery.name.endswith(fmt.extension)
    result = result_import(batch=batch, data=delivery.data, file_name=delivery.name,
                           actor=w.qianjiu)
    assert (result.paid, result.failed, result.exceptions) == (2, 1, 0)
    by_no = {ln.out_detail_no: ln for ln in PayoutLine.objects.filter(batch=batch)}
    assert by_no[lines[1].out_detail_no].status == LineStatus.FAILED
    assert by_no[lines[1].out_detail_no].fail_reason == "账户已销户"
    assert by_no[lines[0].out_detail_no].status == LineStatus.PAID
    assert PayoutBatch.objects.get(pk=batch.pk).status == BatchStatus.DONE
    assert ledger_clean() == [] and not bank.violations


def test_icbc_splits_same_bank_and_cross_bank_lines(pay_world):
    w = pay_world
    add_rural_bank()
    configure(w, "icbc-xlsx")
    batch = draft(w)
    pick_unmatched(w, batch)
    batch = batch_approve(batch=batch, actor=w.checker)
    book = CalamineWorkbook.from_filelike(io.BytesIO(batch_file(batch)))
    same = book.get_sheet_by_name("工行本行").to_python()
    cross = book.get_sheet_by_name("跨行").to_python()
    assert same[0][:4] == ["币种", "日期", "明细标志", "顺序号"] and same[0][18] == "自定义序号"
    assert [r[12] for r in same[1:]] == ["张三"]
    assert sorted(r[12] for r in cross[1:]) == ["赵一", "陈八"]
    assert {r[7] for r in cross[1:]} == {"中国农业银行", "广西壮族自治区农村信用社联合社"}
    assert same[1][5] == "2102110009001234567" and same[1][0] == "RMB"
    assert same[1][13] == batch.lines.get(account_name="张三").amount_fen / 100


def test_cmb_flags_same_bank_and_needs_a_cnaps_for_cross_bank(pay_world):
    w = pay_world
    configure(w, "cmb-bb1paybh")
    # A text with no chosen entry (as a roster row the list did not know): matched at batch time.
    Member.objects.filter(pk=w.members[0].pk).update(bank_name="招商银行南宁分行", bank_cnaps="")
    batch = draft(w)
    problems = " ".join(formats.problems(formats.get("cmb-bb1paybh"), file_batch(batch)))
    assert "第 3 笔" in problems and "广西农村信用社" in problems and "第 1 笔" not in problems
    with pytest.raises(DomainError, match="第 3 笔"):
        batch_approve(batch=batch, actor=w.checker)
    add_rural_bank()
    pick_unmatched(w, batch)
    batch = batch_approve(batch=batch, actor=w.checker)
    doc = json.loads(batch_file(batch))
    flags = {x["crtNam"]: (x["bnkFlg"], x["brdNbr"]) for x in doc["bb1paybhx1"]}
    assert flags["张三"] == ("Y", "308584000013") and flags["陈八"] == ("N", ABC)
    assert doc["bb1bmdbhx1"][0]["dtlNbr"] == "3"


def test_gbk_round_trip_and_a_name_outside_gbk_is_refused_with_its_line(pay_world, tmp_path):
    w = pay_world
    add_rural_bank()
    configure(w, "cnaps-txt")
    Member.objects.filter(pk=w.members[1].pk).update(name="李镕堃")  # in GBK, not in GB2312
    Member.objects.filter(pk=w.members[2].pk).update(name="吉𠮷")    # 𠮷 is not in GBK
    batch = draft(w)
    pick_unmatched(w, batch)
    bad = batch.lines.get(account_name="吉𠮷")
    with pytest.raises(DomainError) as refused:
        batch_approve(batch=batch, actor=w.checker)
    assert f"明细号 {bad.out_detail_no}" in refused.value.message and "“𠮷”" in refused.value.message
    assert PayoutBatch.objects.get(pk=batch.pk).status == BatchStatus.DRAFT
    with pytest.raises(DomainError, match="GBK"):
        batch_file(batch)
    # Once the name is written as the bank holds it, the batch goes, GBK both ways.
    from huzhu.payouts.services import batch_cancel

    batch_cancel(batch=batch, actor=w.qianjiu)
    Member.objects.filter(pk=w.members[2].pk).update(name="吉吉")
    again = batch_build(fund_region=w.province, actor=w.qianjiu).batch
    assert again.lines.filter(bank_cnaps="").count() == 0  # 广西农村信用社 is remembered
    again = batch_approve(batch=again, actor=w.checker)
    content = batch_file(again)
    assert "李镕堃".encode("gbk") in content
    with pytest.raises(UnicodeDecodeError):
        content.decode("utf-8")
    fmt = formats.get("cnaps-txt")
    lines = list(again.lines.order_by("id"))
    rows = [ResultLine(0, again.number, ln.out_detail_no, ln.account_no, ln.account_name,
                       ln.amount_fen, "failed" if ln.account_name == "李镕堃" else "paid",
                       "户名与账号不符" if ln.account_name == "李镕堃" else "", f"R{i}")
            for i, ln in enumerate(lines)]
    data = fmt.render_result(again.number, rows)
    parsed = fmt.parse_result(data, again.number)
    assert [p.account_name for p in parsed] == [ln.account_name for ln in lines]
    batch_send(batch=again, actor=w.qianjiu, channel=FileDropChannel(tmp_path))
    result = result_import(batch=again, data=data, file_name="r.txt", actor=w.qianjiu)
    assert (result.paid, result.failed) == (2, 1)
    assert again.lines.get(account_name="李镕堃").fail_reason == "户名与账号不符"


def test_the_file_is_cross_checked_with_the_batch_before_release(pay_world):
    w = pay_world
    add_rural_bank()
    configure(w, "icbc-xlsx")
    batch = draft(w)
    batch = batch_approve(batch=batch, actor=w.checker)
    good = batch_file(batch)
    # A line's amount no longer adds up to the batch's total: nothing is released.
    ln = batch.lines.order_by("id").first()
    PayoutLine.objects.filter(pk=ln.pk).update(amount_fen=ln.amount_fen + 1)
    with pytest.raises(DomainError, match="明细与批次不符") as e:
        batch_file(batch)
    assert e.value.code == "bank_file_mismatch"
    PayoutLine.objects.filter(pk=ln.pk).update(amount_fen=ln.amount_fen)
    assert batch_file(batch) == good

    class Dropping(IcbcWorkbook):
        """A writer that loses the last line: the read-back check must catch it."""

        def render(self, fb: formats.FileBatch) -> bytes:
            return super().render(formats.FileBatch(fb.number, fb.day, fb.payer, fb.lines[:-1]))

    fb = file_batch(batch)
    with pytest.raises(DomainError, match=f"第 3 笔（明细号 {fb.lines[-1].out_detail_no}）不在文件中"):
        formats.release(Dropping(), fb, line_count=batch.line_count, total_fen=batch.total_fen)


def test_result_lines_are_cross_checked_by_number_and_amount(pay_world, tmp_path):
    w = pay_world
    add_rural_bank()
    configure(w, "icbc-xlsx")
    batch = draft(w)
    batch = batch_approve(batch=batch, actor=w.checker)
    batch = batch_send(batch=batch, actor=w.qianjiu, channel=FileDropChannel(tmp_path))
    fmt = formats.get("icbc-xlsx")
    lines = list(batch.lines.order_by("id"))
    rows = [ResultLine(0, batch.number, ln.out_detail_no, ln.account_no, ln.account_name,
                       ln.amount_fen + (100 if i == 2 else 0), "paid", "", f"R{i}")
            for i, ln in enumerate(lines)]
    before = Transaction.objects.count()
    result = result_import(batch=batch, data=fmt.render_result(batch.number, rows),
                           file_name="r.xlsx", actor=w.qianjiu)
    assert (result.paid, result.exceptions) == (2, 1)
    assert PayoutException.objects.get(result=result).kind == ExceptionKind.AMOUNT_MISMATCH
    assert Transaction.objects.count() > before
    # A 顺序号 that does not agree with its 自定义序号 refuses the whole file, naming the row.
    from huzhu.payouts.formats.workbook import new_book

    out = io.BytesIO()
    book = new_book(out)
    sheet = book.add_worksheet("结果")
    for c, h in enumerate(("顺序号", "自定义序号", "收款账号", "收款账号名称", "金额", "处理状态",
                           "失败原因")):
        sheet.write_string(0, c, h)
    for c, v in enumerate(("9", lines[2].out_detail_no, lines[2].account_no, "赵一", "1.00",
                           "失败", "")):
        sheet.write_string(1, c, v)
    book.close()
    with pytest.raises(BankFileError) as bad:
        fmt.parse_result(out.getvalue(), batch.number)
    assert "工作表“结果”第 2 行“顺序号” 9 与“自定义序号”" in bad.value.message
    assert "第 2 行处理失败，但“失败原因”为空" in bad.value.message
    with pytest.raises(BankFileError, match="不是 Excel 工作簿"):
        fmt.parse_result(b"a,b\r\n", batch.number)


def test_the_batch_page_says_which_result_file_it_expects(pay_world, client, tmp_path):
    w = pay_world
    add_rural_bank()
    configure(w, "cnaps-txt")
    batch = draft(w)
    client.force_login(w.qianjiu)
    page = client.get(f"/payouts/{batch.pk}/").content.decode()
    assert "联行号定长文本（GBK）" in page and "开户行未对应到银行名录" in page
    line = batch.lines.get(bank_cnaps="")
    r = client.post(f"/payouts/{batch.pk}/lines/{line.pk}/bank/", {"cnaps": RURAL})
    assert r.status_code == 302 and PayoutLine.objects.get(pk=line.pk).bank_cnaps == RURAL
    batch = batch_approve(batch=batch, actor=w.checker)
    batch_send(batch=batch, actor=w.qianjiu, channel=FileDropChannel(tmp_path))
    page = client.get(f"/payouts/{batch.pk}/").content.decode()
    assert "定长文本回盘（GBK" in page and 'accept=".txt,text/plain"' in page
    r = client.get(f"/payouts/{batch.pk}/file/")
    assert r["Content-Disposition"].endswith('.txt"') and r.content == batch_file(batch)


SAMPLES = [("icbc-xlsx", "icbc"), ("cmb-bb1paybh", "cmb"), ("cnaps-txt", "cnaps")]


@pytest.mark.parametrize("adapter,prefix", SAMPLES)
def test_the_sample_files_in_the_docs_are_what_the_adapters_read(adapter, prefix):
    """docs/samples/ stays true: each sample batch reads back with its count and total, and
    each sample result gives two paid lines and one failed with its reason."""
    from pathlib import Path

    fmt = formats.get(adapter)
    root = Path(__file__).resolve().parents[2] / "docs" / "samples"
    number, count, total, lines = fmt.read_batch(
        (root / f"{prefix}-batch.{fmt.extension}").read_bytes())
    assert (number, count, total) == ("PB20270315000001", 3, 372050)
    assert sum(ln.amount_fen for ln in lines) == total
    result = fmt.parse_result((root / f"{prefix}-result.{fmt.extension}").read_bytes(), number)
    assert [r.outcome for r in result] == ["paid", "failed", "paid"]
    assert result[1].reason == "账户已销户" and result[1].account_name == "陈八"
    assert [r.out_detail_no for r in result] == [ln.out_detail_no for ln in lines]


def test_picking_a_line_bank_is_audited_and_only_on_a_draft(pay_world):
    from huzhu.audit.models import Event

    w = pay_world
    add_rural_bank()
    configure(w, "cnaps-txt")
    batch = draft(w)
    line = batch.lines.get(bank_cnaps="")
    with pytest.raises(DomainError, match="银行名录中没有联行号"):
        line_bank_set(batch=batch, line_id=line.pk, cnaps="123456789012", actor=w.qianjiu)
    line_bank_set(batch=batch, line_id=line.pk, cnaps=RURAL, actor=w.qianjiu)
    e = Event.objects.filter(action="payout.line_bank_set").latest("seq")
    assert e.before == {"line": line.out_detail_no, "bank_cnaps": ""}
    assert e.after["bank_cnaps"] == RURAL and e.after["text"] == "广西农村信用社"
    assert e.org_path == w.province.path
    batch = batch_approve(batch=batch, actor=w.checker)
    with pytest.raises(DomainError, match="只有待复核的批次"):
        line_bank_set(batch=batch, line_id=line.pk, cnaps=ICBC, actor=w.qianjiu)
    assert PayoutLine.objects.get(pk=line.pk).bank_cnaps == RURAL
