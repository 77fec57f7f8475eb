"""Bulk downloads of full personal numbers wait for a second person (TRUST S-21).

A roster template or error workbook that would carry the full ID, phone or card numbers of more
people than ``HUZHU_BULK_PI_EXPORT_LIMIT`` is not served: it becomes a :class:`PiExport`
request, shown to its requester as 等待复核. Another person with ``Perm.REVEAL_PII`` whose scope
covers the unit approves it (the requester cannot); the requester may then download it once,
within ``HUZHU_BULK_PI_EXPORT_HOURS`` of the approval — the download is the audited reveal
(``masks.Sight.record``) naming the request. A masked download, and a small one, is served at
once as before. The shape is a roster's bulk change (``roster_pi_approve``): a count, who
approved and when, an event for each step.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from huzhu.accounts.roles import Perm, Role
from huzhu.audit.models import Action
from huzhu.audit.services import event_record
from huzhu.errors import DomainError, NotAllowed
from huzhu.organisations.access import staff_path, units_visible_to

from .masks import Sight
from .models import PiExport, PiExportKind, Roster


def needs_approval(sight: Sight) -> bool:
    """Whether a file just made for ``sight`` holds full numbers of too many people."""
    return (sight.numbers and any(sight.shown.values())
            and sight.rows > settings.BULK_PI_EXPORT_LIMIT)


def _label(export: PiExport) -> str:
    if export.kind == PiExportKind.TEMPLATE:
        return f"花名册模板（{export.period.name if export.period else ''}）"
    return f"花名册错误清单（{export.roster.file_name if export.roster else ''}）"


def label(export: PiExport) -> str:
    return _label(export)


def _live(qs: QuerySet[PiExport], now: datetime.datetime) -> QuerySet[PiExport]:
    """Requests not yet used up: pending, or approved and still within the hours."""
    hours = datetime.timedelta(hours=settings.BULK_PI_EXPORT_HOURS)
    return qs.filter(downloaded_at__isnull=True).exclude(approved_at__lt=now - hours)


def export_request(*, actor: Any, kind: str, unit: Any, people: int, period: Any = None,
                   roster: Roster | None = None) -> PiExport:
    """The requester's pending (or approved, unused) request for this file, or a new one."""
    now = timezone.now()
    with transaction.atomic():
        found = _live(PiExport.objects.select_for_update().filter(
            kind=kind, unit=unit, period=period, roster=roster, requested_by=actor), now).first()
        if found is not None:
            return found
        export = PiExport.objects.create(kind=kind, unit=unit, period=period, roster=roster,
                                         org_path=unit.org_path, people=people,
                                         requested_by=actor)
        event_record(action=Action.PI_EXPORT_REQUESTED, actor=actor, obj=export,
                     org_path=unit.org_path,
                     after={"file": _label(export), "people": people,
                            "limit": settings.BULK_PI_EXPORT_LIMIT})
    return export


def may_approve(export: PiExport, user: Any) -> bool:
    return (export.approved_by_id is None and export.downloaded_at is None
            and user.pk != export.requested_by_id and _approver(user)
            and units_visible_to(user).filter(pk=export.unit_id).exists())


def _approver(user: Any) -> bool:
    return bool(user.is_authenticated and user.can(Perm.REVEAL_PII)
                and user.role not in (Role.AGENT, Role.MEMBER))


def export_approve(*, export: PiExport, actor: Any) -> PiExport:
    """A second person's approval: the same reveal right, over the unit, not the requester."""
    if not _approver(actor) or not units_visible_to(actor).filter(pk=export.unit_id).exists():
        raise NotAllowed("只有对该单位有查看完整个人信息权限的另一位工作人员可以复核")
    if export.requested_by_id == actor.pk:
        raise NotAllowed("申请人不能复核自己的导出申请（须由另一人复核）")
    with transaction.atomic():
        locked = PiExport.objects.select_for_update().get(pk=export.pk)
        if locked.downloaded_at is not None:
            raise DomainError("该文件已下载，申请已结束")
        if locked.approved_by_id is None:
            now = timezone.now()
            PiExport.objects.filter(pk=locked.pk).update(approved_by=actor, approved_at=now)
            event_record(action=Action.PI_EXPORT_APPROVED, actor=actor, obj=locked,
                         org_path=locked.org_path,
                         after={"file": _label(locked), "people": locked.people,
                                "requested_by": locked.requested_by_id})
    export.refresh_from_db()
    return export


def export_take(*, export: PiExport, actor: Any) -> PiExport:
    """The requester's one download of an approved request: marked used before the file is
    made, so a second request for it (a double click, a copied link) gets nothing."""
    if export.requested_by_id != actor.pk:
        raise NotAllowed("只有申请人本人可以下载")
    now = timezone.now()
    if export.approved_at is None:
        raise DomainError("尚未复核同意，请等待复核")
    if export.approved_at < now - datetime.timedelta(hours=settings.BULK_PI_EXPORT_HOURS):
        raise DomainError(f"复核同意已超过 {settings.BULK_PI_EXPORT_HOURS} 小时，请重新申请")
    if not PiExport.objects.filter(pk=export.pk, downloaded_at__isnull=True).update(
            downloaded_at=now):
        raise DomainError("该文件已下载过一次；如需再次下载请重新申请")
    export.downloaded_at = now
    return export


def status_label(export: PiExport, now: datetime.datetime | None = None) -> str:
    now = now or timezone.now()
    if export.downloaded_at is not None:
        return "已下载"
    if export.approved_at is None:
        return "等待复核"
    if export.approved_at < now - datetime.timedelta(hours=settings.BULK_PI_EXPORT_HOURS):
        return "已过期"
    return "已复核，可下载一次"


def exports_for(user: Any) -> tuple[list[PiExport], list[PiExport]]:
    """(the user's own requests, recent first; the requests waiting for them to approve, in
    their scope only)."""
    mine = list(PiExport.objects.filter(requested_by=user)
                .select_related("unit", "period", "roster", "approved_by")[:50])
    waiting: list[PiExport] = []
    prefix = staff_path(user) if _approver(user) else None
    if prefix is not None:
        waiting = list(PiExport.objects.filter(org_path__startswith=prefix,
                                               approved_by__isnull=True,
                                               downloaded_at__isnull=True)
                       .exclude(requested_by=user)
                       .select_related("unit", "period", "roster", "requested_by")[:200])
    return mine, waiting


def export_visible(user: Any, pk: int) -> PiExport | None:
    """The request, to its requester or to someone who may approve it; else None (404)."""
    export = (PiExport.objects.select_related("unit", "period", "roster", "requested_by",
                                              "approved_by").filter(pk=pk).first())
    if export is None:
        return None
    if export.requested_by_id == user.pk:
        return export
    if _approver(user) and units_visible_to(user).filter(pk=export.unit_id).exists():
        return export
    return None
