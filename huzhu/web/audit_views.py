"""The audit pages: the event log, the login log, one event, and the export of a filtered list.

Every page reads through :func:`huzhu.audit.access.events_visible_to`, so a region's audit
administrator sees their region's events only; an event outside the scope answers 404.
"""

from __future__ import annotations

import datetime
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import HttpResponse
from django.shortcuts import render

from huzhu import clock
from huzhu.accounts.roles import Perm
from huzhu.actors import AuthedRequest
from huzhu.audit.access import LOGIN_ACTIONS, event_get_for_user, events_visible_to
from huzhu.audit.display import (
    before_after_rows,
    object_type_label,
    object_types,
    outcome_label,
)
from huzhu.audit.models import Action, Event
from huzhu.audit.services import event_record
from huzhu.organisations.access import staff_path

from .paging import paginate

EXPORT_LIMIT = 50_000
LOG_KINDS = {
    "events": ("操作日志", Perm.VIEW_AUDIT, None),
    "logins": ("登录日志", Perm.VIEW_LOGIN_LOG, LOGIN_ACTIONS),
}


@dataclass
class EventFilters:
    actor: str = ""
    date_from: datetime.date | None = None
    date_to: datetime.date | None = None
    action: str = ""
    object_type: str = ""
    object_id: str = ""
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, str]:
        """The filters that are set, as text (for the export's event and the export link)."""
        values = {
            "actor": self.actor,
            "date_from": self.date_from.isoformat() if self.date_from else "",
            "date_to": self.date_to.isoformat() if self.date_to else "",
            "action": self.action, "object_type": self.object_type, "object_id": self.object_id,
        }
        return {k: v for k, v in values.items() if v}


def _date(text: str, label: str, errors: list[str]) -> datetime.date | None:
    if not text:
        return None
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        errors.append(f"{label}不是有效日期（格式：2024-01-31）")
        return None


def parse_filters(params: Mapping[str, str], allowed_actions: tuple[str, ...] | None
                  ) -> EventFilters:
    errors: list[str] = []
    action = params.get("action", "").strip()
    allowed = allowed_actions if allowed_actions is not None else tuple(Action.values)
    if action and action not in allowed:
        errors.append("未知的操作类型")
        action = ""
    return EventFilters(
        actor=params.get("actor", "").strip()[:150],
        date_from=_date(params.get("date_from", "").strip(), "起始日期", errors),
        date_to=_date(params.get("date_to", "").strip(), "截止日期", errors),
        action=action,
        object_type=params.get("object_type", "").strip()[:60],
        object_id=params.get("object_id", "").strip()[:64],
        errors=errors,
    )


def apply_filters(qs: QuerySet[Event], f: EventFilters) -> QuerySet[Event]:
    from huzhu.accounts.models import User

    if f.actor:
        named = User.objects.filter(Q(username__iexact=f.actor)
                                    | Q(display_name__icontains=f.actor)).values("pk")
        qs = qs.filter(Q(actor_label__icontains=f.actor) | Q(actor_id__in=named))
    if f.date_from:  # Beijing dates: from 00:00 of the first day to 00:00 after the last
        qs = qs.filter(created_at__gte=clock.day_start(f.date_from))
    if f.date_to:
        qs = qs.filter(created_at__lt=clock.day_start(f.date_to + datetime.timedelta(days=1)))
    if f.action:
        qs = qs.filter(action=f.action)
    if f.object_type:
        qs = qs.filter(object_type=f.object_type)
    if f.object_id:
        qs = qs.filter(object_id=f.object_id)
    return qs


def _filtered(request: AuthedRequest, kind: str
              ) -> tuple[QuerySet[Event], EventFilters, str, tuple[str, ...] | None]:
    title, perm, actions = LOG_KINDS[kind]
    if not request.user.can(perm):
        raise PermissionDenied
    qs = events_visible_to(request.user, logins_only=actions is not None)
    f = parse_filters(request.GET, actions)
    return apply_filters(qs, f), f, title, actions


def _events_page(request: AuthedRequest, kind: str) -> HttpResponse:
    qs, f, title, actions = _filtered(request, kind)
    page = paginate(request, qs.order_by("-seq"), per_page=50, count=False)
    for e in page.rows:
        setattr(e, "object_label", object_type_label(e.object_type))  # noqa: B010
        setattr(e, "outcome_label", outcome_label(e.outcome))  # noqa: B010
    choices = [(v, str(label)) for v, label in Action.choices
               if actions is None or v in actions]
    return render(request, "web/events.html", {
        "page": page, "title": title, "kind": kind, "actions": choices, "f": f,
        "object_types": object_types() if actions is None else [],
        "export_query": urlencode(f.as_dict()),
    })


@login_required
def event_list(request: AuthedRequest) -> HttpResponse:
    return _events_page(request, "events")


@login_required
def login_log(request: AuthedRequest) -> HttpResponse:
    return _events_page(request, "logins")


@login_required
def event_detail(request: AuthedRequest, seq: int) -> HttpResponse:
    if not (request.user.can(Perm.VIEW_AUDIT) or request.user.can(Perm.VIEW_LOGIN_LOG)):
        raise PermissionDenied
    event = event_get_for_user(request.user, seq)
    return render(request, "web/event_detail.html", {
        "e": event,
        "object_label": object_type_label(event.object_type),
        "outcome": outcome_label(event.outcome),
        "rows": before_after_rows(event),
        "back": "web:login_log" if event.action in LOGIN_ACTIONS
        and not request.user.can(Perm.VIEW_AUDIT) else "web:event_list",
    })


def _export(request: AuthedRequest, kind: str) -> HttpResponse:
    from huzhu.sheets import Sheet, watermark, workbook

    qs, f, title, _ = _filtered(request, kind)
    buffer = io.BytesIO()
    book = workbook(buffer)
    sheet = Sheet(book, title)
    header = ["序号", "时间（北京时间）", "操作人", "操作", "对象类型", "对象编号", "结果", "IP",
              "请求号", "修改前", "修改后"]
    sheet.row(0, 0, header, book.add_format({"bold": True}))
    labels = dict(Action.choices)
    rows = 0
    for rows, e in enumerate(qs.order_by("-seq")[:EXPORT_LIMIT].iterator(chunk_size=2000),
                             start=1):
        sheet.cell(rows, 0, e.seq)
        texts = [
            clock.local(e.created_at).strftime("%Y-%m-%d %H:%M:%S"),
            e.actor_label or "系统", str(labels.get(e.action, e.action)),
            object_type_label(e.object_type), e.object_id, outcome_label(e.outcome), e.ip,
            e.request_id,
            "; ".join(f"{k}：{v}" for k, v, _ in before_after_rows(e) if v != "—"),
            "; ".join(f"{k}：{v}" for k, _, v in before_after_rows(e) if v != "—"),
        ]
        sheet.row(rows, 1, texts)  # text stays text: "=..." is never a formula
    sheet.cell(rows + 2, 0, watermark(request.user, "审计工作"))
    book.close()
    event_record(action=Action.EXPORT, actor=request.user, object_type="audit.event",
                 org_path=staff_path(request.user) or "",
                 after={"rows": rows, "log": title, "filters": f.as_dict()})
    response = HttpResponse(
        buffer.getvalue(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f"attachment; filename=audit-{kind}.xlsx"
    return response


@login_required
def event_export(request: AuthedRequest) -> HttpResponse:
    return _export(request, "events")


@login_required
def login_export(request: AuthedRequest) -> HttpResponse:
    return _export(request, "logins")
