from django.apps import AppConfig


class WorkConfig(AppConfig):
    name = "huzhu.work"
    label = "work"
    verbose_name = "后台任务"
