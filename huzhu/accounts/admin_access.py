"""Who may do what in the Django admin (/admin/, 系统配置): read-only for everyone it admits,
writes for the system administrator only, and every write through the audited path
(docs/adr/0011).

The admin admits active ``is_staff`` users, who log in through the platform's login (lock-outs,
audit; ``huzhu/web/views.py: admin_login``). Nothing is deleted from the admin: accounts are
deactivated, the tree is changed through its services.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin

from .roles import Role


def admitted(request: Any) -> bool:
    user = request.user
    return bool(user.is_authenticated and user.is_active and user.is_staff)


def writer(request: Any) -> bool:
    """The system administrator (系统管理员), whatever Django permissions the account holds."""
    return admitted(request) and request.user.role == Role.SYSTEM_ADMIN


class SystemAdminWrites(admin.ModelAdmin):
    """Readable by everyone the admin admits, writable by the system administrator only."""

    def has_module_permission(self, request: Any) -> bool:
        return admitted(request)

    def has_view_permission(self, request: Any, obj: Any = None) -> bool:
        return admitted(request)

    def has_add_permission(self, request: Any) -> bool:
        return writer(request)

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return writer(request)

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


class ReadOnlyAdmin(SystemAdminWrites):
    """Readable by everyone the admin admits, writable by nobody."""

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False
