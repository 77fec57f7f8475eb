from django.apps import AppConfig


class IdempotencyConfig(AppConfig):
    name = "huzhu.idempotency"
    label = "idempotency"
    verbose_name = "接口幂等键"
