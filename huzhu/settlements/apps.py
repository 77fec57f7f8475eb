from django.apps import AppConfig


class SettlementsConfig(AppConfig):
    name = "huzhu.settlements"
    label = "settlements"
    verbose_name = "医保结算数据"
