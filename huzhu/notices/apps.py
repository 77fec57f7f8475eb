from django.apps import AppConfig


class NoticesConfig(AppConfig):
    name = "huzhu.notices"
    label = "notices"
    verbose_name = "通知与短信"
