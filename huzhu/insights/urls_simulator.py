from django.urls import path

from . import views_simulator as v

urlpatterns = [
    path("", v.simulator, name="simulator"),
    path("compare/", v.compare, name="simulator_compare"),
    path("<int:pk>/", v.scenario_detail, name="simulator_scenario"),
    path("<int:pk>/hand/", v.scenario_hand_view, name="simulator_hand"),
]
