from django.urls import path

from . import views

app_name = "claims"

urlpatterns = [
    path("", views.claim_list, name="list"),
    path("<int:pk>/", views.claim_detail, name="detail"),
    path("settlements/unmatched/", views.unmatched, name="unmatched"),
    path("settlements/unmatched/retry/", views.unmatched_retry, name="unmatched_retry"),
]
