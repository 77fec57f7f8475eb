"""SMS gateways behind one interface.

The first gateway writes each request, in the shape of Aliyun's ``SendSms`` API, as one JSON
line to a log file (``var/sms.log``); see docs/data-formats.md for that shape and Tencent's.
A real provider adapter implements ``SmsGateway.send`` and raises ``SendUnknown`` when it cannot
tell whether the message went out (a timeout): such a message is queried, never resent blindly.
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

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


class SendUnknown(Exception):
    """The outcome is unknown; the message must be queried, not resent."""


class SmsGateway(Protocol):
    def send(self, request: SmsRequest) -> str: ...


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


def _masked(params: dict[str, str]) -> dict[str, str]:
    """Template parameters as a log may keep them: the name masked (a card is only ever its
    last four digits already)."""
    return {k: mask_name(v) if k == "name" else v for k, v in params.items()}


def default_gateway() -> SmsGateway:
    return LogFileGateway()
