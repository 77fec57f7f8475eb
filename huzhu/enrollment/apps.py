from django.apps import AppConfig


class EnrollmentConfig(AppConfig):
    name = "huzhu.enrollment"
    label = "enrollment"
    verbose_name = "参保"
