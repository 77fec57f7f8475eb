from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "huzhu.ledger"
    label = "ledger"

    def ready(self) -> None:
        from . import display

        display.connect()
