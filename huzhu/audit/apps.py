from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "huzhu.audit"
    label = "audit"
    verbose_name = "审计日志"
