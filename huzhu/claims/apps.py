from django.apps import AppConfig


class ClaimsConfig(AppConfig):
    name = "huzhu.claims"
    label = "claims"
    verbose_name = "结算数据与理赔"

    def ready(self) -> None:
        from . import reserve, status

        if reserve.reserve_sync not in status.AFTER_MOVE:
            status.AFTER_MOVE.append(reserve.reserve_sync)
