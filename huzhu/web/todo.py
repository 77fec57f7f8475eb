"""What each person has to do today (issue 17 part 4): the home page's first block, one line per
item, each a count and a link, only the items that are not zero. Every count reads within the
person's own scope (their unit, their review queue, their fund region, their subtree)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q
from django.urls import reverse

from huzhu import clock
from huzhu.accounts.roles import Perm, Role


@dataclass(frozen=True)
class Todo:
    text: str
    url: str
    urgent: bool = False


def _agent(user: Any) -> list[Todo]:
    from huzhu.claims.access import claims_visible_to
    from huzhu.claims.status import ClaimStatus
    from huzhu.enrollment.models import Invoice, InvoiceStatus, Roster, RosterStatus
    from huzhu.enrollment.selectors import countdown_days, period_current

    unit = user.unit
    out: list[Todo] = []
    period = period_current(unit.fund_region_id)
    unit_page = reverse("enrollment:unit", args=[unit.pk])
    if period is not None:
        left = countdown_days(period)
        if 0 <= left <= 60:
            out.append(Todo(f"{period.name}参保还有 {left} 天截止", unit_page, left <= 7))
        waiting = Roster.objects.filter(unit=unit, period=period,
                                        status__in=[RosterStatus.INVALID, RosterStatus.VALID])
        for roster in waiting.order_by("-created_at")[:3]:
            what = "有错误，请更正后重新上传" if roster.status == RosterStatus.INVALID else "已校验，待提交"
            out.append(Todo(f"花名册“{roster.file_name}”{what}",
                            reverse("enrollment:roster_detail", args=[roster.pk]),
                            roster.status == RosterStatus.INVALID))
    unpaid = Invoice.objects.filter(unit=unit, status__in=[InvoiceStatus.OPEN,
                                                           InvoiceStatus.PARTLY_PAID]).count()
    if unpaid:
        out.append(Todo(f"{unpaid} 张缴费通知尚未缴清",
                        reverse("billing:unit_invoices", args=[unit.pk]), True))
    returned = claims_visible_to(user).filter(status=ClaimStatus.RETURNED).count()
    if returned:
        out.append(Todo(f"{returned} 件理赔退回补件，请补交材料",
                        reverse("claims:list") + "?status=returned", True))
    return out


def _reviewer(user: Any) -> list[Todo]:
    from huzhu.claims.keyed import keyed_visible_to
    from huzhu.claims.models import KeyedStatus
    from huzhu.claims.review import review_queue

    today = clock.today()
    out: list[Todo] = []
    # Stays keyed from papers waiting for a second person's keying (never the keyer's own).
    keyed = (keyed_visible_to(user).filter(status__in=[KeyedStatus.AWAITING, KeyedStatus.HELD])
             .exclude(keyed_by=user).count())
    if keyed:
        out.append(Todo(f"{keyed} 笔经办录入的结算单待复核", reverse("claims:keyed_list")))
    queue = review_queue(user)
    total = queue.count()
    if not total:
        return out
    url = reverse("claims:queue")
    overdue = queue.filter(due_on__lt=today).count()
    due = queue.filter(due_on=today).count()
    out.insert(0, Todo(f"{total} 件理赔待您审核", url))
    if overdue:
        out.append(Todo(f"其中 {overdue} 件已超过审核时限", url, True))
    if due:
        out.append(Todo(f"其中 {due} 件今天到期", url, True))
    return out


def _finance(user: Any) -> list[Todo]:
    from huzhu.payouts.access import region_of
    from huzhu.payouts.dayclose import days_unclosed
    from huzhu.payouts.models import BatchStatus, Payout, PayoutBatch, PayoutException, PayoutStatus

    region = region_of(user)
    if region is None:
        return []
    out: list[Todo] = []
    index = reverse("payouts:index")
    payable = Payout.objects.filter(fund_region=region, status=PayoutStatus.PAYABLE).count()
    if payable:
        out.append(Todo(f"{payable} 笔互助金待编入代付批次", index))
    to_check = (PayoutBatch.objects.filter(fund_region=region, status=BatchStatus.DRAFT)
                .exclude(made_by=user).count())
    if to_check:
        out.append(Todo(f"{to_check} 个代付批次等待您复核", index, True))
    failed = Payout.objects.filter(fund_region=region, status=PayoutStatus.FAILED).count()
    if failed:
        out.append(Todo(f"{failed} 笔支付失败，待更正银行卡后重付", index, True))
    exceptions = PayoutException.objects.filter(batch__fund_region=region,
                                                resolved=False).count()
    if exceptions:
        out.append(Todo(f"{exceptions} 笔对账异常待处理", reverse("payouts:reconcile"), True))
    unclosed = days_unclosed(fund_region=region, through=clock.today())
    if unclosed:
        out.append(Todo(f"{len(unclosed)} 个业务日尚未日结（最早 {unclosed[0]:%Y-%m-%d}）",
                        reverse("payouts:day_close"), len(unclosed) > 1))
    return out


def _staff(user: Any) -> list[Todo]:
    from huzhu.enrollment.models import Enrollment
    from huzhu.enrollment.selectors import period_current, progress_total
    from huzhu.organisations.access import units_visible_to

    org = user.organisation
    period = period_current(org.fund_region_id if not org.is_fund_region else org.pk)
    if period is None:
        return []
    out: list[Todo] = []
    board = reverse("enrollment:dashboard")
    progress = progress_total(org, period)
    if progress.target and progress.enrolled < progress.target:
        out.append(Todo(f"{period.name}参保 {progress.enrolled} 人，距任务 {progress.target} 人"
                        f"还差 {progress.target - progress.enrolled} 人", board))
    enrolled_units = (Enrollment.objects.filter(period=period, unit__isnull=False)
                      .values("unit_id"))
    idle = units_visible_to(user).filter(~Q(pk__in=enrolled_units)).count()
    if idle:
        out.append(Todo(f"{idle} 家单位本期尚未参保", board))
    return out


def _care(user: Any) -> list[Todo]:
    from huzhu.care.views import due_counts

    today, overdue = due_counts(user)
    out: list[Todo] = []
    if overdue:
        out.append(Todo(f"{overdue} 项重病关怀事项已逾期", reverse("care:list"), True))
    if today:
        out.append(Todo(f"{today} 项重病关怀事项今日到期", reverse("care:list")))
    return out


def todos_for(user: Any) -> list[Todo]:
    if not user.is_authenticated:
        return []
    if user.role == Role.AGENT and user.unit_id:
        return _agent(user)
    out: list[Todo] = []
    if user.can(Perm.REVIEW_CLAIMS):
        out += _reviewer(user)
    if user.can(Perm.MANAGE_PAYOUTS):
        out += _finance(user)
    if user.role in (Role.CITY_STAFF, Role.COUNTY_STAFF) and user.organisation_id:
        out += _staff(user)
    if user.can(Perm.MANAGE_CARE) and user.organisation_id:
        out += _care(user)
    return out
