from django.contrib import admin
from django.urls import include, path

from huzhu.api import api
from huzhu.web import views as web_views

admin.site.site_header = "互助保障管理平台 · 配置"
admin.site.site_title = "互助保障管理平台"
admin.site.index_title = "系统配置"

urlpatterns = [
    path("healthz", web_views.healthz, name="healthz"),
    # The admin's own login and logout are replaced by the platform's (lock-outs, audit).
    path("admin/login/", web_views.admin_login),
    path("admin/logout/", web_views.logout_view),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("ledger/", include("huzhu.ledger.urls")),
    path("enrollment/", include("huzhu.enrollment.urls")),
    path("billing/", include("huzhu.enrollment.urls_billing")),
    path("claims/", include("huzhu.claims.urls")),
    path("scheme/", include("huzhu.products.urls_scheme")),
    path("payouts/", include("huzhu.payouts.urls")),
    path("insights/", include("huzhu.insights.urls")),
    path("care/", include("huzhu.care.urls")),
    path("products/", include("huzhu.products.urls")),
    path("me/", include("huzhu.portal.urls")),
    path("service/", include("huzhu.portal.urls_staff")),
    path("", include("huzhu.web.urls")),
]
