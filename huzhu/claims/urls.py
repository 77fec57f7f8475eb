from django.urls import path

from huzhu.settlements import views as settlement_views

from . import (
    views,
    views_calendar,
    views_corrections,
    views_events,
    views_keyed,
    views_settings,
    views_work,
)

app_name = "claims"

urlpatterns = [
    path("", views.claim_list, name="list"),
    path("find/", views.claim_find, name="find"),
    path("export.xlsx", views.claim_export, name="export"),
    path("queue/", views_work.queue, name="queue"),
    path("calendar/", views_calendar.calendar, name="calendar"),
    path("settings/", views_settings.review_settings, name="review_settings"),
    path("mine/", views_work.mine, name="mine"),
    path("file/", views_work.file_start, name="file_start"),
    path("file/<int:member_id>/", views_work.file_member, name="file_member"),
    path("file/<int:member_id>/event/", views_events.file_event, name="file_event"),
    path("file/<int:member_id>/keyed/", views_keyed.file_keyed, name="file_keyed"),
    path("keyed/", views_keyed.keyed_list, name="keyed_list"),
    path("keyed/<int:pk>/", views_keyed.keyed_detail, name="keyed_detail"),
    path("keyed/<int:pk>/documents/<int:doc_id>/", views_keyed.keyed_document,
         name="keyed_document"),
    path("<int:pk>/", views.claim_detail, name="detail"),
    path("<int:pk>/payee/", views_events.payee_card, name="payee_card"),
    path("<int:pk>/review/", views_work.review, name="review"),
    path("<int:pk>/appeal/", views_work.appeal, name="appeal"),
    path("<int:pk>/documents/", views_work.documents_upload, name="documents"),
    path("<int:pk>/documents/<int:doc_id>/", views_work.document, name="document"),
    path("corrections/", views_corrections.corrections, name="corrections"),
    path("<int:pk>/corrections/<int:assessment_id>/", views_corrections.decide,
         name="correction_decide"),
    path("recoveries/<int:pk>/<str:step>/", views_corrections.recovery_act, name="recovery_act"),
    path("settlements/unmatched/", settlement_views.unmatched, name="unmatched"),
    path("settlements/unmatched/retry/", views.unmatched_retry, name="unmatched_retry"),
]
