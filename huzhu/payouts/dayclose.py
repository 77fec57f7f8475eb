"""Closing a fund region's payout day (日结, TRUST R-12).

Finance closes a day once the bank's results are in and every exception received by the end
of that day is resolved; a day whose reconciliation does not balance cannot be closed either.
The close freezes the day's figures (sent, paid, failed, in flight: ``payouts_reconcile`` as
of the end of the day) and from then on nothing may post payout money on that day
(``services._day_open`` refuses sending, result import and abandoning a batch), so the frozen
figures always equal a recomputation.

Order: a day with payout activity (a payout posting, or a result file imported) must be closed
before any later day can be; days without activity (weekends, holidays, quiet days) need no
close. That is how a cashier's journal is closed, day after day (逐日日结), and what an auditor
checks: no day on which payout money moved is skipped, and nobody signs off empty days.
"""

from __future__ import annotations

import datetime

from django.db import transaction
from django.db.models import QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from huzhu import clock
from huzhu.accounts.roles import Perm
from huzhu.actors import Actor
from huzhu.audit.services import event_record
from huzhu.errors import DomainError, NotAllowed
from huzhu.ledger.models import AccountKind, Leg
from huzhu.organisations.models import Organisation

from .access import region_of
from .models import PayoutDayClose, PayoutException, ResultFile
from .services import day_end, payouts_reconcile

LISTED = 10  # open exceptions named in a refusal


class DayHasOpenExceptions(DomainError):
    """The day cannot be closed: ``exceptions`` are still open."""

    code = "open_exceptions"

    def __init__(self, message: str, *, exceptions: list[PayoutException]):
        super().__init__(message)
        self.exceptions = exceptions


def exceptions_open_on(*, fund_region: Organisation,
                       date: datetime.date) -> QuerySet[PayoutException]:
    """Exceptions of the region received by the end of ``date`` and not resolved."""
    return (PayoutException.objects.filter(batch__fund_region=fund_region, resolved=False,
                                           created_at__lt=day_end(date))
            .select_related("result", "batch").order_by("id"))


def days_unclosed(*, fund_region: Organisation, through: datetime.date) -> list[datetime.date]:
    """Days up to ``through`` with payout activity and no close, earliest first.

    Every payout posting (sent, paid, failed) moves 在途代付款, so its legs (read through the
    account-and-date index) give the posting days; result files give the days something came
    back from the bank, postings or not.
    """
    closed = PayoutDayClose.objects.filter(fund_region=fund_region).values("date")
    posted = set(Leg.objects.filter(account__fund_region=fund_region,
                                    account__kind=AccountKind.PAYOUT_IN_TRANSIT,
                                    business_date__lte=through)
                 .exclude(business_date__in=closed)
                 .values_list("business_date", flat=True).distinct())
    imported = set(ResultFile.objects.filter(batch__fund_region=fund_region,
                                             created_at__lt=day_end(through))
                   .annotate(day=TruncDate("created_at", tzinfo=clock.BEIJING))
                   .exclude(day__in=closed).values_list("day", flat=True).distinct())
    return sorted(posted | imported)


def _refuse_open_exceptions(region: Organisation, date: datetime.date) -> None:
    found = list(exceptions_open_on(fund_region=region, date=date)[:LISTED + 1])
    if not found:
        return
    total = len(found) if len(found) <= LISTED else \
        exceptions_open_on(fund_region=region, date=date).count()
    named = "；".join(f"回盘文件 {e.result.file_name} 第 {e.row} 行"
                     f"（{e.out_detail_no or '无明细号'}，{e.get_kind_display()}）"
                     for e in found[:LISTED])
    more = f" 等 {total} 笔" if total > LISTED else ""
    raise DayHasOpenExceptions(
        f"{date:%Y-%m-%d} 及以前收到的对账异常还有 {total} 笔未处理，不能日结：{named}{more}。"
        "请先在对账报告中逐笔处理", exceptions=found[:LISTED])


@transaction.atomic
def payout_day_close(*, fund_region: Organisation, date: datetime.date,
                     actor: Actor) -> PayoutDayClose:
    """Close ``fund_region``'s payout day ``date`` and freeze its figures.

    It validates as well (STYLE rule 4): it refuses, with a Chinese ``DomainError``, a
    non-finance actor or one of another region, a day in the future, a day already closed, a day after an earlier day
    with payout activity that is not closed, a day with open exceptions received by its end,
    and a day whose reconciliation does not balance.
    """
    if actor is None or not getattr(actor, "is_authenticated", False) \
            or not actor.can(Perm.MANAGE_PAYOUTS):
        raise NotAllowed("无权办理代付日结")
    if region_of(actor) != fund_region:
        raise NotAllowed("只能日结本统筹区的代付")
    if date > clock.today():
        raise DomainError(f"{date:%Y-%m-%d} 尚未到来，不能日结", code="day_future")
    # The region's row lock orders this close against any posting on the day (_day_open).
    Organisation.objects.select_for_update().filter(pk=fund_region.pk).first()
    if PayoutDayClose.objects.filter(fund_region=fund_region, date=date).exists():
        raise DomainError(f"{fund_region.name} {date:%Y-%m-%d} 已日结，不能重复日结",
                          code="day_closed")
    earlier = days_unclosed(fund_region=fund_region, through=date - datetime.timedelta(days=1))
    if earlier:
        raise DomainError(f"{earlier[0]:%Y-%m-%d} 有代付业务尚未日结：日结须按日期顺序，请先日结该日"
                          "（没有代付业务的日期不必日结）", code="day_order")
    _refuse_open_exceptions(fund_region, date)
    rec = payouts_reconcile(fund_region=fund_region, as_of=date)
    if not rec.ok:
        raise DomainError(f"{date:%Y-%m-%d} 代付对账不平，不能日结：" + "；".join(rec.problems),
                          code="not_reconciled")
    close = PayoutDayClose.objects.create(
        fund_region=fund_region, date=date, closed_by=actor, closed_at=timezone.now(),
        sent_fen=rec.sent_fen, sent_count=rec.sent_count, paid_fen=rec.paid_fen,
        paid_count=rec.paid_count, failed_fen=rec.failed_fen, failed_count=rec.failed_count,
        in_flight_fen=rec.in_flight_fen, in_flight_count=rec.in_flight_count)
    event_record(action="payout.day_closed", actor=actor, obj=close, org_path=fund_region.path,
                 after={"date": date.isoformat(), "sent_fen": rec.sent_fen,
                        "paid_fen": rec.paid_fen, "failed_fen": rec.failed_fen,
                        "in_flight_fen": rec.in_flight_fen, "sent_count": rec.sent_count})
    return close
