"""The bank's result file (回盘文件): a malformed file is refused whole with a clear Chinese
error naming the row and the column, and changes nothing; a well-formed file is applied line
by line, and each line that does not match what we sent becomes an exception that moves no
money while the good lines of the same file are applied. (A file or a line that is not the
batch's it is uploaded for is refused whole: tests/payouts/test_result_scope.py.)"""

from __future__ import annotations

import csv
import datetime
import io
import zipfile
from typing import Any

import pytest

from huzhu.claims.models import Claim
from huzhu.ledger.models import Leg, Transaction
from huzhu.notices.models import OutboxMessage
from huzhu.payouts import bankfile
from huzhu.payouts.bankfile import RESULT_HEAD, BankFileError, ResultLine
from huzhu.payouts.channels import FileDropChannel
from huzhu.payouts.models import (
    BatchStatus,
    ExceptionKind,
    LineStatus,
    Payout,
    PayoutException,
    PayoutLine,
    PayoutStatus,
    ResultFile,
)
from huzhu.payouts.services import (
    batch_approve,
    batch_build,
    batch_file,
    batch_send,
    payouts_reconcile,
    result_import,
)
from huzhu.payouts.shown import ClaimState, claim_state
from tests.claims.conftest import ledger_clean
from tests.enrollment.conftest import xlsx

from .conftest import file_claim

pytestmark = pytest.mark.django_db


def sent_batch(w: Any, tmp_path: Any, n: int, *, send: bool = True) -> Any:
    batch = batch_build(fund_region=w.province, actor=w.qianjiu, limit=n).batch
    assert batch.line_count == n
    batch = batch_approve(batch=batch, actor=w.checker)
    if send:
        batch = batch_send(batch=batch, actor=w.qianjiu, channel=FileDropChannel(tmp_path))
        assert batch.status == BatchStatus.SENT
    return batch


def lines_of(batch: Any) -> list[ResultLine]:
    """The batch as the bank would answer it, every line paid."""
    _no, out = bankfile.parse_batch(batch_file(batch))
    return [ResultLine(0, batch.number, o.out_detail_no, o.account_no, o.account_name,
                       o.amount_fen, "paid", "", f"BK{i:04d}") for i, o in enumerate(out)]


def raw(rows: list[list[str]], head: tuple[str, ...] | list[str] = RESULT_HEAD,
        encoding: str = "utf-8-sig") -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(head)
    w.writerows(rows)
    return buf.getvalue().encode(encoding)


def row(ln: ResultLine, **change: str) -> list[str]:
    cells = {"批次号": ln.batch_no, "明细号": ln.out_detail_no, "收款账号": ln.account_no,
             "收款户名": ln.account_name, "金额": bankfile.fen_to_yuan(ln.amount_fen),
             "处理结果": "成功", "失败原因": "", "银行流水号": ln.bank_ref}
    cells.update(change)
    return [cells[h] for h in RESULT_HEAD]


def state() -> tuple[Any, ...]:
    """Everything a result file could change."""
    return (sorted(PayoutLine.objects.values_list("pk", "status", "bank_ref", "fail_reason")),
            sorted(Payout.objects.values_list("pk", "status")),
            sorted(Claim.objects.values_list("pk", "status")),
            Transaction.objects.count(), Leg.objects.count(), ResultFile.objects.count(),
            PayoutException.objects.count(), OutboxMessage.objects.count())


@pytest.fixture
def three(pay_world: Any, tmp_path: Any) -> Any:
    """Three members' claims approved and sent to the bank in one batch."""
    w = pay_world
    for i, m in enumerate(w.members[:3]):
        file_claim(w, m, f"BF{i}", begin=datetime.date(2026, 3, 2))
    w.batch = sent_batch(w, tmp_path, 3)
    w.lines = lines_of(w.batch)
    return w


def xlsx_bytes() -> bytes:
    return xlsx([{"姓名": "张三"}])


def zip_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("result.csv", "批次号\r\n")
    return buf.getvalue()


# name, file maker (given the good lines), a fragment the error must contain
BAD_FILES = [
    ("empty", lambda ls: b"", "文件为空"),
    ("blank lines only", lambda ls: b"\r\n  \r\n", "文件为空"),
    ("header only", lambda ls: raw([]), "文件没有明细行"),
    ("missing columns", lambda ls: raw([[ls[0].batch_no, ls[0].out_detail_no]],
                                       head=("批次号", "明细号", "收款账号", "收款户名", "失败原因",
                                             "银行流水号")),
     "第 1 行缺少列：金额、处理结果"),
    ("non-numeric amount", lambda ls: raw([row(ls[0]), row(ls[1], 金额="一千元")]),
     "第 3 行“金额”不是两位小数的元金额：一千元"),
    ("three decimals", lambda ls: raw([row(ls[0], 金额="1400.000")]),
     "第 2 行“金额”不是两位小数的元金额：1400.000"),
    ("negative amount", lambda ls: raw([row(ls[0], 金额="-1.00")]),
     "第 2 行“金额”不是两位小数的元金额：-1.00"),
    ("empty amount", lambda ls: raw([row(ls[0], 金额="")]), "第 2 行“金额”为空"),
    ("empty detail number", lambda ls: raw([row(ls[0]), row(ls[1]), row(ls[2], 明细号="")]),
     "第 4 行“明细号”为空"),
    ("unknown outcome", lambda ls: raw([row(ls[0], 处理结果="已退回")]),
     "第 2 行“处理结果”应为 成功、失败 或 处理中：已退回"),
    ("failed without reason", lambda ls: raw([row(ls[0]), row(ls[1], 处理结果="失败")]),
     "第 3 行处理结果为失败，但“失败原因”为空"),
    ("two batch numbers", lambda ls: raw([row(ls[0]), row(ls[1], 批次号="PB20990101999999")]),
     "第 3 行“批次号”为 PB20990101999999，与第 2 行的"),
    ("unknown batch number", lambda ls: raw([row(ls[0], 批次号="PB20990101999999")]),
     "第 2 行“批次号” PB20990101999999 不是本批次的批次号"),
    ("xlsx", lambda ls: xlsx_bytes(), "这是 Excel/压缩文件，请上传银行导出的 CSV 回盘文件"),
    ("zip", lambda ls: zip_bytes(), "这是 Excel/压缩文件"),
    ("over size", lambda ls: raw([row(ls[0])]) + b" " * bankfile.MAX_RESULT_BYTES,
     "文件超过 20 MB 上限"),
]


@pytest.mark.parametrize(("name", "make", "message"), BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_a_bad_result_file_is_refused_whole_with_its_row_and_column_and_changes_nothing(
        three, name, make, message):
    before = state()
    data = make(three.lines)
    with pytest.raises(BankFileError) as caught:
        result_import(batch=three.batch, data=data, file_name=f"{name}.csv",
                      actor=three.qianjiu)
    text = str(caught.value)
    assert text.startswith("银行回盘文件有误，未做任何处理：")
    assert message in text, text
    assert state() == before
    assert ledger_clean() == []
    assert payouts_reconcile(fund_region=three.province).ok


def test_every_problem_of_a_file_is_named_not_only_the_first(three):
    ls = three.lines
    data = raw([row(ls[0], 金额="12"), row(ls[1], 处理结果="失败"), row(ls[2], 处理结果="退票")])
    with pytest.raises(BankFileError) as caught:
        result_import(batch=three.batch, data=data, file_name="r.csv", actor=three.qianjiu)
    assert [p[:5] for p in caught.value.problems] == ["第 2 行", "第 3 行", "第 4 行"]


def test_a_gbk_encoded_result_file_is_read(three):
    ls = three.lines
    data = raw([row(ls[0]), row(ls[1], 处理结果="失败", 失败原因="户名与账号不符"),
                row(ls[2], 处理结果="处理中", 银行流水号="")], encoding="gbk")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")  # really GBK, with the names in it
    result = result_import(batch=three.batch, data=data, file_name="gbk.csv", actor=three.qianjiu)
    assert (result.lines, result.paid, result.failed, result.exceptions) == (3, 1, 1, 0)
    by_no = dict(PayoutLine.objects.values_list("out_detail_no", "status"))
    assert [by_no[ln.out_detail_no] for ln in ls] == [LineStatus.PAID, LineStatus.FAILED,
                                                       LineStatus.SENT]
    assert PayoutLine.objects.get(out_detail_no=ls[1].out_detail_no).fail_reason == "户名与账号不符"
    three.batch.refresh_from_db()
    assert three.batch.status == BatchStatus.SENT  # one line still 处理中
    assert ledger_clean() == [] and payouts_reconcile(fund_region=three.province).ok


def test_mismatched_lines_become_exceptions_and_the_good_lines_are_applied(pay_world, tmp_path):
    w = pay_world
    for i, m in enumerate(w.members[:7]):
        file_claim(w, m, f"EX{i}", begin=datetime.date(2026, 3, 2))
    first = sent_batch(w, tmp_path, 5)
    other = sent_batch(w, tmp_path, 1)
    unsent = sent_batch(w, tmp_path, 1, send=False)
    ls, theirs, waiting = lines_of(first), lines_of(other), lines_of(unsent)
    rec0 = payouts_reconcile(fund_region=w.province)
    assert rec0.ok and rec0.in_flight_fen == sum(ln.amount_fen for ln in ls + theirs)

    data = raw([
        row(ls[0]),                                                   # 2 good: paid
        row(ls[1], 处理结果="失败", 失败原因="账户冻结", 银行流水号=""),   # 3 good: failed
        row(ls[2], 金额=bankfile.fen_to_yuan(ls[2].amount_fen + 1)),    # 4 amount
        row(ls[3], 收款账号="6222020200000000000"),                     # 5 account
        row(ls[4], 处理结果="处理中", 银行流水号=""),                     # 6 still in progress
    ])
    result = result_import(batch=first, data=data, file_name="mixed.csv", actor=w.qianjiu)
    assert (result.lines, result.paid, result.failed, result.exceptions) == (5, 1, 1, 2)
    got = {(e.row, e.kind, e.out_detail_no) for e in PayoutException.objects.filter(result=result)}
    assert got == {(4, ExceptionKind.AMOUNT_MISMATCH, ls[2].out_detail_no),
                   (5, ExceptionKind.ACCOUNT_MISMATCH, ls[3].out_detail_no)}
    amount = PayoutException.objects.get(result=result, kind=ExceptionKind.AMOUNT_MISMATCH)
    assert "金额" in amount.detail and bankfile.fen_to_yuan(ls[2].amount_fen) in amount.detail
    status = dict(PayoutLine.objects.values_list("out_detail_no", "status"))
    assert status[ls[0].out_detail_no] == LineStatus.PAID
    assert status[ls[1].out_detail_no] == LineStatus.FAILED
    for ln in (ls[2], ls[3], ls[4], theirs[0]):  # exceptions, 处理中 and the other batch: unmoved
        assert status[ln.out_detail_no] == LineStatus.SENT
    for ln in (ls[2], ls[3], ls[4], theirs[0]):
        line = PayoutLine.objects.get(out_detail_no=ln.out_detail_no)
        assert not Transaction.objects.filter(key__in=[f"payout-paid:{line.pk}",
                                                       f"payout-failed:{line.pk}"]).exists()
        assert claim_state(Claim.objects.get(pk=line.payout.claim_id)) == ClaimState.PAYING
    rec = payouts_reconcile(fund_region=w.province)
    assert rec.ok and rec.open_exceptions == 2
    assert rec.paid_fen == ls[0].amount_fen and rec.failed_fen == ls[1].amount_fen
    assert rec.in_flight_fen == rec0.in_flight_fen - ls[0].amount_fen - ls[1].amount_fen
    assert ledger_clean() == []
    first.refresh_from_db()
    assert first.status == BatchStatus.SENT

    # the same file again is a no-op
    before = state()
    assert result_import(batch=first, data=data, file_name="mixed-again.csv",
                         actor=w.qianjiu).pk == result.pk
    assert state() == before

    # a result contradicting the recorded one, and the recorded one repeated
    data2 = raw([row(ls[0], 处理结果="失败", 失败原因="账户冻结", 银行流水号=""),  # 2 conflict
                 row(ls[1]),                                                  # 3 conflict
                 row(ls[0])])                                                 # 4 repeated
    second = result_import(batch=first, data=data2, file_name="late.csv", actor=w.qianjiu)
    assert (second.paid, second.failed, second.repeated, second.exceptions) == (0, 0, 1, 2)
    assert set(PayoutException.objects.filter(result=second).values_list("row", "kind")) == {
        (2, ExceptionKind.CONFLICT), (3, ExceptionKind.CONFLICT)}
    assert "已记录为成功，本次回盘为失败" in PayoutException.objects.get(result=second, row=2).detail
    assert PayoutLine.objects.get(out_detail_no=ls[0].out_detail_no).status == LineStatus.PAID
    assert PayoutLine.objects.get(out_detail_no=ls[1].out_detail_no).status == LineStatus.FAILED

    # a line not yet sent (its batch is approved, not sent)
    before_unsent = state()
    third = result_import(batch=unsent, data=raw([row(waiting[0])]), file_name="early.csv",
                          actor=w.qianjiu)
    assert third.exceptions == 1 and third.paid == 0
    exc = PayoutException.objects.get(result=third)
    assert exc.kind == ExceptionKind.NOT_SENT and exc.row == 2
    line = PayoutLine.objects.get(out_detail_no=waiting[0].out_detail_no)
    assert line.status == LineStatus.PENDING
    assert Payout.objects.get(pk=line.payout_id).status == PayoutStatus.BATCHED
    unsent.refresh_from_db()
    assert unsent.status == BatchStatus.APPROVED
    after = state()
    assert after[:5] == before_unsent[:5]  # lines, payouts, claims, ledger untouched
    assert ledger_clean() == [] and payouts_reconcile(fund_region=w.province).ok
    # one SMS each for the paid and the failed line, nothing for the exceptions
    assert OutboxMessage.objects.filter(template="CLAIM_PAID").count() == 1
    assert OutboxMessage.objects.filter(template="CLAIM_PAY_FAILED").count() == 1
