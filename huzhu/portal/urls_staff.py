from django.urls import path

from . import views_staff

app_name = "service"

urlpatterns = [
    path("knowledge/", views_staff.kb_list, name="kb_list"),
    path("knowledge/new/", views_staff.kb_edit, name="kb_create"),
    path("knowledge/<int:pk>/", views_staff.kb_edit, name="kb_edit"),
    path("tickets/", views_staff.tickets, name="tickets"),
    path("tickets/<int:pk>/reply/", views_staff.ticket_answer, name="ticket_reply"),
]
