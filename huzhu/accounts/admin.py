"""Accounts in the admin: the system administrator edits accounts in his subtree, within the
rules of ``privileges.py``; the signals of ``trail.py`` record every change. Roles are granted
on the security administrator's page, API tokens on the token page, never here."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import Group
from django.db.models import QuerySet

from .admin_access import ReadOnlyAdmin, SystemAdminWrites, admitted, writer
from .models import ApiToken, User
from .privileges import change_refusal
from .roles import ADMIN_ROLES

# The platform's permissions are its roles (roles.py); Django's groups grant nothing here and
# would be a second road to the admin's rights.
if admin.site.is_registered(Group):
    admin.site.unregister(Group)


def _subtree(request: Any, queryset: QuerySet[Any]) -> QuerySet[Any]:
    """Accounts whose place lies in the viewer's subtree (everything at the root)."""
    from huzhu.audit.access import users_in_subtree

    org = getattr(request.user, "organisation", None)
    if org is None:
        return queryset.none()
    if org.parent_id is None:
        return queryset
    return queryset.filter(pk__in=users_in_subtree(org.path).values("pk"))


class RefusingForm:
    """Checks the change against ``privileges.change_refusal`` once the form has applied it to
    the account, so a refused change is a form error (and an event), not a server error."""

    acting: Any = None

    def _post_clean(self) -> None:
        from huzhu.audit.models import Action
        from huzhu.audit.services import event_record

        from .trail import user_snapshot

        super()._post_clean()  # type: ignore[misc]
        instance: Any = self.instance  # type: ignore[attr-defined]
        if self.errors or self.acting is None:  # type: ignore[attr-defined]
            return
        old = User.objects.filter(pk=instance.pk).first() if instance.pk else None
        before = user_snapshot(old) if old is not None else None
        why = change_refusal(self.acting, before, user_snapshot(instance),
                             is_self=old is not None and old.pk == self.acting.pk)
        if why is not None:
            event_record(action=Action.USER_UPDATED if old else Action.USER_CREATED,
                         actor=self.acting, object_type="accounts.user",
                         object_id=str(instance.pk or ""), after={"reason": why},
                         outcome="denied")
            self.add_error(None, why)  # type: ignore[attr-defined]


@admin.register(User)
class HuzhuUserAdmin(UserAdmin, SystemAdminWrites):
    list_display = ("username", "display_name", "role", "organisation", "unit", "is_active")
    list_filter = ("role", "is_active")
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("个人信息", {"fields": ("display_name", "email")}),
        ("角色与数据范围", {"fields": ("role", "organisation", "unit", "member")}),
        ("状态", {"fields": ("is_active", "is_staff", "is_superuser")}),
        ("重要日期", {"fields": ("last_login", "date_joined")}),
    )
    filter_horizontal = ()
    raw_id_fields = ("organisation", "unit", "member")
    readonly_fields = ("role", "is_superuser", "last_login", "date_joined")

    def get_queryset(self, request: Any) -> QuerySet[Any]:
        return _subtree(request, super().get_queryset(request))

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        if not writer(request):
            return False
        # An administrator's account is changed only by its holder or from the command line.
        return obj is None or obj.pk == request.user.pk or obj.role not in ADMIN_ROLES

    def has_view_permission(self, request: Any, obj: Any = None) -> bool:
        return admitted(request)

    def get_form(self, request: Any, obj: Any = None, change: bool = False, **kwargs: Any
                 ) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(f"Refusing{form.__name__}", (RefusingForm, form),
                    {"acting": request.user})


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    """Issued and revoked on the token page (接口令牌) only."""

    list_display = ("name", "user", "prefix", "created_at", "expires_at", "last_used_at",
                    "revoked_at")
    exclude = ("digest",)

    def get_queryset(self, request: Any) -> QuerySet[Any]:
        qs = super().get_queryset(request)
        return qs.filter(user__in=_subtree(request, User.objects.all()))


# django-otp registers its TOTP devices with the admin, which would show any user's key (and so
# every future code) to whoever holds the admin: devices are managed only through the
# enrolment page and the security administrator's reset (docs/adr/0010).
def _hide_otp_devices() -> None:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    if admin.site.is_registered(TOTPDevice):
        admin.site.unregister(TOTPDevice)


_hide_otp_devices()
