from django.urls import path

from . import views, views_consolation, views_list

app_name = "payouts"

urlpatterns = [
    path("", views.index, name="index"),
    path("consolations/", views_consolation.consolations, name="consolations"),
    path("consolations/<int:pk>/decide/", views_consolation.consolation_act,
         name="consolation_act"),
    path("list/", views_list.payout_list, name="list"),
    path("list/export.xlsx", views_list.payout_export, name="list_export"),
    path("build/", views.build, name="build"),
    path("reconcile/", views.reconcile, name="reconcile"),
    path("day-close/", views.day_close, name="day_close"),
    path("day-close/close/", views.day_close_submit, name="day_close_submit"),
    path("exceptions/<int:exception_id>/resolve/", views.resolve, name="resolve"),
    path("payouts/<int:payout_id>/requeue/", views.requeue, name="requeue"),
    path("<int:pk>/", views.batch, name="batch"),
    path("<int:pk>/file/", views.download, name="download"),
    path("<int:pk>/result/", views.upload_result, name="upload_result"),
    path("<int:pk>/lines/<int:line_id>/bank/", views.line_bank, name="line_bank"),
    path("settings/", views.settings_list, name="settings"),
    path("settings/<int:region_id>/", views.settings_edit, name="settings_edit"),
    path("<int:pk>/<str:action>/", views.batch_action, name="action"),
]
