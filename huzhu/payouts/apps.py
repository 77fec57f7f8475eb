from django.apps import AppConfig


class PayoutsConfig(AppConfig):
    name = "huzhu.payouts"
    label = "payouts"
    verbose_name = "支付与对账"
