"""A bank result file (回盘文件) is accepted only for the batch whose page it is uploaded on.

The batch comes from the page (``access.batch_get_for_user``: the user's fund region only),
never from the 批次号 written in the file. A file naming another batch, or with a line whose
明细号 is not one of the page's batch's lines, is refused whole with the line number; so is a
line with a blank 收款账号 (which used to skip the account check) or 收款户名. A refused file
changes nothing: no line status, no ledger leg, no result file, no exception, no event.

Two fund regions: 广西 (the province, region A, finance 钱九 and 孙复核) and 北海 (the world's
second fund region, a city under the province, region B: here it gains period 2026, two
enrolled members of unit C with claims, and a second finance officer besides 冯出纳).
"""

from __future__ import annotations

import datetime
from types import SimpleNamespace
from typing import Any

import pytest
from django.urls import reverse

from huzhu.audit.models import Event
from huzhu.ledger.models import Leg
from huzhu.payouts.bankfile import BankFileError
from huzhu.payouts.channels import FileDropChannel
from huzhu.payouts.models import (
    BatchStatus,
    LineStatus,
    PayoutBatch,
    PayoutException,
    PayoutLine,
    ResultFile,
)
from huzhu.payouts.services import (
    batch_approve,
    batch_build,
    batch_send,
    payouts_reconcile,
    result_import,
)
from tests.claims.conftest import MEDICAL, ledger_clean, record

from .conftest import file_claim
from .test_bankfile import lines_of, raw, row, state

pytestmark = pytest.mark.django_db

MARCH = datetime.date(2026, 3, 2)


# --------------------------------------------------------------------------- the world


def region_b(w: Any) -> Any:
    """北海, the world's second fund region (under the province, pooling its own fund): period
    2026 there with the medical product, 周十 and one more member of unit C enrolled with their
    cards and paid up, an agent for unit C and a second finance officer (the checker)."""
    from huzhu.accounts.models import User
    from huzhu.accounts.roles import Role
    from huzhu.demo.identities import bank_card, resident_id
    from huzhu.enrollment.billing import invoice_create, payment_record
    from huzhu.enrollment.services import roster_check, roster_confirm, roster_upload
    from huzhu.members.models import Member
    from huzhu.products.models import Period
    from huzhu.products.services import offer_create
    from tests.conftest import PASSWORD
    from tests.enrollment.conftest import person, xlsx

    region, unit = w.region_b, w.unit_c
    assert region.is_fund_region and unit.organisation.fund_region_id == region.pk

    def user(username: str, role: str, display_name: str, **kw: Any) -> Any:
        return User.objects.create_user(username=username, password=PASSWORD, role=role,
                                        display_name=display_name, **kw)

    b = SimpleNamespace(region=region, unit=unit, finance=w.finance_b, bureau=w.bureau_b)
    b.agent = user("bh_agent", Role.AGENT, "梁经办", unit=unit)
    b.checker = user("bh_checker", Role.FINANCE, "覃复核", organisation=region)
    from tests.claims.conftest import fund_opening

    fund_opening(region)
    b.period = Period.objects.create(
        fund_region=region, code="2026", name="2026 年度",
        enroll_opens=datetime.date(2025, 11, 1), enroll_closes=datetime.date(2025, 12, 31),
        coverage_start=datetime.date(2026, 1, 1), coverage_end=datetime.date(2026, 12, 31))
    offer = offer_create(period=b.period, organisation=region,
                         product_version=w.medical.product_version, premium_per_share_fen=11000,
                         split=[{"payer": "employer", "fen": 5000},
                                {"payer": "member", "rest": True}])
    other = resident_id("450502", datetime.date(1972, 6, 10), 301)
    name = offer.product_version.name
    rows = [person("周十", w.zhoushi.id_number, name, 手机号="13512345678",
                   银行卡号=w.zhoushi.bank_card, 开户行="广西北部湾银行北海分行"),
            person("梁一", other, name, 手机号="13677880001", 银行卡号=bank_card(8101),
                   开户行="广西北部湾银行北海分行")]
    roster, _ = roster_upload(unit=unit, period=b.period, file_name="bh.xlsx", data=xlsx(rows),
                              actor=b.agent)
    roster_check(roster)
    roster_confirm(roster=roster, actor=b.agent)
    invoice = invoice_create(unit=unit, period=b.period, actor=b.agent)
    payment_record(invoice=invoice, bank_ref="BH1", amount_fen=invoice.due_fen,
                   paid_on=datetime.date(2025, 12, 10), payer_name=unit.name, actor=b.finance)
    by_id = {m.id_number: m for m in Member.objects.filter(unit=unit)}
    b.members = [by_id[w.zhoushi.id_number], by_id[other]]
    assert all(m.bank_card for m in b.members)
    return b


def claim_in_b(b: Any, member: Any, setl_id: str) -> Any:
    from huzhu.claims.ingest import settlement_ingest
    from huzhu.claims.services import claim_file

    rec = record(setl_id, member.id_number, begin="2026-03-02", end="2026-03-11",
                 psn_name=member.name)
    s = settlement_ingest(record=rec, actor=b.bureau).settlement
    return claim_file(member=member, settlement=s, product_code=MEDICAL, actor=b.agent,
                      source="agent", as_of=datetime.date(2026, 12, 31))


def sent(region: Any, maker: Any, checker: Any, tmp_path: Any, n: int) -> PayoutBatch:
    batch = batch_build(fund_region=region, actor=maker, limit=n).batch
    assert batch is not None and batch.line_count == n
    batch = batch_approve(batch=batch, actor=checker)
    batch = batch_send(batch=batch, actor=maker, channel=FileDropChannel(tmp_path))
    assert batch.status == BatchStatus.SENT
    return batch


@pytest.fixture
def two(pay_world: Any, tmp_path: Any) -> Any:
    """Region A (the province) with two sent batches, X (two lines) and Y (one line); region B
    with one sent batch of two lines. Every line in flight, nothing imported yet."""
    w = pay_world
    for i, m in enumerate(w.members[:3]):
        file_claim(w, m, f"SA{i}", begin=MARCH)
    w.x = sent(w.province, w.qianjiu, w.checker, tmp_path / "x", 2)
    w.y = sent(w.province, w.qianjiu, w.checker, tmp_path / "y", 1)
    w.b = b = region_b(w)
    for i, m in enumerate(b.members):
        claim_in_b(b, m, f"SB{i}")
    b.batch = sent(b.region, b.finance, b.checker, tmp_path / "b", 2)
    assert b.batch.fund_region_id == b.region.pk != w.province.pk
    assert w.x.fund_region_id == w.y.fund_region_id == w.province.pk
    assert ledger_of(b.region) and ledger_of(w.province)  # both regions have books to keep
    assert ledger_clean() == []
    return w


# --------------------------------------------------------------------------- what must not move


def ledger_of(region: Any) -> list[tuple[int, int]]:
    """The region's balances, account by account."""
    from django.db.models import Sum

    return sorted(Leg.objects.filter(account__fund_region=region).values("account_id")
                  .annotate(s=Sum("amount_fen")).values_list("account_id", "s"))


def snapshot(w: Any) -> tuple[Any, ...]:
    """Everything a result file could change, both regions' ledgers and the event log."""
    return (state(), ledger_of(w.province), ledger_of(w.b.region),
            sorted(PayoutBatch.objects.values_list("pk", "status", "closed_at")),
            Event.objects.count(),
            Event.objects.filter(action="payout.result_imported").count())


def statuses(batch: PayoutBatch) -> list[str]:
    return list(batch.lines.order_by("id").values_list("status", flat=True))


def upload(client: Any, batch: PayoutBatch, data: bytes, name: str = "r.csv") -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(reverse("payouts:upload_result", args=[batch.pk]),
                       {"file": SimpleUploadedFile(name, data, content_type="text/csv")},
                       follow=True)


def messages_of(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def refused_untouched(w: Any, before: tuple[Any, ...]) -> None:
    assert snapshot(w) == before
    for batch in (w.x, w.y, w.b.batch):
        assert set(statuses(batch)) == {LineStatus.SENT}
    assert ledger_clean() == []
    assert payouts_reconcile(fund_region=w.province).ok
    assert payouts_reconcile(fund_region=w.b.region).ok


# --------------------------------------------------------------------------- (a) another region


@pytest.mark.parametrize("kind", ["b_batch_number", "a_batch_number_b_lines"])
def test_a_file_for_region_b_uploaded_on_region_a_batch_page_is_refused_and_b_is_untouched(
        two, client, kind):
    w = two
    theirs = lines_of(w.b.batch)
    if kind == "b_batch_number":  # B's own result file, every line paid
        data, message = raw([row(ln) for ln in theirs]), (
            f"第 2 行“批次号” {w.b.batch.number} 不是本批次的批次号 {w.x.number}")
    else:  # the file says it is X's, but its lines are B's
        data = raw([row(ln, 批次号=w.x.number) for ln in theirs])
        message = f"第 2 行“明细号” {theirs[0].out_detail_no} 不是本批次 {w.x.number} 的明细"
    client.force_login(w.qianjiu)
    before = snapshot(w)

    page = upload(client, w.x, data)
    assert page.status_code == 200
    assert page.redirect_chain[-1][0] == reverse("payouts:batch", args=[w.x.pk])
    said = messages_of(page)
    assert any(message in m for m in said), said
    assert not any("回盘已导入" in m for m in said)
    if kind == "a_batch_number_b_lines":  # every foreign line is named
        assert any(f"第 3 行“明细号” {theirs[1].out_detail_no}" in m for m in said), said
    refused_untouched(w, before)
    assert statuses(w.b.batch) == [LineStatus.SENT, LineStatus.SENT]

    # the service refuses it the same way, whoever calls it
    with pytest.raises(BankFileError) as caught:
        result_import(batch=w.x, data=data, file_name="b.csv", actor=w.qianjiu)
    assert message in str(caught.value)
    refused_untouched(w, before)


def test_a_line_of_another_batch_of_the_same_region_is_refused_with_its_line_number(two):
    w = two
    ours, other = lines_of(w.x), lines_of(w.y)
    data = raw([row(ours[0]), row(other[0], 批次号=w.x.number), row(ours[1])])
    before = snapshot(w)
    with pytest.raises(BankFileError) as caught:
        result_import(batch=w.x, data=data, file_name="mixed.csv", actor=w.qianjiu)
    assert caught.value.problems == [
        f"第 3 行“明细号” {other[0].out_detail_no} 不是本批次 {w.x.number} 的明细"]
    refused_untouched(w, before)


def test_a_detail_number_no_batch_has_is_refused_with_its_line_number(two):
    w = two
    ours = lines_of(w.x)
    data = raw([row(ours[0]), row(ours[1], 明细号=ours[1].out_detail_no + "9")])
    before = snapshot(w)
    with pytest.raises(BankFileError) as caught:
        result_import(batch=w.x, data=data, file_name="typo.csv", actor=w.qianjiu)
    assert caught.value.problems == [
        f"第 3 行“明细号” {ours[1].out_detail_no}9 不是本批次 {w.x.number} 的明细"]
    refused_untouched(w, before)


# --------------------------------------------------------------------------- (b) the page itself


def test_region_a_finance_cannot_reach_region_b_batch_page_at_all(two, client):
    w = two
    theirs = raw([row(ln) for ln in lines_of(w.b.batch)])
    client.force_login(w.qianjiu)
    before = snapshot(w)
    assert client.get(reverse("payouts:batch", args=[w.b.batch.pk])).status_code == 404
    assert client.get(reverse("payouts:download", args=[w.b.batch.pk])).status_code == 404
    assert upload(client, w.b.batch, theirs).status_code == 404
    refused_untouched(w, before)
    # region B's own finance reaches it, and not region A's batches
    client.force_login(w.b.finance)
    assert client.get(reverse("payouts:batch", args=[w.b.batch.pk])).status_code == 200
    assert client.get(reverse("payouts:batch", args=[w.x.pk])).status_code == 404
    assert upload(client, w.x, raw([row(ln) for ln in lines_of(w.x)])).status_code == 404
    assert set(statuses(w.x)) == {LineStatus.SENT}


# --------------------------------------------------------------------------- (c) same region


def test_a_file_for_batch_x_uploaded_on_batch_y_page_is_refused(two, client):
    w = two
    x_file = raw([row(ln) for ln in lines_of(w.x)])
    client.force_login(w.qianjiu)
    before = snapshot(w)
    page = upload(client, w.y, x_file)
    said = messages_of(page)
    assert any(f"第 2 行“批次号” {w.x.number} 不是本批次的批次号 {w.y.number}" in m for m in said), said
    refused_untouched(w, before)

    # on X's page it goes in; the same bytes on Y's page are still refused (not "already
    # imported"), and on X's page again they are a no-op
    done = upload(client, w.x, x_file)
    assert any("回盘已导入：成功 2 笔" in m for m in messages_of(done)), messages_of(done)
    assert statuses(w.x) == [LineStatus.PAID, LineStatus.PAID]
    after = snapshot(w)
    again_y = upload(client, w.y, x_file)
    assert any("不是本批次的批次号" in m for m in messages_of(again_y))
    assert snapshot(w) == after
    with pytest.raises(BankFileError, match="不是本批次的批次号"):
        result_import(batch=w.y, data=x_file, file_name="x.csv", actor=w.qianjiu)
    first = ResultFile.objects.get()
    assert result_import(batch=w.x, data=x_file, file_name="x.csv", actor=w.qianjiu).pk == first.pk
    assert snapshot(w) == after
    assert statuses(w.y) == [LineStatus.SENT]


# --------------------------------------------------------------------------- (d) blank cells


BLANKS = [
    ("blank account", {"收款账号": ""}, "第 3 行“收款账号”为空"),
    ("spaces for an account", {"收款账号": "   "}, "第 3 行“收款账号”为空"),
    ("blank account, still in progress", {"收款账号": "", "处理结果": "处理中", "银行流水号": ""},
     "第 3 行“收款账号”为空"),
    ("blank name", {"收款户名": ""}, "第 3 行“收款户名”为空"),
    ("blank amount", {"金额": ""}, "第 3 行“金额”为空"),
]


@pytest.mark.parametrize(("name", "change", "message"), BLANKS, ids=[b[0] for b in BLANKS])
def test_a_blank_account_name_or_amount_is_refused_with_its_line_number(two, name, change,
                                                                         message):
    w = two
    ls = lines_of(w.x)
    data = raw([row(ls[0]), row(ls[1], **change)])
    before = snapshot(w)
    with pytest.raises(BankFileError) as caught:
        result_import(batch=w.x, data=data, file_name=f"{name}.csv", actor=w.qianjiu)
    assert caught.value.problems == [message]
    assert str(caught.value).startswith("银行回盘文件有误，未做任何处理：")
    refused_untouched(w, before)


def test_a_blank_account_is_refused_through_the_page_too(two, client):
    w = two
    ls = lines_of(w.x)
    client.force_login(w.qianjiu)
    before = snapshot(w)
    page = upload(client, w.x, raw([row(ls[0], 收款账号=""), row(ls[1])]))
    assert "第 2 行“收款账号”为空" in messages_of(page)
    refused_untouched(w, before)


# --------------------------------------------------------------------------- (e) the right file


def test_the_right_file_on_its_own_page_is_imported_in_each_region(two, client):
    w = two
    ls = lines_of(w.x)
    data = raw([row(ls[0]), row(ls[1], 处理结果="失败", 失败原因="户名与账号不符", 银行流水号="")])
    b_before = (statuses(w.b.batch), ledger_of(w.b.region))
    client.force_login(w.qianjiu)
    page = upload(client, w.x, data, "x.csv")
    assert page.redirect_chain[-1][0] == reverse("payouts:batch", args=[w.x.pk])
    assert any("回盘已导入：成功 1 笔，失败 1 笔，重复 0 笔，异常 0 笔" in m
               for m in messages_of(page)), messages_of(page)
    assert statuses(w.x) == [LineStatus.PAID, LineStatus.FAILED]
    r = ResultFile.objects.get()
    assert (r.batch_id, r.imported_by_id, r.paid, r.failed) == (w.x.pk, w.qianjiu.pk, 1, 1)
    assert Event.objects.filter(action="payout.result_imported", object_id=str(w.x.pk)).count() == 1
    assert not PayoutException.objects.exists()
    assert (statuses(w.b.batch), ledger_of(w.b.region)) == b_before  # region B: nothing
    # the same file again: a no-op
    after = snapshot(w)
    again = upload(client, w.x, data, "x-again.csv")
    assert any("回盘已导入：成功 1 笔，失败 1 笔" in m for m in messages_of(again))
    assert snapshot(w) == after

    # region B's finance imports B's file on B's page
    a_before = (statuses(w.x), statuses(w.y), ledger_of(w.province))
    client.force_login(w.b.finance)
    page = upload(client, w.b.batch, raw([row(ln) for ln in lines_of(w.b.batch)]), "b.csv")
    assert any("回盘已导入：成功 2 笔" in m for m in messages_of(page)), messages_of(page)
    assert statuses(w.b.batch) == [LineStatus.PAID, LineStatus.PAID]
    w.b.batch.refresh_from_db()
    assert w.b.batch.status == BatchStatus.DONE
    assert (statuses(w.x), statuses(w.y), ledger_of(w.province)) == a_before
    assert PayoutLine.objects.filter(batch=w.b.batch, status=LineStatus.PAID).count() == 2
    assert ledger_clean() == []
    assert payouts_reconcile(fund_region=w.province).ok
    assert payouts_reconcile(fund_region=w.b.region).ok
    assert payouts_reconcile(fund_region=w.b.region).paid_fen == w.b.batch.total_fen
