"""Enrollment API: roster upload and status, and a member's enrollments and coverage."""

from __future__ import annotations

import datetime
from typing import Any

from ninja import Field, File, Form, Router, Schema
from ninja.errors import HttpError
from ninja.files import UploadedFile
from ninja.responses import Status

from huzhu import clock
from huzhu.accounts.api import Day, error_responses
from huzhu.accounts.roles import Perm, Role
from huzhu.actors import AuthedRequest
from huzhu.members.access import member_get_for_user
from huzhu.organisations.access import unit_get_for_user
from huzhu.products.models import Period

from .coverage import coverage_on
from .models import Enrollment, Roster
from .roster_file import MAX_BYTES
from .services import INLINE_BYTES, roster_check, roster_upload

router = Router(tags=["参保"])  # authentication: the API default (token or session)


class RosterError(Schema):
    row: int
    field: str
    message: str


class RosterOut(Schema):
    id: int
    unit_id: int
    period_id: int
    file_name: str
    status: str
    progress: int
    rows_total: int
    rows_valid: int
    error_count: int
    errors: list[RosterError]
    warnings: list[RosterError] = Field(
        default_factory=list, description="写入但须留意的行：开户行不在银行名录中（发放前由工作人员选定）")
    created: bool = False


def _roster_out(roster: Roster, created: bool = False) -> dict[str, Any]:
    return {**{f: getattr(roster, f) for f in (
        "id", "unit_id", "period_id", "file_name", "status", "progress", "rows_total",
        "rows_valid", "error_count")}, "errors": roster.errors[:1000],
        "warnings": roster.warnings[:1000], "created": created}


@router.post("/units/{unit_id}/rosters",
             response={200: RosterOut, 201: RosterOut, **error_responses(400, 404, 413)},
             summary="上传花名册")
def roster_upload_api(request: AuthedRequest, unit_id: int, period_id: Form[int],
                      file: File[UploadedFile]) -> Status:
    """Upload a roster file (the platform's xlsx template or UTF-8 CSV) for a unit and period.

    The file is validated as a whole; small files at once, large ones in the background
    (poll the status). The same file again answers 200 with the existing roster.
    """
    unit, _ = unit_get_for_user(request.user, unit_id)
    if not request.user.can(Perm.MANAGE_MEMBERS) or request.user.role == Role.MEMBER:
        raise HttpError(403, "无权上传花名册")
    period = Period.objects.filter(pk=period_id, fund_region_id=unit.fund_region_id).first()
    if period is None:
        raise HttpError(404, "保障期不存在")
    if (file.size or 0) > MAX_BYTES:
        raise HttpError(413, f"文件超过 {MAX_BYTES // 1024 // 1024} MB 上限")
    roster, created = roster_upload(unit=unit, period=period, file_name=file.name or "",
                                    data=file.read(), actor=request.user)
    if created and roster.size <= INLINE_BYTES:
        roster_check(roster)
    roster.refresh_from_db()
    return Status(201 if created else 200, _roster_out(roster, created))


@router.get("/rosters/{roster_id}", response={200: RosterOut, **error_responses(404)},
            summary="花名册校验进度与结果")
def roster_status_api(request: AuthedRequest, roster_id: int) -> dict[str, Any]:
    roster = Roster.objects.filter(pk=roster_id).first()
    if roster is None:
        raise HttpError(404, "花名册不存在")
    unit_get_for_user(request.user, roster.unit_id)
    return _roster_out(roster)


class EnrollmentOut(Schema):
    id: int
    period: str
    product_code: str
    product_name: str
    status: str
    shares: int
    premium_fen: int
    gifted: bool
    coverage_start: datetime.date | None
    waiting_until: datetime.date | None
    unit_id: int | None


class CoverOut(Schema):
    product_code: str
    since: datetime.date
    until: datetime.date
    continuous_since: datetime.date
    waiting_until: datetime.date | None
    shares: int


class MemberEnrollmentsOut(Schema):
    member_id: int
    on: datetime.date
    covered_by: list[CoverOut]
    enrollments: list[EnrollmentOut]


@router.get("/members/{member_id}/enrollments",
            response={200: MemberEnrollmentsOut, **error_responses(404)},
            summary="会员的参保与保障")
def member_enrollments_api(request: AuthedRequest, member_id: int,
                           on: Day | None = None) -> dict[str, Any]:
    """A member's enrollments and what covers him on a date (default today)."""
    member, _ = member_get_for_user(request.user, member_id)
    day = on or clock.today()
    rows = (Enrollment.objects.filter(member=member)
            .select_related("period", "product_version").order_by("-period__coverage_start"))
    return {
        "member_id": member.pk, "on": day,
        "covered_by": [c.__dict__ for c in coverage_on(member.pk, day)],
        "enrollments": [{
            "id": e.pk, "period": e.period.code, "product_code": e.product_version.code,
            "product_name": e.product_version.name, "status": e.status, "shares": e.shares,
            "premium_fen": e.premium_fen, "gifted": e.gifted, "coverage_start": e.coverage_start,
            "waiting_until": e.waiting_until, "unit_id": e.unit_id} for e in rows],
    }
