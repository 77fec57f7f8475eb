"""The insights pages: the cockpit and reports (urls_cockpit) and the simulator (urls_simulator)."""

from django.urls import include, path

app_name = "insights"

urlpatterns = [
    path("", include("huzhu.insights.urls_cockpit")),
    path("reports/", include("huzhu.insights.urls_reports")),
    path("simulator/", include("huzhu.insights.urls_simulator")),
]
