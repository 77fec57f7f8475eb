from django.urls import path

from . import views_scheme as views

app_name = "scheme"

urlpatterns = [
    path("periods/", views.period_list, name="periods"),
    path("periods/new/", views.period_new, name="period_new"),
    path("periods/<int:pk>/", views.period_detail, name="period"),
    path("periods/<int:pk>/close/", views.period_close_view, name="period_close"),
    path("periods/<int:pk>/preview/", views.bill_preview_view, name="preview"),
    path("periods/<int:pk>/targets/", views.targets, name="targets"),
    path("periods/<int:pk>/not-enrolled/", views.not_enrolled, name="not_enrolled"),
    path("periods/<int:pk>/not-enrolled/export.xlsx", views.not_enrolled_export,
         name="not_enrolled_export"),
    path("periods/<int:pk>/not-enrolled/remind/", views.not_enrolled_remind,
         name="not_enrolled_remind"),
]
