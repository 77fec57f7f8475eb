"""The cockpit's pages: one place of the union tree and one year, and each chart as xlsx."""

from __future__ import annotations

import io
from decimal import Decimal

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render

from huzhu import clock
from huzhu.actors import AuthedRequest
from huzhu.audit.models import Action
from huzhu.audit.services import event_record
from huzhu.sheets import Sheet, watermark, workbook

from .cockpit import Cockpit, Table, chart_data, cockpit_build, cockpit_org_for

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _year(request: AuthedRequest) -> int:
    raw = request.GET.get("year", "")
    this = clock.today().year
    if raw.isdigit() and 2000 <= int(raw) <= this + 1:
        return int(raw)
    return this


@login_required
def cockpit_home(request: AuthedRequest) -> HttpResponse:
    org = cockpit_org_for(request.user, None)
    response = redirect("insights:cockpit", org_id=org.pk)
    if "year" in request.GET:
        response["Location"] += f"?year={_year(request)}"
    return response


@login_required
def cockpit_page(request: AuthedRequest, org_id: int) -> HttpResponse:
    org = cockpit_org_for(request.user, org_id)
    year = _year(request)
    cp = cockpit_build(org, year)
    this = clock.today().year
    return render(request, "insights/cockpit.html", {
        "cp": cp, "charts": chart_data(cp), "years": list(range(this, this - 5, -1)),
        "refreshed": clock.local(cp.refreshed_at) if cp.refreshed_at else None})


def _xlsx(cp: Cockpit, table: Table, user: object) -> bytes:
    out = io.BytesIO()
    book = workbook(out)
    sheet = Sheet(book, "数据")
    bold = book.add_format({"bold": True})
    money = book.add_format({"num_format": "#,##0.00"})
    sheet.ws.set_column(0, 0, 28)
    sheet.ws.set_column(1, len(table.headers), 18)
    sheet.cell(0, 0, f"{cp.org.name} · {table.title}", bold)
    stamp = (clock.local(cp.refreshed_at).strftime("%Y-%m-%d %H:%M") if cp.refreshed_at
             else "尚未统计")
    sheet.cell(1, 0, f"统计截至：{stamp}（北京时间）；金额单位：元")
    for col, h in enumerate(table.headers):
        sheet.cell(3, col, h, bold)
    row = 4
    for r in table.rows:
        for col, v in enumerate(r):
            if col in table.money_cols and isinstance(v, int):
                sheet.cell(row, col, Decimal(v) / 100, money)
            else:
                sheet.cell(row, col, v)
        row += 1
    if table.note:
        sheet.cell(row + 1, 0, table.note)
        row += 1
    sheet.cell(row + 2, 0, watermark(user))
    book.close()
    return out.getvalue()


@login_required
def cockpit_table(request: AuthedRequest, org_id: int, key: str) -> HttpResponse:
    org = cockpit_org_for(request.user, org_id)
    year = _year(request)
    cp = cockpit_build(org, year)
    table = cp.tables.get(key)
    if table is None:
        raise Http404("没有这张图表")
    event_record(action=Action.EXPORT, actor=request.user, object_type="insights.cockpit",
                 object_id=str(org.pk), org_path=org.path,
                 after={"table": key, "year": year, "rows": len(table.rows)})
    response = HttpResponse(_xlsx(cp, table, request.user), content_type=XLSX)
    response["Content-Disposition"] = f"attachment; filename=cockpit-{org.pk}-{year}-{key}.xlsx"
    return response
