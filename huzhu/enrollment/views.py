"""Enrollment pages: the unit's roster page (template, upload, check, commit) and the staff
dashboard (targets against enrolled members, countdown)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from huzhu import clock
from huzhu.accounts.models import User
from huzhu.accounts.roles import Perm, Role
from huzhu.actors import AuthedRequest
from huzhu.errors import DomainError
from huzhu.organisations.access import organisation_get_for_user, staff_path, unit_get_for_user
from huzhu.products.models import Period

from .exports import (
    export_approve,
    export_request,
    export_take,
    export_visible,
    exports_for,
    may_approve,
    needs_approval,
    status_label,
)
from .exports import label as export_label
from .masks import Sight
from .models import PiExportKind, Roster, RosterStatus
from .roster_file import MAX_BYTES
from .selectors import (
    countdown_days,
    period_current,
    progress_by_child,
    progress_total,
    unit_summary,
)
from .services import (
    INLINE_BYTES,
    error_workbook,
    roster_check,
    roster_confirm,
    roster_pi_approve,
    roster_upload,
)
from .template import roster_template

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _unit_and_period(request: AuthedRequest, unit_id: int) -> tuple:
    unit, _ = unit_get_for_user(request.user, unit_id)
    period_id = request.GET.get("period") or request.POST.get("period")
    if period_id and str(period_id).isdigit():
        period = Period.objects.filter(pk=int(period_id), fund_region_id=unit.fund_region_id).first()
    else:
        period = period_current(unit.fund_region_id)
    if period is None:
        raise Http404("本统筹区尚未设立保障期")
    return unit, period


def _can_upload(user: User) -> bool:
    return user.can(Perm.MANAGE_MEMBERS) and user.role != Role.MEMBER


def _roster_for(request: AuthedRequest, roster_id: int) -> Roster:
    roster = Roster.objects.select_related("unit", "period").filter(pk=roster_id).first()
    if roster is None:
        raise Http404
    unit_get_for_user(request.user, roster.unit_id)  # 404 outside the user's scope
    return roster


@login_required
def unit_enrollment(request: AuthedRequest, unit_id: int) -> HttpResponse:
    unit, period = _unit_and_period(request, unit_id)
    rosters = Roster.objects.filter(unit=unit, period=period).order_by("-created_at")[:20]
    return render(request, "enrollment/unit.html", {
        "unit": unit, "period": period, "rosters": rosters, "days_left": countdown_days(period),
        "summary": unit_summary(unit.pk, period), "can_upload": _can_upload(request.user),
        "max_mb": MAX_BYTES // 1024 // 1024,
        "can_reveal": request.user.can(Perm.REVEAL_PII),
        "export_limit": settings.BULK_PI_EXPORT_LIMIT,
        "periods": Period.objects.filter(fund_region_id=unit.fund_region_id),
    })


def _sight(request: AuthedRequest) -> Sight:
    """What the downloader sees in full; ``?masked=1`` asks for the masked file (served at
    once, whatever its size: TRUST S-21 holds only full numbers)."""
    sight = Sight.of(request.user)
    if request.GET.get("masked") == "1":
        sight.numbers = False
    return sight


@login_required
def template_download(request: AuthedRequest, unit_id: int) -> HttpResponse:
    unit, period = _unit_and_period(request, unit_id)
    sight = _sight(request)
    data = roster_template(unit, period, sight)
    if needs_approval(sight):
        export = export_request(actor=request.user, kind=PiExportKind.TEMPLATE, unit=unit,
                                period=period, people=sight.rows)
        return redirect("enrollment:pi_export", export_id=export.pk)
    sight.record(actor=request.user, obj=unit, file=f"花名册模板（{period.name}）")
    response = HttpResponse(data, content_type=XLSX)
    response["Content-Disposition"] = f"attachment; filename=roster-{unit.pk}-{period.code}.xlsx"
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def roster_upload_view(request: AuthedRequest, unit_id: int) -> HttpResponse:
    unit, period = _unit_and_period(request, unit_id)
    if not _can_upload(request.user):
        raise PermissionDenied
    upload = request.FILES.get("file")
    if upload is None:
        messages.error(request, "请选择要上传的花名册文件")
        return redirect(f"/enrollment/units/{unit.pk}/?period={period.pk}")
    if (upload.size or 0) > MAX_BYTES:
        messages.error(request, f"文件超过 {MAX_BYTES // 1024 // 1024} MB 上限，未保存")
        return redirect(f"/enrollment/units/{unit.pk}/?period={period.pk}")
    roster, created = roster_upload(unit=unit, period=period, file_name=upload.name or "",
                                    data=upload.read(), actor=request.user)
    if not created:
        messages.info(request, "同一文件此前已上传过，没有任何改变")
    elif roster.size <= INLINE_BYTES:
        roster_check(roster)
    else:
        messages.info(request, "文件较大，正在后台校验；您可以离开本页，稍后回来查看结果")
    return redirect("enrollment:roster_detail", roster_id=roster.pk)


@login_required
def roster_detail(request: AuthedRequest, roster_id: int) -> HttpResponse:
    roster = _roster_for(request, roster_id)
    template = ("enrollment/partials/roster_status.html" if request.htmx
                else "enrollment/roster.html")
    user = request.user
    return render(request, template, {
        "roster": roster, "errors": roster.errors[:500], "can_upload": _can_upload(user),
        "working": roster.status == RosterStatus.VALIDATING,
        "may_approve": (roster.pi_changes and roster.pi_approved_by_id is None
                        and roster.status != RosterStatus.COMMITTED
                        and user.role not in (Role.AGENT, Role.MEMBER)
                        and user.can(Perm.MANAGE_MEMBERS) and roster.created_by_id != user.pk),
    })


@login_required
@require_POST
def roster_pi_approve_view(request: AuthedRequest, roster_id: int) -> HttpResponse:
    roster = _roster_for(request, roster_id)
    try:
        roster_pi_approve(roster=roster, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"已复核同意：本花名册将修改 {roster.pi_changes} 名会员的信息，"
                                  "经办人现在可以提交")
    return redirect("enrollment:roster_detail", roster_id=roster.pk)


@login_required
def roster_errors_download(request: AuthedRequest, roster_id: int) -> HttpResponse:
    roster = _roster_for(request, roster_id)
    if roster.status != RosterStatus.INVALID:
        raise Http404
    sight = _sight(request)
    try:
        data = error_workbook(roster, sight)
    except DomainError as exc:  # the file's retention period is over
        messages.error(request, exc.message)
        return redirect("enrollment:roster_detail", roster_id=roster.pk)
    if needs_approval(sight):
        export = export_request(actor=request.user, kind=PiExportKind.ERRORS, unit=roster.unit,
                                roster=roster, people=sight.rows)
        return redirect("enrollment:pi_export", export_id=export.pk)
    sight.record(actor=request.user, obj=roster, file=f"花名册错误清单（{roster.file_name}）")
    response = HttpResponse(data, content_type=XLSX)
    response["Content-Disposition"] = f"attachment; filename=roster-{roster.pk}-errors.xlsx"
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def roster_commit_view(request: AuthedRequest, roster_id: int) -> HttpResponse:
    roster = _roster_for(request, roster_id)
    if not _can_upload(request.user):
        raise PermissionDenied
    skip = request.POST.get("skip_listed") == "1"
    try:
        counts = roster_confirm(roster=roster, actor=request.user, skip_listed=skip)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"已提交：新增会员 {counts['members_created']} 人，"
                                  f"更新 {counts['members_updated']} 人，"
                                  f"参保记录 {counts['enrollments']} 条")
    return redirect("enrollment:roster_detail", roster_id=roster.pk)


@login_required
def dashboard(request: AuthedRequest) -> HttpResponse:
    """Targets against enrolled members for the user's organisation and its children."""
    if staff_path(request.user) is None or not request.user.can(Perm.VIEW_MEMBERS):
        raise PermissionDenied
    org = request.user.organisation
    if request.GET.get("org", "").isdigit():
        org = organisation_get_for_user(request.user, int(request.GET["org"]))[0]
    assert org is not None  # staff_path: a staff user belongs to an organisation
    period = period_current(org.fund_region_id)
    if period is None:
        return render(request, "enrollment/dashboard.html", {"org": org, "period": None})
    return render(request, "enrollment/dashboard.html", {
        "org": org, "period": period, "days_left": countdown_days(period),
        "total": progress_total(org, period), "rows": progress_by_child(org, period),
    })


@login_required
def member_enrollments(request: AuthedRequest, member_id: int) -> HttpResponse:
    """A member's enrollments and what covers him today; staff (or a new-form worker for
    himself) may enroll him in a product offered this period."""
    from huzhu.members.access import member_get_for_user
    from huzhu.products.services import offers_for

    from .coverage import coverage_on
    from .models import Enrollment, Source
    from .single import enrollment_single

    member, can_write = member_get_for_user(request.user, member_id)
    is_self = request.user.role == Role.MEMBER and request.user.member_id == member.pk
    may_enroll = can_write or (is_self and member.is_new_form_worker)
    period = period_current(member.fund_region_id)
    offers = offers_for(org_path=member.org_path, period=period) if period else {}
    error = ""
    if request.method == "POST":
        if not may_enroll or period is None:
            raise PermissionDenied
        shares = request.POST.get("shares", "1")
        try:
            enrollment_single(
                actor=request.user, member=member, period=period,
                product_code=request.POST.get("product", ""),
                shares=int(shares) if shares.isdigit() else 0,
                source=Source.SELF if is_self else Source.STAFF)
        except DomainError as exc:
            error = exc.message
        else:
            messages.success(request, "已登记参保，缴费确认后生效")
            return redirect("enrollment:member", member_id=member.pk)
    enrollments = (Enrollment.objects.filter(member=member)
                   .select_related("period", "product_version", "unit", "invoice")
                   .order_by("-period__coverage_start", "id"))
    return render(request, "enrollment/member.html", {
        "member": member, "enrollments": enrollments, "period": period,
        "covers": coverage_on(member.pk, clock.today()), "offers": offers.values(),
        "may_enroll": may_enroll and period is not None, "error": error,
    })


# Bulk downloads of full numbers held for a second person (TRUST S-21, exports.py).

@login_required
def pi_exports(request: AuthedRequest) -> HttpResponse:
    mine, waiting = exports_for(request.user)
    now = timezone.now()
    return render(request, "enrollment/pi_exports.html", {
        "mine": [(e, export_label(e), status_label(e, now)) for e in mine],
        "waiting": [(e, export_label(e)) for e in waiting],
    })


@login_required
def pi_export_detail(request: AuthedRequest, export_id: int) -> HttpResponse:
    export = export_visible(request.user, export_id)
    if export is None:
        raise Http404
    status = status_label(export)
    masked = (reverse("enrollment:template", args=[export.unit_id])
              + f"?period={export.period_id}&masked=1"
              if export.kind == PiExportKind.TEMPLATE and export.period_id
              else reverse("enrollment:roster_errors", args=[export.roster_id]) + "?masked=1")
    return render(request, "enrollment/pi_export.html", {
        "export": export, "label": export_label(export), "status": status,
        "mine": export.requested_by_id == request.user.pk,
        "may_approve": may_approve(export, request.user),
        "may_download": export.requested_by_id == request.user.pk
        and status == "已复核，可下载一次",
        "masked_url": masked, "limit": settings.BULK_PI_EXPORT_LIMIT,
        "hours": settings.BULK_PI_EXPORT_HOURS,
    })


@login_required
@require_POST
def pi_export_approve(request: AuthedRequest, export_id: int) -> HttpResponse:
    export = export_visible(request.user, export_id)
    if export is None:
        raise Http404
    try:
        export_approve(export=export, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"已复核同意：{export.requested_by} 可在 "
                                  f"{settings.BULK_PI_EXPORT_HOURS} 小时内下载一次")
    return redirect("enrollment:pi_export", export_id=export.pk)


@login_required
def pi_export_download(request: AuthedRequest, export_id: int) -> HttpResponse:
    export = export_visible(request.user, export_id)
    if export is None or export.requested_by_id != request.user.pk:
        raise Http404
    unit_get_for_user(request.user, export.unit_id)  # still in the requester's scope
    try:
        export_take(export=export, actor=request.user)
        sight = Sight.of(request.user)
        if export.kind == PiExportKind.TEMPLATE:
            assert export.period is not None
            data = roster_template(export.unit, export.period, sight)
            name = f"roster-{export.unit_id}-{export.period.code}.xlsx"
        else:
            assert export.roster is not None
            data = error_workbook(export.roster, sight)
            name = f"roster-{export.roster_id}-errors.xlsx"
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("enrollment:pi_export", export_id=export.pk)
    sight.record(actor=request.user, obj=export.roster or export.unit, file=export_label(export),
                 export=export.pk, approved_by=export.approved_by_id)
    response = HttpResponse(data, content_type=XLSX)
    response["Content-Disposition"] = f"attachment; filename={name}"
    response["Cache-Control"] = "no-store"
    return response
