"""Read-only admin views of the ledger: nothing here may post, change or delete money."""

from __future__ import annotations

from typing import Any

from django.contrib import admin

from .models import Account, RiskSharingRatio, Transaction


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


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
