from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "huzhu.ops"
    verbose_name = "运维：备份与密钥"
