from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "huzhu.ledger"
    label = "ledger"
