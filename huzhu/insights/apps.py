from django.apps import AppConfig


class InsightsConfig(AppConfig):
    name = "huzhu.insights"
    verbose_name = "驾驶舱、报告与政策模拟"
