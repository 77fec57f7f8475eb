from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "huzhu.accounts"
    label = "accounts"
    verbose_name = "用户与权限"

    def ready(self) -> None:
        from . import trail

        trail.connect()
