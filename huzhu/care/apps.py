from django.apps import AppConfig


class CareConfig(AppConfig):
    name = "huzhu.care"
    verbose_name = "重病关怀"
