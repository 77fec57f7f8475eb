"""Closing a payout day (日结, TRUST R-12): refused while an exception received by the end of
the day is open, or when the day does not reconcile, or out of order; once closed, its figures
are frozen and nothing posts on that day again, so they always equal a recomputation."""

from __future__ import annotations

import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.urls import reverse

from huzhu import clock
from huzhu.audit.models import Event
from huzhu.errors import DomainError, NotAllowed
from huzhu.payouts import bankfile
from huzhu.payouts.channels import FileDropChannel
from huzhu.payouts.dayclose import DayHasOpenExceptions, days_unclosed, payout_day_close
from huzhu.payouts.models import LineStatus, PayoutDayClose, PayoutException, PayoutLine
from huzhu.payouts.services import (
    batch_approve,
    batch_build,
    batch_send,
    exception_resolve,
    payouts_reconcile,
    result_import,
)
from tests.claims.conftest import ledger_clean

from .conftest import file_claim
from .test_bankfile import lines_of, raw, row, sent_batch, state

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
FIGURES = ("sent_fen", "sent_count", "paid_fen", "paid_count", "failed_fen", "failed_count",
           "in_flight_fen", "in_flight_count")


def at(day: datetime.date, hour: int = 10) -> Any:
    """Business hours of ``day`` in the scheme's time zone."""
    return time_machine.travel(datetime.datetime.combine(day, datetime.time(hour),
                                                         tzinfo=SHANGHAI))


def frozen(close: PayoutDayClose) -> tuple[int, ...]:
    return tuple(getattr(close, f) for f in FIGURES)


def recomputed(region: Any, day: datetime.date) -> tuple[int, ...]:
    rec = payouts_reconcile(fund_region=region, as_of=day)
    assert rec.ok, rec.problems
    return tuple(getattr(rec, f) for f in FIGURES)


@pytest.fixture
def days() -> tuple[datetime.date, datetime.date]:
    first = clock.today() + datetime.timedelta(days=1)
    return first, first + datetime.timedelta(days=1)


@pytest.fixture
def day1(pay_world: Any, tmp_path: Any, days: Any) -> Any:
    """On day 1 a batch of four goes to the bank and its result comes back: one paid, one
    failed, one with the wrong amount (an exception, still in flight), one still 处理中."""
    w = pay_world
    w.day1, w.day2 = days
    for i, m in enumerate(w.members[:5]):
        file_claim(w, m, f"DC{i}", begin=datetime.date(2026, 3, 2))
    with at(w.day1):
        w.batch = sent_batch(w, tmp_path, 4)
        w.lines = ls = lines_of(w.batch)
        w.result = result_import(batch=w.batch, data=raw([
            row(ls[0]),
            row(ls[1], 处理结果="失败", 失败原因="账户冻结", 银行流水号=""),
            row(ls[2], 金额=bankfile.fen_to_yuan(ls[2].amount_fen + 100)),
            row(ls[3], 处理结果="处理中", 银行流水号=""),
        ]), file_name="day1.csv", actor=w.qianjiu)
    assert (w.result.paid, w.result.failed, w.result.exceptions) == (1, 1, 1)
    w.tmp_path = tmp_path
    return w


def test_an_open_exception_refuses_the_close_naming_it_and_nothing_is_written(day1):
    w = day1
    events = Event.objects.count()
    with at(w.day1, 18), pytest.raises(DayHasOpenExceptions) as caught:
        payout_day_close(fund_region=w.province, date=w.day1, actor=w.qianjiu)
    text = caught.value.message
    assert "对账异常还有 1 笔未处理，不能日结" in text, text
    assert "回盘文件 day1.csv 第 4 行" in text and w.lines[2].out_detail_no in text
    assert "金额不符" in text
    assert [e.row for e in caught.value.exceptions] == [4]
    assert not PayoutDayClose.objects.exists()
    assert Event.objects.count() == events


def test_resolved_it_closes_with_the_reconciliation_frozen_and_only_once(day1):
    w = day1
    with at(w.day1, 18):
        exception_resolve(exception=PayoutException.objects.get(), actor=w.qianjiu,
                          resolution="银行确认金额录入错误，待银行重新回盘")
        close = payout_day_close(fund_region=w.province, date=w.day1, actor=w.qianjiu)
    amounts = [ln.amount_fen for ln in w.lines]
    assert frozen(close) == (sum(amounts), 4, amounts[0], 1, amounts[1], 1,
                             amounts[2] + amounts[3], 2)
    assert frozen(close) == recomputed(w.province, w.day1)
    assert (close.closed_by, close.date) == (w.qianjiu, w.day1)
    event = Event.objects.get(action="payout.day_closed")
    assert event.actor_id == w.qianjiu.pk and event.after["date"] == w.day1.isoformat()
    assert event.after["in_flight_fen"] == amounts[2] + amounts[3]

    with at(w.day1, 19), pytest.raises(DomainError, match="已日结，不能重复日结"):
        payout_day_close(fund_region=w.province, date=w.day1, actor=w.checker)
    assert PayoutDayClose.objects.count() == 1


def test_a_closed_day_takes_no_more_postings_and_its_figures_never_change(day1):
    w = day1
    ls = w.lines
    with at(w.day1, 18):
        exception_resolve(exception=PayoutException.objects.get(), actor=w.qianjiu,
                          resolution="待银行重新回盘")
        close = payout_day_close(fund_region=w.province, date=w.day1, actor=w.qianjiu)
    before = frozen(close)

    # later on the closed day: the bank's next answer is refused whole, a new batch stays unsent
    late = raw([row(ls[2]), row(ls[3])])
    with at(w.day1, 20):
        untouched = state()
        with pytest.raises(DomainError, match="的代付已日结，当日不能再发送批次、导入回盘"):
            result_import(batch=w.batch, data=late, file_name="late.csv", actor=w.qianjiu)
        assert state() == untouched
        batch = batch_approve(batch=batch_build(fund_region=w.province, actor=w.qianjiu).batch,
                              actor=w.checker)
        with pytest.raises(DomainError, match="请于下一个未日结的日期办理"):
            batch_send(batch=batch, actor=w.qianjiu, channel=FileDropChannel(w.tmp_path))
        assert set(batch.lines.values_list("status", flat=True)) == {LineStatus.PENDING}

    # the next day the same file goes in, the batch is sent, and day 1 is as it was closed
    with at(w.day2):
        r = result_import(batch=w.batch, data=late, file_name="late.csv", actor=w.qianjiu)
        assert (r.paid, r.exceptions) == (2, 0)
        batch = batch_send(batch=batch, actor=w.qianjiu, channel=FileDropChannel(w.tmp_path))
        result_import(batch=batch, data=raw([row(lines_of(batch)[0], 处理结果="失败",
                                                 失败原因="卡已注销", 银行流水号="")]),
                      file_name="day2.csv", actor=w.qianjiu)
    close.refresh_from_db()
    assert frozen(close) == before == recomputed(w.province, w.day1)
    day2 = recomputed(w.province, w.day2)
    assert day2 != before and day2[FIGURES.index("in_flight_count")] == 0
    assert payouts_reconcile(fund_region=w.province).ok and ledger_clean() == []
    with at(w.day2, 18):
        close2 = payout_day_close(fund_region=w.province, date=w.day2, actor=w.checker)
    assert frozen(close2) == day2


def test_days_close_in_order_and_a_day_without_activity_needs_no_close(day1):
    w = day1
    with at(w.day2):
        exception_resolve(exception=PayoutException.objects.get(), actor=w.qianjiu,
                          resolution="已核实")
        assert days_unclosed(fund_region=w.province, through=w.day2) == [w.day1]
        with pytest.raises(DomainError, match=f"{w.day1:%Y-%m-%d} 有代付业务尚未日结"):
            payout_day_close(fund_region=w.province, date=w.day2, actor=w.qianjiu)
        assert not PayoutDayClose.objects.exists()
        quiet = w.day1 - datetime.timedelta(days=1)
        payout_day_close(fund_region=w.province, date=w.day1, actor=w.qianjiu)
        payout_day_close(fund_region=w.province, date=w.day2, actor=w.qianjiu)  # quiet: fine
        payout_day_close(fund_region=w.province, date=quiet, actor=w.qianjiu)
        assert days_unclosed(fund_region=w.province, through=w.day2) == []


def test_a_future_day_is_refused(day1):
    w = day1
    with at(w.day1), pytest.raises(DomainError, match=f"{w.day2:%Y-%m-%d} 尚未到来，不能日结"):
        payout_day_close(fund_region=w.province, date=w.day2, actor=w.qianjiu)


def test_a_day_that_does_not_reconcile_is_refused(day1):
    w = day1
    exception_resolve(exception=PayoutException.objects.get(), actor=w.qianjiu,
                      resolution="已核实")
    # a line marked paid behind the ledger's back: the books no longer agree with the lines
    PayoutLine.objects.filter(out_detail_no=w.lines[3].out_detail_no).update(
        status=LineStatus.PAID,
        result_at=datetime.datetime.combine(w.day1, datetime.time(11), tzinfo=SHANGHAI))
    with at(w.day1, 18), pytest.raises(DomainError, match="代付对账不平，不能日结：在途代付款科目"):
        payout_day_close(fund_region=w.province, date=w.day1, actor=w.qianjiu)
    assert not PayoutDayClose.objects.exists()


def test_only_finance_of_the_region_may_close(day1):
    w = day1
    PayoutException.objects.update(resolved=True)
    with at(w.day1, 18):
        for outsider in (w.wangwu, w.top_reviewer, w.lisi, w.auditor, w.zhaoliu):
            with pytest.raises(NotAllowed, match="无权办理代付日结"):
                payout_day_close(fund_region=w.province, date=w.day1, actor=outsider)
    assert not PayoutDayClose.objects.exists()


def test_the_page_shows_the_refusal_and_closes_the_day(day1, client):
    w = day1
    url = reverse("payouts:day_close")
    with at(w.day1, 18):
        client.force_login(w.qianjiu)  # the session's idle timeout runs on the travelled clock
        page = client.get(url)
        assert page.status_code == 200
        html = page.content.decode()
        assert "代付日结" in html and "关闭当日" in html and "csrfmiddlewaretoken" in html
        assert f'value="{w.day1:%Y-%m-%d}"' in html  # the day waiting to be closed
        assert w.lines[2].out_detail_no in html  # the open exception, with links
        assert reverse("payouts:batch", args=[w.batch.pk]) in html and "去处理" in html

        refused = client.post(reverse("payouts:day_close_submit"),
                              {"date": f"{w.day1:%Y-%m-%d}"}, follow=True)
        html = refused.content.decode()
        assert refused.redirect_chain[-1][0] == f"{url}?date={w.day1:%Y-%m-%d}"
        assert "对账异常还有 1 笔未处理，不能日结" in html
        assert f"exception-{PayoutException.objects.get().pk}" in html
        assert not PayoutDayClose.objects.exists()

        bad = client.post(reverse("payouts:day_close_submit"), {"date": "昨天"}, follow=True)
        assert "请填写要日结的日期（YYYY-MM-DD）" in bad.content.decode()

        client.post(reverse("payouts:resolve", args=[PayoutException.objects.get().pk]),
                    {"resolution": "已与银行核实"})
        done = client.post(reverse("payouts:day_close_submit"),
                           {"date": f"{w.day1:%Y-%m-%d}"}, follow=True)
        html = done.content.decode()
        assert f"{w.day1:%Y-%m-%d} 已日结：已发送 4 笔，已支付 1 笔，失败 1 笔，在途 2 笔" in html
        assert "没有待日结的代付业务日期" in html and "钱九" in html
        assert "代付日结" in client.get(reverse("payouts:index")).content.decode()
        client.force_login(w.wangwu)  # a reviewer: no payout pages at all
        assert client.get(url).status_code == 404
        assert client.post(reverse("payouts:day_close_submit"),
                           {"date": f"{w.day1:%Y-%m-%d}"}).status_code == 404
    assert PayoutDayClose.objects.get().closed_by == w.qianjiu


def test_the_command_closes_a_day_or_says_why_not(day1, capsys):
    w = day1
    args = ["--region", str(w.province.pk), "--date", f"{w.day1:%Y-%m-%d}", "--user", "qianjiu"]
    with at(w.day1, 18):
        with pytest.raises(CommandError, match="对账异常还有 1 笔未处理"):
            call_command("payouts_close_day", *args)
        PayoutException.objects.update(resolved=True)
        with pytest.raises(CommandError, match="统筹区 999999 不存在"):
            call_command("payouts_close_day", "--region", "999999", *args[2:])
        call_command("payouts_close_day", *args)
    assert f"{w.day1:%Y-%m-%d} 已日结：已发送 4 笔" in capsys.readouterr().out
    assert PayoutDayClose.objects.filter(fund_region=w.province, date=w.day1).exists()
