"""款项明细: every payout of the finance officer's fund region — benefit, top-up (补发) and
consolation (慰问金) — filtered by status, kind, the date it became payable and paid, the
member's name and the batch it went in, and the same list as xlsx (names masked as on the
page for roles that see masks, card numbers never; the download is an event and carries the
watermark)."""

from __future__ import annotations

import datetime
import io
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.db.models import OuterRef, QuerySet, Subquery, Sum
from django.http import Http404, HttpResponse
from django.shortcuts import render

from huzhu import clock
from huzhu.actors import AuthedRequest
from huzhu.audit.models import Action
from huzhu.audit.services import event_record
from huzhu.web.paging import paginate

from .access import region_of
from .models import Payout, PayoutKind, PayoutLine, PayoutStatus

KEYS = ("status", "kind", "from", "to", "paid_from", "paid_to", "q", "batch")
EXPORT_LIMIT = 100_000


@dataclass
class PayoutFilters:
    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)

    def query(self) -> str:
        return urlencode({k: v for k, v in self.values.items() if v})


def _day(text: str) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        return None


def payout_search(region: Any, params: Any) -> tuple[QuerySet[Payout], PayoutFilters]:
    """The region's payouts narrowed by ``params``; a filter that makes no sense is named in
    ``errors`` and left out (never widening the region)."""
    f = PayoutFilters({k: str(params.get(k, "")).strip()[:60] for k in KEYS})
    v = f.values
    last_batch = Subquery(PayoutLine.objects.filter(payout=OuterRef("pk")).order_by("-id")
                          .values("batch__number")[:1])
    qs = Payout.objects.filter(fund_region=region).annotate(batch_number=last_batch)
    if v["status"] in PayoutStatus.values:
        qs = qs.filter(status=v["status"])
    elif v["status"]:
        f.errors["status"] = "未知的支付状态"
    if v["kind"] in PayoutKind.values:
        qs = qs.filter(kind=v["kind"])
    elif v["kind"]:
        f.errors["kind"] = "未知的款项类型"
    for key, field_name, lookup in (("from", "created_at", "gte"), ("to", "created_at", "lt"),
                                    ("paid_from", "paid_at", "gte"), ("paid_to", "paid_at", "lt")):
        if not v[key]:
            continue
        day = _day(v[key])
        if day is None:
            f.errors[key] = "日期格式应为 YYYY-MM-DD"
            continue
        if lookup == "lt":
            day += datetime.timedelta(days=1)  # through the whole Beijing day
        qs = qs.filter(**{f"{field_name}__{lookup}": clock.day_start(day)})
    if v["q"]:
        qs = qs.filter(member__name__contains=v["q"])
    if v["batch"]:
        qs = qs.filter(lines__batch__number=v["batch"]).distinct()
    return qs, f


def _region(request: AuthedRequest) -> Any:
    region = region_of(request.user)
    if region is None:
        raise Http404
    return region


@login_required
def payout_list(request: AuthedRequest) -> HttpResponse:
    region = _region(request)
    qs, filters = payout_search(region, request.GET)
    total = qs.aggregate(fen=Sum("amount_fen"))["fen"] or 0
    page = paginate(request, qs.select_related("member").order_by("-id"), per_page=50,
                    count=False)
    return render(request, "payouts/list.html", {
        "region": region, "page": page, "f": filters.values, "errors": filters.errors,
        "query": filters.query(), "total": total, "statuses": PayoutStatus.choices,
        "kinds": PayoutKind.choices})


@login_required
def payout_export(request: AuthedRequest) -> HttpResponse:
    from huzhu.members.selectors import full_names_for
    from huzhu.pii.masking import mask_name
    from huzhu.sheets import Sheet, watermark, workbook

    region = _region(request)
    qs, filters = payout_search(region, request.GET)
    qs = qs.select_related("member").order_by("-id")
    full = full_names_for(request.user)
    buffer = io.BytesIO()
    book = workbook(buffer)
    sheet = Sheet(book, "款项明细")
    sheet.row(0, 0, ["款项编号", "类型", "会员", "理赔编号", "金额（元）", "支付状态", "批次号",
                     "生成时间（北京时间）", "到账时间（北京时间）"], book.add_format({"bold": True}))
    money = book.add_format({"num_format": "#,##0.00"})
    rows = 0
    for rows, p in enumerate(qs[:EXPORT_LIMIT].iterator(chunk_size=2000), start=1):
        sheet.row(rows, 0, [p.pk, p.get_kind_display(),
                            p.member.name if full else mask_name(p.member.name),
                            p.claim_id or ""])
        sheet.cell(rows, 4, Decimal(p.amount_fen) / 100, money)
        sheet.row(rows, 5, [p.get_status_display(), getattr(p, "batch_number", None) or "",
                            clock.local(p.created_at).strftime("%Y-%m-%d %H:%M"),
                            clock.local(p.paid_at).strftime("%Y-%m-%d %H:%M") if p.paid_at
                            else ""])
    sheet.cell(rows + 2, 0, watermark(request.user))
    book.close()
    event_record(action=Action.EXPORT, actor=request.user, object_type="payouts.payout",
                 org_path=region.path,
                 after={"rows": rows, "filters": {k: v for k, v in filters.values.items()
                                                  if v and k != "q"}})
    response = HttpResponse(
        buffer.getvalue(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = "attachment; filename=payouts.xlsx"
    return response
