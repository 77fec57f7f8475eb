from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from .models import ApiToken, User


@admin.register(User)
class HuzhuUserAdmin(UserAdmin):
    list_display = ("username", "display_name", "role", "organisation", "unit", "is_active")
    list_filter = ("role", "is_active")
    fieldsets = (
        *(UserAdmin.fieldsets or ()),
        ("角色与数据范围", {"fields": ("role", "display_name", "organisation", "unit", "member")}),
    )
    raw_id_fields = ("organisation", "unit", "member")


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "prefix", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("prefix", "digest", "created_at", "last_used_at")


# django-otp registers its TOTP devices with the admin, which would show any user's key (and so
# every future code) to whoever holds the admin: devices are managed only through the
# enrolment page and the security administrator's reset (docs/adr/0010).
def _hide_otp_devices() -> None:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    if admin.site.is_registered(TOTPDevice):
        admin.site.unregister(TOTPDevice)


_hide_otp_devices()
