"""SMS gateways behind one interface.

The default gateway writes each request, in the shape of Aliyun's ``SendSms`` API, as one JSON
line to a log file (``var/sms.log``); ``HUZHU_SMS_PROVIDER=aliyun`` or ``tencent`` sends through
that provider (:mod:`huzhu.notices.providers`). A gateway's ``send`` raises ``SendUnknown`` when
it cannot tell whether the message went out (a time-out): such a message is queried with the
gateway's ``resolve``, never resent blindly.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from django.conf import settings
from django.utils import timezone

from huzhu.pii.masking import mask_name, mask_phone

from .templates import SIGN_NAME


@dataclass(frozen=True)
class SmsRequest:
    key: str
    phone: str
    template: str
    params: dict[str, str]


class SendFailed(Exception):
    """The provider refused the message (a known failure: it may be retried)."""


class SendRefused(SendFailed):
    """The provider will never accept this message as it is (template, signature, number):
    retrying cannot help, so the message fails at once."""


class SendUnknown(Exception):
    """The outcome is unknown; the message must be queried, not resent."""


class SmsGateway(Protocol):
    def send(self, request: SmsRequest) -> str: ...

    def resolve(self, messages: Iterable[Any]) -> dict[str, str]:
        """For messages whose send was unknown (each with ``key``, ``phone`` and
        ``attempted_at``): ``sent``, ``failed`` or ``absent`` per key it could tell."""
        ...


class LogFileGateway:
    """Append Aliyun-shaped SendSms requests to a JSON-lines file; return a BizId. The file
    is a log, not the provider: the phone and the member's name in it are masked (TRUST
    S-20), the rest of the request is as a provider would receive it."""

    _lock = threading.Lock()

    def __init__(self, path: Path | None = None):
        self.path = Path(path or Path(settings.VAR_DIR) / "sms.log")

    def send(self, request: SmsRequest) -> str:
        biz_id = uuid.uuid4().hex[:20]
        line = {
            "Action": "SendSms",
            "PhoneNumbers": mask_phone(request.phone),
            "SignName": SIGN_NAME,
            "TemplateCode": request.template,
            "TemplateParam": json.dumps(_masked(request.params), ensure_ascii=False,
                                        sort_keys=True),
            "OutId": request.key,
            "BizId": biz_id,
            "RequestTime": timezone.now().isoformat(),
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(line, ensure_ascii=False) + "\n")
        return biz_id

    def resolve(self, messages: Iterable[Any]) -> dict[str, str]:
        return {}  # it never leaves an outcome unknown


def _masked(params: dict[str, str]) -> dict[str, str]:
    """Template parameters as a log may keep them: the name masked (a card is only ever its
    last four digits already), a secret (a first password, a code) never written."""
    from .templates import SECRET_PARAMS

    return {k: mask_name(v) if k == "name" else "******" if k in SECRET_PARAMS else v
            for k, v in params.items()}


def default_gateway() -> SmsGateway:
    """The gateway ``HUZHU_SMS_PROVIDER`` names: ``log`` (the default), ``aliyun`` or
    ``tencent``, configured by the ``HUZHU_SMS_*`` settings (docs/operations.md)."""
    sms: dict[str, Any] = settings.SMS
    provider = str(sms["provider"])
    if provider == "log":
        return LogFileGateway()
    from .providers import SmsConfig, gateway_for, templates_load

    return gateway_for(SmsConfig(
        provider=provider, access_key_id=str(sms["access_key_id"]),
        access_key_secret=str(sms["access_key_secret"]),
        sign_name=str(sms["sign_name"] or SIGN_NAME),
        templates=templates_load(str(sms["templates"]), provider),
        endpoint=str(sms["endpoint"]), region=str(sms["region"]),
        sdk_app_id=str(sms["sdk_app_id"]), timeout=float(sms["timeout"])))
