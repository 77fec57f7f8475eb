"""Report pages: the annual fund report, the units' bulletins, the disclosures (公示).

Each staff view checks scope through ``reports_access`` (outside → 404), reads through
``reports``, then renders. Downloads of a unit's bulletin are recorded as ``data.exported``.
The public pages (``public_*``) need no login; they read published disclosures' snapshots only,
are rate-limited per client address and cached.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.views.decorators.http import require_POST

from huzhu import clock
from huzhu.actors import AuthedRequest
from huzhu.audit.models import Action
from huzhu.audit.services import event_record
from huzhu.errors import DomainError
from huzhu.organisations.access import units_visible_to
from huzhu.web.middleware import client_address
from huzhu.web.paging import paginate

from .models_reports import Disclosure
from .reports import annual_report, unit_bulletin
from .reports_access import (
    bulletin_unit_get_for_user,
    disclosure_get_for_user,
    regions_for,
    report_org_get_for_user,
    report_orgs_for,
)
from .reports_disclosure import (
    PUBLIC_CACHE_SECONDS,
    disclosure_propose,
    disclosure_publish,
    disclosure_withdraw,
    may_publish,
    public_cache_key,
    public_rate_exceeded,
    published,
)
from .reports_documents import bulletin_xlsx, render_pdf

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _date(raw: str) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def _period(request: HttpRequest) -> tuple[datetime.date, datetime.date]:
    """``?year=2026`` (the calendar year), or ``?start=&end=``; by default this year so far."""
    today = clock.today()
    raw_year = request.GET.get("year", "")
    if raw_year:
        if raw_year.isdigit() and 2000 <= int(raw_year) <= today.year:
            year = int(raw_year)
            return datetime.date(year, 1, 1), min(datetime.date(year, 12, 31), today)
        messages.error(request, f"年度应为 2000 至 {today.year} 之间的年份：{raw_year}，已改用今年")
        return today.replace(month=1, day=1), today
    start = _date(request.GET.get("start", ""))
    end = _date(request.GET.get("end", ""))
    for name, raw, value in (("起始日期", request.GET.get("start", ""), start),
                             ("截止日期", request.GET.get("end", ""), end)):
        if raw and value is None:
            messages.error(request, f"{name}格式应为 YYYY-MM-DD：{raw}，已改用默认日期")
    start = start or today.replace(month=1, day=1)
    end = end or today
    if start > end:
        messages.error(request, "起始日期晚于截止日期，已交换")
        start, end = end, start
    return start, end


def _query(start: datetime.date, end: datetime.date) -> str:
    return f"start={start.isoformat()}&end={end.isoformat()}"


def _download(content: bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f"attachment; filename={filename}"
    return response


# --------------------------------------------------------------------------- the annual report


@login_required
def report_index(request: AuthedRequest) -> HttpResponse:
    user = request.user
    orgs = report_orgs_for(user)
    q = request.GET.get("q", "").strip()
    units = units_visible_to(user).select_related("organisation").order_by("org_path", "name")
    if q:
        units = units.filter(name__contains=q)
    today = clock.today()
    return render(request, "insights/report_index.html", {
        "orgs": orgs, "page": paginate(request, units, per_page=20), "q": q,
        "years": list(range(today.year, today.year - 6, -1)),
        "own": user.organisation_id,
    })


def _annual(request: AuthedRequest, org_id: int) -> dict[str, Any]:
    org = report_org_get_for_user(request.user, org_id)
    start, end = _period(request)
    report = annual_report(org=org, start=start, end=end)
    return {"r": report, "org": org, "query": _query(start, end),
            "made_at": clock.local(clock.now())}


@login_required
def annual(request: AuthedRequest, org_id: int) -> HttpResponse:
    return render(request, "insights/report_annual.html", _annual(request, org_id))


@login_required
def annual_pdf(request: AuthedRequest, org_id: int) -> HttpResponse:
    context = _annual(request, org_id)
    r = context["r"]
    context["made_by"] = str(request.user)
    event_record(action=Action.EXPORT, actor=request.user, object_type="insights.annual_report",
                 object_id=str(r.org.pk), org_path=r.org.path,
                 after={"start": r.start.isoformat(), "end": r.end.isoformat(),
                        "income_fen": r.income_fen, "benefits_fen": r.benefits_fen,
                        "format": "PDF"})
    return _download(render_pdf("insights/report_annual_pdf.html", context), "application/pdf",
                     f"annual-report-{r.org.pk}-{r.start}-{r.end}.pdf")


# --------------------------------------------------------------------------- unit bulletins


@login_required
def bulletin(request: AuthedRequest, unit_id: int) -> HttpResponse:
    unit = bulletin_unit_get_for_user(request.user, unit_id)
    start, end = _period(request)
    return render(request, "insights/report_bulletin.html", {
        "b": unit_bulletin(unit=unit, start=start, end=end), "query": _query(start, end),
        "years": list(range(clock.today().year, clock.today().year - 4, -1))})


def _bulletin_export(request: AuthedRequest, unit_id: int, fmt: str) -> Any:
    unit = bulletin_unit_get_for_user(request.user, unit_id)
    start, end = _period(request)
    b = unit_bulletin(unit=unit, start=start, end=end)
    event_record(action=Action.EXPORT, actor=request.user, object_type="insights.unit_bulletin",
                 object_id=str(unit.pk), org_path=unit.org_path,
                 after={"start": start.isoformat(), "end": end.isoformat(), "format": fmt,
                        "members": len(b.members), "claims": len(b.cases),
                        "benefits_fen": b.benefits_fen})
    return b


@login_required
def bulletin_pdf(request: AuthedRequest, unit_id: int) -> HttpResponse:
    b = _bulletin_export(request, unit_id, "PDF")
    pdf = render_pdf("insights/report_bulletin_pdf.html", {
        "b": b, "made_by": str(request.user), "made_at": clock.local(clock.now())})
    return _download(pdf, "application/pdf", f"bulletin-{b.unit.pk}-{b.start}-{b.end}.pdf")


@login_required
def bulletin_download_xlsx(request: AuthedRequest, unit_id: int) -> HttpResponse:
    b = _bulletin_export(request, unit_id, "Excel")
    return _download(bulletin_xlsx(b, request.user), XLSX,
                     f"bulletin-{b.unit.pk}-{b.start}-{b.end}.xlsx")


# --------------------------------------------------------------------------- disclosures (staff)


@login_required
def disclosure_list(request: AuthedRequest) -> HttpResponse:
    user = request.user
    regions = list(regions_for(user))
    rows = Disclosure.objects.filter(fund_region__in=regions).select_related(
        "fund_region", "proposed_by", "published_by", "withdrawn_by")
    today = clock.today()
    last_year = today.year - 1
    return render(request, "insights/report_disclosures.html", {
        "page": paginate(request, rows, per_page=20),
        "publishable": [r for r in regions if may_publish(user, r)],
        "default_start": datetime.date(last_year, 1, 1),
        "default_end": datetime.date(last_year, 12, 31),
    })


@login_required
@require_POST
def disclosure_propose_view(request: AuthedRequest) -> HttpResponse:
    user = request.user
    regions = {r.pk: r for r in regions_for(user)}
    raw = request.POST.get("region", "")
    region = regions.get(int(raw)) if raw.isdigit() else None
    if region is None:
        raise Http404("没有这个统筹区")
    try:
        d = disclosure_propose(region=region, start=_date(request.POST.get("start", "")),
                               end=_date(request.POST.get("end", "")),
                               title=request.POST.get("title", ""), actor=user)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("insights:disclosure_list")
    messages.success(request, f"已提请发布“{d.title}”，待另一位财务人员复核")
    return redirect("insights:disclosure_detail", d.pk)


@login_required
def disclosure_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    d = disclosure_get_for_user(request.user, pk)
    return render(request, "insights/report_disclosure.html", {
        "d": d, "s": d.snapshot, "may_publish": may_publish(request.user, d.fund_region),
        "own_proposal": d.proposed_by_id == request.user.pk, **_case_page(request, d.snapshot)})


@login_required
@require_POST
def disclosure_publish_view(request: AuthedRequest, pk: int) -> HttpResponse:
    d = disclosure_get_for_user(request.user, pk)
    try:
        disclosure_publish(disclosure=d, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"“{d.title}”已发布，公众无需登录即可查看")
    return redirect("insights:disclosure_detail", d.pk)


@login_required
@require_POST
def disclosure_withdraw_view(request: AuthedRequest, pk: int) -> HttpResponse:
    d = disclosure_get_for_user(request.user, pk)
    try:
        disclosure_withdraw(disclosure=d, actor=request.user,
                            reason=request.POST.get("reason", ""))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"“{d.title}”已撤回")
    return redirect("insights:disclosure_detail", d.pk)


# --------------------------------------------------------------------------- public (no login)


def _throttled(request: HttpRequest) -> HttpResponse | None:
    if public_rate_exceeded(client_address(request)):
        response = HttpResponse("访问过于频繁，请一分钟后再试。", status=429,
                                content_type="text/plain; charset=utf-8")
        response["Retry-After"] = "60"
        return response
    return None


def _cached(key: str, make: Any) -> Any:
    from django.core.cache import cache

    value = cache.get(key)
    if value is None:
        value = make()
        cache.set(key, value, PUBLIC_CACHE_SECONDS)
    return value


def _published_or_404(pk: int) -> Disclosure:
    d = published().filter(pk=pk).first()
    if d is None:
        raise Http404("没有这份公示")
    return d


def public_list(request: HttpRequest) -> HttpResponse:
    if (refused := _throttled(request)) is not None:
        return refused

    def make() -> str:
        return render_to_string("insights/public_list.html",
                                {"rows": list(published()[:200])})

    return HttpResponse(_cached(public_cache_key("list"), make))


CASES_PER_PAGE = 200


def _case_page(request: HttpRequest, snapshot: dict[str, Any]) -> dict[str, Any]:
    """One page of a disclosure's cases (a province pays ~150,000 a year)."""
    cases = snapshot.get("cases", [])
    pages = max(1, -(-len(cases) // CASES_PER_PAGE))
    raw = request.GET.get("page", "1")
    number = min(int(raw), pages) if raw.isdigit() and int(raw) >= 1 else 1
    first = (number - 1) * CASES_PER_PAGE
    return {"cases": cases[first:first + CASES_PER_PAGE], "case_page": number,
            "case_pages": pages, "case_first": first, "case_count": len(cases),
            "prev_page": number - 1 if number > 1 else None,
            "next_page": number + 1 if number < pages else None}


def public_detail(request: HttpRequest, pk: int) -> HttpResponse:
    if (refused := _throttled(request)) is not None:
        return refused
    d = _published_or_404(pk)
    paging = _case_page(request, d.snapshot)

    def make() -> str:
        return render_to_string("insights/public_detail.html",
                                {"d": d, "s": d.snapshot, **paging})

    return HttpResponse(_cached(public_cache_key("page", pk, paging["case_page"]), make))


def public_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    if (refused := _throttled(request)) is not None:
        return refused
    d = _published_or_404(pk)

    def make() -> bytes:
        cases = d.snapshot.get("cases", [])
        return render_pdf("insights/public_pdf.html", {"d": d, "s": d.snapshot, "cases": cases,
                                                       "case_count": len(cases)})

    pdf = _cached(public_cache_key("pdf", pk), make)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f"inline; filename=disclosure-{pk}.pdf"
    return response

