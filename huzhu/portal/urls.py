from django.urls import path

from . import views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("card/", views.card, name="card"),
    path("receipts/", views.receipts, name="receipts"),
    path("messages/", views.inbox, name="messages"),
    path("faq/", views.faq, name="faq"),
    path("ask/", views.ask, name="ask"),
]
