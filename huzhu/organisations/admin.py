"""The tree in the admin: readable by everyone the admin admits (within their subtree); the
system administrator may rename an organisation or flag a fund region, through ``org_update``
(the same service and event as the pages). Units are changed on the pages only."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet

from huzhu.accounts.admin_access import ReadOnlyAdmin, SystemAdminWrites

from .access import organisations_visible_to, units_visible_to
from .models import Organisation, Unit
from .services import org_update


@admin.register(Organisation)
class OrganisationAdmin(SystemAdminWrites):
    list_display = ("name", "kind", "path", "is_fund_region")
    list_filter = ("kind", "is_fund_region")
    search_fields = ("name", "code")
    fields = ("name", "kind", "code", "is_fund_region", "parent", "path", "depth",
              "fund_region")
    readonly_fields = ("path", "depth", "fund_region", "parent")

    def get_queryset(self, request: Any) -> QuerySet[Any]:
        return organisations_visible_to(request.user)

    def has_add_permission(self, request: Any) -> bool:  # new nodes: the tree page
        return False

    def save_model(self, request: Any, obj: Any, form: Any, change: bool) -> None:
        stored = Organisation.objects.get(pk=obj.pk)
        org_update(actor=request.user, org=stored, name=obj.name, kind=obj.kind,
                   is_fund_region=obj.is_fund_region, code=obj.code)


@admin.register(Unit)
class UnitAdmin(ReadOnlyAdmin):
    list_display = ("name", "uscc", "organisation")
    search_fields = ("name", "uscc")

    def get_queryset(self, request: Any) -> QuerySet[Any]:
        return units_visible_to(request.user)
