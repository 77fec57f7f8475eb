"""Read-only admin views of the ledger: nothing here may post, change or delete money."""

from __future__ import annotations

from typing import Any

from django.contrib import admin

from huzhu.accounts.admin_access import ReadOnlyAdmin
from huzhu.accounts.roles import Perm

from .models import Account, RiskSharingRatio, Transaction


class ReadOnly(ReadOnlyAdmin):
    """Seen only by roles that may read the ledger."""

    def has_module_permission(self, request: Any) -> bool:
        return super().has_module_permission(request) and request.user.can(Perm.VIEW_LEDGER)

    def has_view_permission(self, request: Any, obj: Any = None) -> bool:
        return super().has_view_permission(request) and request.user.can(Perm.VIEW_LEDGER)


@admin.register(Account)
class AccountAdmin(ReadOnly):
    list_display = ("code", "name", "org", "kind", "payer_kind", "product_code", "period_code")
    list_filter = ("kind",)
    search_fields = ("code", "name")


@admin.register(Transaction)
class TransactionAdmin(ReadOnly):
    list_display = ("id", "key", "business_date", "memo", "source_type", "source_id",
                    "actor_label")
    search_fields = ("key", "source_id")


@admin.register(RiskSharingRatio)
class RiskSharingRatioAdmin(ReadOnly):
    list_display = ("pool", "county", "city_share_bp")
