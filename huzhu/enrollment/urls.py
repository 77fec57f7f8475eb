from django.urls import path

from . import views

app_name = "enrollment"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("units/<int:unit_id>/", views.unit_enrollment, name="unit"),
    path("units/<int:unit_id>/template.xlsx", views.template_download, name="template"),
    path("units/<int:unit_id>/upload/", views.roster_upload_view, name="upload"),
    path("members/<int:member_id>/", views.member_enrollments, name="member"),
    path("rosters/<int:roster_id>/", views.roster_detail, name="roster_detail"),
    path("rosters/<int:roster_id>/errors.xlsx", views.roster_errors_download,
         name="roster_errors"),
    path("rosters/<int:roster_id>/commit/", views.roster_commit_view, name="roster_commit"),
    path("rosters/<int:roster_id>/approve/", views.roster_pi_approve_view,
         name="roster_pi_approve"),
    path("exports/", views.pi_exports, name="pi_exports"),
    path("exports/<int:export_id>/", views.pi_export_detail, name="pi_export"),
    path("exports/<int:export_id>/approve/", views.pi_export_approve, name="pi_export_approve"),
    path("exports/<int:export_id>/download.xlsx", views.pi_export_download,
         name="pi_export_download"),
]
