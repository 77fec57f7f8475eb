from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "huzhu.demo"
    label = "demo"
