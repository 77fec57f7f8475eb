"""Payout pages for finance: payable money and batches, a batch's lines and actions (approve,
send, query, cancel, abandon, download the bank file, import the bank's result), the
exceptions list, the reconciliation report and the day close (日结)."""

from __future__ import annotations

import datetime
from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Sum
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from huzhu import clock
from huzhu.actors import AuthedRequest
from huzhu.audit.models import Action
from huzhu.audit.services import event_record
from huzhu.errors import DomainError
from huzhu.web.paging import paginate

from . import banklist, formats
from .access import batch_get_for_user, batches_visible_to, region_of
from .balance import fund_cover
from .bankfile import BankFileError
from .channels import default_channel
from .dayclose import days_unclosed, exceptions_open_on, payout_day_close
from .models import (
    BatchStatus,
    LineStatus,
    PayeeBank,
    Payout,
    PayoutBatch,
    PayoutDayClose,
    PayoutException,
    PayoutStatus,
)
from .regions import may_edit_settings
from .services import (
    batch_abandon,
    batch_approve,
    batch_build,
    batch_cancel,
    batch_file,
    batch_query,
    batch_send,
    exception_resolve,
    file_problems,
    line_bank_set,
    payout_requeue,
    payouts_reconcile,
    result_import,
)


def _region(request: AuthedRequest):  # noqa: ANN202
    region = region_of(request.user)
    if region is None:
        raise Http404
    return region


@login_required
def index(request: AuthedRequest) -> HttpResponse:
    region = _region(request)
    waiting = {row["status"]: (row["n"], int(row["fen"] or 0)) for row in
               Payout.objects.filter(fund_region=region).values("status")
               .annotate(n=Count("id"), fen=Sum("amount_fen"))}
    page = paginate(request, batches_visible_to(request.user).select_related(
        "made_by", "checked_by").order_by("-id"), per_page=20, count=False)
    failed = (Payout.objects.filter(fund_region=region, status=PayoutStatus.FAILED)
              .select_related("member", "claim")[:50])
    return render(request, "payouts/index.html", {
        "region": region, "page": page, "waiting": waiting, "failed": failed,
        "payable": waiting.get(PayoutStatus.PAYABLE, (0, 0)),
        "may_edit_settings": may_edit_settings(request.user),
        "open_exceptions": PayoutException.objects.filter(batch__fund_region=region,
                                                          resolved=False).count()})


@login_required
@require_POST
def build(request: AuthedRequest) -> HttpResponse:
    region = _region(request)
    try:
        report = batch_build(fund_region=region, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("payouts:index")
    if report.skipped_no_card:
        messages.error(request, f"{len(report.skipped_no_card)} 笔因会员未登记银行卡未编入批次")
    if report.batch is None:
        messages.info(request, "没有可编入批次的待支付款项")
        return redirect("payouts:index")
    messages.success(request, f"已生成批次 {report.batch.number}，请由另一位财务人员复核")
    return redirect("payouts:batch", pk=report.batch.pk)


@login_required
def batch(request: AuthedRequest, pk: int) -> HttpResponse:
    b = batch_get_for_user(request.user, pk)
    lines = paginate(request, b.lines.select_related("payout").order_by("id"), per_page=50,
                     count=False)
    fmt = formats.get(b.adapter)
    unmatched = []
    problems: list[str] = []
    bank_choices: list[PayeeBank] = []
    if b.status == BatchStatus.DRAFT:
        problems = file_problems(b)
        unmatched = list(b.lines.filter(bank_cnaps="").order_by("id")[:100])
        if unmatched:
            banklist.ensure_shipped()
            q = request.GET.get("bank_q", "").strip()[:40]
            found = PayeeBank.objects.filter(active=True)
            found = found.filter(name__contains=q) if q else found.exclude(aliases="")
            bank_choices = list(found.order_by("bank_code", "cnaps")[:100])
    return render(request, "payouts/batch.html", {
        "fmt": fmt, "problems": problems, "unmatched": unmatched, "bank_choices": bank_choices,
        "bank_q": request.GET.get("bank_q", "")[:40],
        "b": b, "lines": lines, "results": b.results.order_by("-id"),
        "exceptions": b.exceptions.filter(resolved=False).order_by("id"),
        "S": BatchStatus, "may_check": b.status == BatchStatus.DRAFT
        and b.made_by_id != request.user.pk,
        "cover": fund_cover(b) if b.status in (BatchStatus.DRAFT, BatchStatus.APPROVED)
        else None})


ACTIONS: dict[str, Callable[..., PayoutBatch]] = {
    "approve": batch_approve, "cancel": batch_cancel, "abandon": batch_abandon}


@login_required
@require_POST
def batch_action(request: AuthedRequest, pk: int, action: str) -> HttpResponse:
    b = batch_get_for_user(request.user, pk)
    try:
        if action == "send":
            b = batch_send(batch=b, actor=request.user, channel=default_channel())
            messages.success(request, f"批次 {b.number}：{b.get_status_display()}")
        elif action == "query":
            b = batch_query(batch=b, actor=request.user, channel=default_channel())
            messages.info(request, f"银行查询结果：{b.get_status_display()}")
        elif action == "approve":
            b = batch_approve(batch=b, actor=request.user,
                              override_reason=request.POST.get("override_reason", ""))
            messages.success(request, f"批次 {b.number}：{b.get_status_display()}")
        elif action in ACTIONS:
            b = ACTIONS[action](batch=b, actor=request.user)
            messages.success(request, f"批次 {b.number}：{b.get_status_display()}")
        else:
            raise Http404
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("payouts:batch", pk=pk)


@login_required
def download(request: AuthedRequest, pk: int) -> HttpResponse:
    b = batch_get_for_user(request.user, pk)
    if b.status in (BatchStatus.DRAFT, BatchStatus.CANCELLED):
        messages.error(request, "批次复核并发送后才能下载银行文件")
        return redirect("payouts:batch", pk=pk)
    try:
        content = batch_file(b)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("payouts:batch", pk=pk)
    fmt = formats.get(b.adapter)
    event_record(action="payout.batch_exported", actor=request.user, obj=b,
                 org_path=b.fund_region.path, after={"number": b.number})
    # The file holds every line's full card number: a reveal, named and counted (TRUST S-11).
    lines = b.lines.exclude(status=LineStatus.CANCELLED).count()
    event_record(action=Action.PII_REVEALED, actor=request.user, obj=b,
                 org_path=b.fund_region.path,
                 after={"file": f"代付文件 {b.number}", "rows": lines, "bank_card": lines})
    response = HttpResponse(content, content_type=fmt.content_type)
    response["Content-Disposition"] = f'attachment; filename="{b.number}.{fmt.extension}"'
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def upload_result(request: AuthedRequest, pk: int) -> HttpResponse:
    b = batch_get_for_user(request.user, pk)  # the file is for this batch, whatever it says
    f = request.FILES.get("file")
    if f is None:
        messages.error(request, "请选择银行回盘文件")
        return redirect("payouts:batch", pk=pk)
    try:
        r = result_import(batch=b, data=f.read(), file_name=f.name or "", actor=request.user)
    except BankFileError as exc:
        for problem in exc.problems[:20]:
            messages.error(request, problem)
        return redirect("payouts:batch", pk=pk)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("payouts:batch", pk=pk)
    messages.success(request, f"回盘已导入：成功 {r.paid} 笔，失败 {r.failed} 笔，重复 {r.repeated} 笔，"
                              f"异常 {r.exceptions} 笔")
    return redirect("payouts:batch", pk=pk)


@login_required
@require_POST
def line_bank(request: AuthedRequest, pk: int, line_id: int) -> HttpResponse:
    b = batch_get_for_user(request.user, pk)
    try:
        ln = line_bank_set(batch=b, line_id=line_id, cnaps=request.POST.get("cnaps", ""),
                           actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"明细 {ln.out_detail_no} 的收款开户行已选定；"
                                  f"开户行“{ln.bank_name}”以后将自动对应")
    return redirect("payouts:batch", pk=pk)


@login_required
def settings_list(request: AuthedRequest) -> HttpResponse:
    from .regions import regions_editable_by, setting_of

    regions = list(regions_editable_by(request.user))
    if not regions:
        raise Http404
    return render(request, "payouts/settings_list.html", {
        "rows": [(r, setting_of(r)) for r in regions],
        "formats": dict(formats.choices())})


@login_required
def settings_edit(request: AuthedRequest, region_id: int) -> HttpResponse:
    from huzhu.rules.money import format_yuan

    from .regions import region_setting_save, regions_editable_by, setting_of

    region = regions_editable_by(request.user).filter(pk=region_id).first()
    if region is None:
        raise Http404
    s = setting_of(region)
    banklist.ensure_shipped()
    form = {"adapter": s.adapter, "payer_account": s.payer_account, "payer_name": s.payer_name,
            "payer_bank": s.payer_bank.cnaps if s.payer_bank else "",
            "balance_floor": format_yuan(s.balance_floor_fen)}
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        form = {k: request.POST.get(k, "") for k in form}
        try:
            region_setting_save(region=region, actor=request.user, adapter=form["adapter"],
                                payer_account=form["payer_account"],
                                payer_name=form["payer_name"],
                                payer_bank_cnaps=form["payer_bank"],
                                balance_floor=form["balance_floor"])
        except DomainError as exc:
            messages.error(request, exc.message)
            errors = exc.field_errors
        else:
            messages.success(request, f"{region.name} 的代付设置已保存")
            return redirect("payouts:settings")
    return render(request, "payouts/settings_edit.html", {
        "region": region, "form": form, "errors": errors, "formats": formats.choices(),
        "banks": PayeeBank.objects.filter(active=True).exclude(aliases="")
        .order_by("bank_code", "cnaps")[:200],
        "chosen_bank": s.payer_bank})


@login_required
@require_POST
def requeue(request: AuthedRequest, payout_id: int) -> HttpResponse:
    region = _region(request)
    p = Payout.objects.filter(pk=payout_id, fund_region=region).first()
    if p is None:
        raise Http404
    try:
        payout_requeue(payout=p, actor=request.user,
                       confirm_same_card=request.POST.get("same_card_reason", "").strip())
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"理赔 {p.claim_id} 的互助金已重新进入待支付")
    return redirect("payouts:index")


@login_required
def reconcile(request: AuthedRequest) -> HttpResponse:
    region = _region(request)
    rec = payouts_reconcile(fund_region=region)
    exceptions = (PayoutException.objects.filter(batch__fund_region=region)
                  .select_related("batch", "result").order_by("resolved", "-id")[:200])
    return render(request, "payouts/reconcile.html", {"rec": rec, "region": region,
                                                      "exceptions": exceptions})


@login_required
@require_POST
def resolve(request: AuthedRequest, exception_id: int) -> HttpResponse:
    region = _region(request)
    e = PayoutException.objects.filter(pk=exception_id, batch__fund_region=region).first()
    if e is None:
        raise Http404
    try:
        exception_resolve(exception=e, actor=request.user,
                          resolution=request.POST.get("resolution", ""))
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("payouts:reconcile")


def _day(text: str) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(text.strip())
    except ValueError:
        return None


@login_required
def day_close(request: AuthedRequest) -> HttpResponse:
    region = _region(request)
    today = clock.today()
    waiting = days_unclosed(fund_region=region, through=today)
    chosen = _day(request.GET.get("date", "")) or (waiting[0] if waiting else today)
    closes = paginate(request, PayoutDayClose.objects.filter(fund_region=region)
                      .select_related("closed_by").order_by("-date"), per_page=30, count=False)
    return render(request, "payouts/day_close.html", {
        "region": region, "today": today, "waiting": waiting, "chosen": chosen,
        "closes": closes,
        "exceptions": exceptions_open_on(fund_region=region, date=chosen)[:200]})


@login_required
@require_POST
def day_close_submit(request: AuthedRequest) -> HttpResponse:
    region = _region(request)
    day = _day(request.POST.get("date", ""))
    if day is None:
        messages.error(request, "请填写要日结的日期（YYYY-MM-DD）")
        return redirect("payouts:day_close")
    try:
        c = payout_day_close(fund_region=region, date=day, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(f"{reverse('payouts:day_close')}?date={day:%Y-%m-%d}")
    messages.success(request, f"{day:%Y-%m-%d} 已日结：已发送 {c.sent_count} 笔，已支付 "
                              f"{c.paid_count} 笔，失败 {c.failed_count} 笔，在途 "
                              f"{c.in_flight_count} 笔")
    return redirect("payouts:day_close")
