"""The event log in the admin: only for those who may read it (the audit administrator), within
their scope (access.py), and never changed."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet

from huzhu.accounts.admin_access import ReadOnlyAdmin
from huzhu.accounts.roles import Perm

from .access import events_visible_to
from .models import Event


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ("seq", "created_at", "actor_label", "action", "object_type", "object_id",
                    "outcome")
    list_filter = ("action", "outcome")

    def has_module_permission(self, request: Any) -> bool:
        return super().has_module_permission(request) and request.user.can(Perm.VIEW_AUDIT)

    def has_view_permission(self, request: Any, obj: Any = None) -> bool:
        return super().has_view_permission(request) and request.user.can(Perm.VIEW_AUDIT)

    def get_queryset(self, request: Any) -> QuerySet[Any]:
        return events_visible_to(request.user)
