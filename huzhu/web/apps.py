from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "huzhu.web"
    label = "web"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from huzhu.accounts.second_factor import mark_login

        from .middleware import stamp_login_time

        user_logged_in.connect(stamp_login_time, dispatch_uid="huzhu.web.stamp_login_time")
        user_logged_in.connect(mark_login, dispatch_uid="huzhu.web.mark_second_step")
