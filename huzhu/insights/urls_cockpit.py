from django.urls import path

from . import views_cockpit

urlpatterns = [
    path("", views_cockpit.cockpit_home, name="cockpit_home"),
    path("cockpit/<int:org_id>/", views_cockpit.cockpit_page, name="cockpit"),
    path("cockpit/<int:org_id>/<slug:key>.xlsx", views_cockpit.cockpit_table,
         name="cockpit_table"),
]
