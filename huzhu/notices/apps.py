from typing import Any

from django.apps import AppConfig
from django.core import checks


class NoticesConfig(AppConfig):
    name = "huzhu.notices"
    label = "notices"
    verbose_name = "通知与短信"

    def ready(self) -> None:
        checks.register(sms_configured, "huzhu")


def sms_configured(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """A real SMS provider is configured completely, every template mapped (said in Chinese)."""
    from django.conf import settings

    from .providers import ProviderConfigError

    sms = settings.SMS
    if sms["provider"] == "log":
        return []
    missing = [name for name, key in (("HUZHU_SMS_ACCESS_KEY_ID", "access_key_id"),
                                      ("HUZHU_SMS_ACCESS_KEY_SECRET", "access_key_secret"),
                                      ("HUZHU_SMS_SIGN_NAME", "sign_name"),
                                      ("HUZHU_SMS_TEMPLATES", "templates")) if not sms[key]]
    if missing:
        return [checks.Error(f"短信服务商 {sms['provider']} 缺少配置：{'、'.join(missing)}",
                             id="huzhu.E101")]
    from .gateways import default_gateway

    try:
        default_gateway()
    except ProviderConfigError as exc:
        return [checks.Error(str(exc), id="huzhu.E102")]
    return []
