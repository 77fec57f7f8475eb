from django.urls import path

from . import views

app_name = "care"

urlpatterns = [
    path("", views.care_list, name="list"),
    path("rule/", views.care_rule, name="rule"),
    path("scan/", views.care_scan, name="scan"),
    path("<int:pk>/", views.care_detail, name="detail"),
    path("<int:pk>/phone/", views.care_phone, name="phone"),
    path("<int:pk>/tasks/<int:task_pk>/", views.care_task, name="task"),
]
