from django.urls import path

from . import views

app_name = "products"

urlpatterns = [
    path("", views.index, name="index"),
    path("drafts/new/", views.draft_new, name="draft_new"),
    path("drafts/<int:pk>/", views.draft_detail, name="draft"),
    path("drafts/<int:pk>/propose/", views.draft_propose, name="draft_propose"),
    path("drafts/<int:pk>/decide/", views.draft_decide, name="draft_decide"),
]
