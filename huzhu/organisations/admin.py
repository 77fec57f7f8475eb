from django.contrib import admin

from .models import Organisation, Unit


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "path", "is_fund_region")
    list_filter = ("kind", "is_fund_region")
    search_fields = ("name", "code")
    readonly_fields = ("path", "depth", "fund_region", "parent")

    def has_add_permission(self, request):  # the tree is changed through its services
        return False


@admin.register(Unit)
class UnitAdmin(admin.ModelAdmin):
    list_display = ("name", "uscc", "organisation")
    search_fields = ("name", "uscc")
    readonly_fields = ("organisation", "org_path", "fund_region", "uscc")

    def has_add_permission(self, request):
        return False
