"""SMS through real providers: Aliyun Dysmsapi (2017-05-25) and Tencent Cloud SMS (2021-01-11).

Each adapter signs its requests as the provider documents (Aliyun: the RPC signature, HMAC-SHA1
over the sorted, percent-encoded query; Tencent: TC3-HMAC-SHA256 over the canonical request),
maps the platform's template names (``ENROLLED``…) to the provider's approved template
(``SMS_…`` for Aliyun, a numeric ``TemplateId`` for Tencent) from configuration, and tells the
outbox one of three things about a send:

- accepted: the provider's reference is returned (Aliyun ``BizId``, Tencent ``SerialNo``);
- refused: ``SendFailed`` (throttled, out of credit: try again later) or ``SendRefused`` (a
  template, signature or number the provider will never accept: retrying cannot help);
- unknown: ``SendUnknown`` (a time-out or a broken answer after the request left): the message
  is *queried*, never resent blindly (TRUST R-14). :meth:`resolve` asks the provider what became
  of such messages — Aliyun ``QuerySendDetails`` by phone and day, matched on our ``OutId``;
  Tencent ``PullSmsSendStatus``, matched on our ``SessionContext``.

Neither the phone nor the message text is ever logged; errors carry the provider's code and a
Chinese explanation only.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json
import socket
import tomllib
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from huzhu import clock

from .gateways import SendFailed, SendRefused, SendUnknown, SmsRequest
from .templates import TEMPLATES

# Outcomes :meth:`resolve` reports for a message whose send was unknown.
DELIVERED = "sent"      # the provider has it (delivered or waiting for the carrier's receipt)
FAILED = "failed"       # the provider has it and it failed: a resend is a new, known attempt
ABSENT = "absent"       # the provider has no record of it: it never left, a resend is safe

ALIYUN_REFUSED = {
    "isv.SMS_TEMPLATE_ILLEGAL": "短信模板不存在或未审核通过",
    "isv.SMS_SIGNATURE_ILLEGAL": "短信签名不存在或未审核通过",
    "isv.MOBILE_NUMBER_ILLEGAL": "手机号码格式错误",
    "isv.TEMPLATE_MISSING_PARAMETERS": "短信模板缺少参数",
    "isv.INVALID_JSON_PARAM": "短信模板参数格式错误",
    "isv.OUT_OF_SERVICE": "短信服务已停用",
}
ALIYUN_LATER = {
    "isv.BUSINESS_LIMIT_CONTROL": "发送频率超过限制（业务限流）",
    "isv.DAY_LIMIT_CONTROL": "当日发送量已达上限",
    "isv.MONTH_LIMIT_CONTROL": "当月发送量已达上限",
    "isv.AMOUNT_NOT_ENOUGH": "短信账户余额不足",
    "isp.SYSTEM_ERROR": "短信服务商系统错误",
}
TENCENT_REFUSED = {
    "FailedOperation.SignatureIncorrectOrUnapproved": "短信签名不存在或未审核通过",
    "FailedOperation.TemplateIncorrectOrUnapproved": "短信模板不存在或未审核通过",
    "FailedOperation.PhoneNumberInBlacklist": "手机号码在黑名单中",
    "InvalidParameterValue.IncorrectPhoneNumber": "手机号码格式错误",
    "InvalidParameterValue.ContentLengthLimit": "短信内容超过长度限制",
}
TENCENT_LATER = {
    "LimitExceeded.DeliveryFrequencyLimit": "发送频率超过限制",
    "InternalError": "短信服务商系统错误",
}


class ProviderConfigError(ValueError):
    """The SMS configuration is incomplete or names an unknown template (said in Chinese)."""


@dataclass(frozen=True)
class SmsConfig:
    provider: str  # "aliyun" | "tencent"
    access_key_id: str
    access_key_secret: str
    sign_name: str
    templates: dict[str, str]  # platform template name -> provider template code / id
    endpoint: str = ""
    region: str = ""
    sdk_app_id: str = ""  # Tencent SmsSdkAppId
    timeout: float = 10.0


def templates_load(path: str | Path, provider: str) -> dict[str, str]:
    """The ``[provider]`` table of a TOML file mapping each platform template to the provider's;
    every platform template must be mapped, and nothing else."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ProviderConfigError(f"短信模板对照文件 {path} 无法读取：{exc}") from exc
    table = data.get(provider)
    if not isinstance(table, dict):
        raise ProviderConfigError(f"短信模板对照文件 {path} 中没有 [{provider}] 一节")
    mapping = {str(k): str(v) for k, v in table.items()}
    missing = sorted(set(TEMPLATES) - set(mapping))
    unknown = sorted(set(mapping) - set(TEMPLATES))
    if missing or unknown:
        parts = ([f"缺少 {'、'.join(missing)}"] if missing else []) + (
            [f"没有这些模板：{'、'.join(unknown)}"] if unknown else [])
        raise ProviderConfigError(f"短信模板对照 [{provider}]：" + "；".join(parts))
    return mapping


def _percent(text: str) -> str:
    """RFC 3986 percent-encoding as Aliyun's signature wants it (``~`` kept, space as %20)."""
    return urllib.parse.quote(text, safe="~")


class _Http:
    def __init__(self, config: SmsConfig):
        self.config = config

    def _open(self, request: urllib.request.Request, *, sent: bool) -> dict[str, Any]:
        """Send; a failure before the request left is ``SendFailed``, after it ``SendUnknown``
        (for a query, both only mean "no answer now")."""
        try:
            with urllib.request.urlopen(request, timeout=self.config.timeout) as response:  # noqa: S310 (configured https endpoint)
                body = response.read()
        except urllib.error.HTTPError as exc:
            body = exc.read()
            if exc.code >= 500:
                raise SendUnknown(f"短信服务商返回 HTTP {exc.code}") from exc
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, ConnectionRefusedError | socket.gaierror):
                raise SendFailed(f"无法连接短信服务商：{exc.reason}") from exc
            raise SendUnknown(f"短信服务商无应答：{exc.reason}") from exc
        except (TimeoutError, ConnectionError, OSError) as exc:
            raise SendUnknown(f"短信服务商无应答：{exc}") from exc
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise SendUnknown("短信服务商的应答无法解析") from exc
        if not isinstance(data, dict):
            raise SendUnknown("短信服务商的应答无法解析")
        return data


class AliyunGateway(_Http):
    """Aliyun Dysmsapi: ``SendSms`` and ``QuerySendDetails`` over HTTPS GET, RPC signature."""

    VERSION = "2017-05-25"

    def __init__(self, config: SmsConfig):
        super().__init__(config)
        self.endpoint = (config.endpoint or "https://dysmsapi.aliyuncs.com").rstrip("/")

    def signed_query(self, params: dict[str, str], *, now: datetime.datetime | None = None,
                     nonce: str | None = None) -> str:
        moment = (now or clock.now()).astimezone(datetime.UTC)
        full = {
            **params,
            "AccessKeyId": self.config.access_key_id,
            "Format": "JSON",
            "RegionId": self.config.region or "cn-hangzhou",
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": nonce or uuid.uuid4().hex,
            "SignatureVersion": "1.0",
            "Timestamp": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": self.VERSION,
        }
        canonical = "&".join(f"{_percent(k)}={_percent(v)}" for k, v in sorted(full.items()))
        to_sign = "GET&%2F&" + _percent(canonical)
        digest = hmac.new((self.config.access_key_secret + "&").encode(), to_sign.encode(),
                          hashlib.sha1).digest()
        signature = base64.b64encode(digest).decode()
        return f"Signature={_percent(signature)}&{canonical}"

    def _call(self, params: dict[str, str], *, sent: bool) -> dict[str, Any]:
        url = f"{self.endpoint}/?{self.signed_query(params)}"
        return self._open(urllib.request.Request(url, method="GET"), sent=sent)

    def send(self, request: SmsRequest) -> str:
        code = self.config.templates.get(request.template)
        if not code:
            raise SendRefused(f"短信模板 {request.template} 未配置阿里云模板编号")
        data = self._call({
            "Action": "SendSms", "PhoneNumbers": request.phone,
            "SignName": self.config.sign_name, "TemplateCode": code,
            "TemplateParam": json.dumps(request.params, ensure_ascii=False, sort_keys=True),
            "OutId": request.key}, sent=True)
        answer = str(data.get("Code", ""))
        if answer == "OK" and data.get("BizId"):
            return str(data["BizId"])
        if answer in ALIYUN_REFUSED:
            raise SendRefused(f"{ALIYUN_REFUSED[answer]}（{answer}）")
        if answer in ALIYUN_LATER:
            raise SendFailed(f"{ALIYUN_LATER[answer]}（{answer}）")
        if answer:
            raise SendFailed(f"短信服务商拒绝发送（{answer}）")
        raise SendUnknown("短信服务商的应答中没有结果代码")

    def resolve(self, messages: Iterable[Any]) -> dict[str, str]:
        """What became of each message (``key``, ``phone``, ``attempted_at``): one
        ``QuerySendDetails`` per phone and day, matched on ``OutId``."""
        found: dict[str, str] = {}
        for message in messages:
            day = clock.today(message.attempted_at or clock.now())
            try:
                data = self._call({"Action": "QuerySendDetails", "PhoneNumber": message.phone,
                                   "SendDate": day.strftime("%Y%m%d"), "PageSize": "50",
                                   "CurrentPage": "1"}, sent=False)
            except (SendFailed, SendUnknown):
                continue  # no answer now: ask again next round
            if data.get("Code") != "OK":
                continue
            details = (data.get("SmsSendDetailDTOs") or {}).get("SmsSendDetailDTO") or []
            mine = [d for d in details if str(d.get("OutId", "")) == message.key]
            if not mine:
                found[message.key] = ABSENT
            elif any(int(d.get("SendStatus", 0)) in (1, 3) for d in mine):
                found[message.key] = DELIVERED  # 1 等待回执, 3 发送成功
            else:
                found[message.key] = FAILED  # 2 发送失败
        return found


def _sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _hmac256(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


class TencentGateway(_Http):
    """Tencent Cloud SMS: ``SendSms`` and ``PullSmsSendStatus``, POST JSON, TC3-HMAC-SHA256."""

    VERSION = "2021-01-11"
    SERVICE = "sms"

    def __init__(self, config: SmsConfig):
        super().__init__(config)
        self.endpoint = (config.endpoint or "https://sms.tencentcloudapi.com").rstrip("/")
        self.host = urllib.parse.urlsplit(self.endpoint).netloc

    def signed_headers(self, action: str, payload: bytes, *, timestamp: int | None = None
                       ) -> dict[str, str]:
        ts = int(timestamp if timestamp is not None else clock.now().timestamp())
        date = datetime.datetime.fromtimestamp(ts, datetime.UTC).strftime("%Y-%m-%d")
        content_type = "application/json; charset=utf-8"
        canonical = "\n".join([
            "POST", "/", "", f"content-type:{content_type}\nhost:{self.host}\n",
            "content-type;host", _sha256_hex(payload)])
        scope = f"{date}/{self.SERVICE}/tc3_request"
        to_sign = "\n".join(["TC3-HMAC-SHA256", str(ts), scope,
                             _sha256_hex(canonical.encode())])
        key = _hmac256(("TC3" + self.config.access_key_secret).encode(), date)
        key = _hmac256(key, self.SERVICE)
        key = _hmac256(key, "tc3_request")
        signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        return {
            "Authorization": (f"TC3-HMAC-SHA256 Credential={self.config.access_key_id}/{scope}, "
                              f"SignedHeaders=content-type;host, Signature={signature}"),
            "Content-Type": content_type, "Host": self.host, "X-TC-Action": action,
            "X-TC-Timestamp": str(ts), "X-TC-Version": self.VERSION,
            "X-TC-Region": self.config.region or "ap-guangzhou",
        }

    def _call(self, action: str, body: dict[str, Any], *, sent: bool) -> dict[str, Any]:
        payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        request = urllib.request.Request(self.endpoint + "/", data=payload, method="POST",
                                         headers=self.signed_headers(action, payload))
        data = self._open(request, sent=sent)
        response = data.get("Response")
        if not isinstance(response, dict):
            raise SendUnknown("短信服务商的应答无法解析")
        return response

    def send(self, request: SmsRequest) -> str:
        template_id = self.config.templates.get(request.template)
        if not template_id:
            raise SendRefused(f"短信模板 {request.template} 未配置腾讯云模板 ID")
        names = TEMPLATES[request.template][1]
        response = self._call("SendSms", {
            "PhoneNumberSet": [f"+86{request.phone}"], "SmsSdkAppId": self.config.sdk_app_id,
            "TemplateId": template_id, "SignName": self.config.sign_name,
            # A Tencent template numbers its variables {1}, {2}…, in the platform's order.
            "TemplateParamSet": [str(request.params[n]) for n in names],
            "SessionContext": request.key}, sent=True)
        error = response.get("Error")
        if isinstance(error, dict):
            code = str(error.get("Code", ""))
            if code in TENCENT_REFUSED:
                raise SendRefused(f"{TENCENT_REFUSED[code]}（{code}）")
            if code in TENCENT_LATER or code.startswith(("LimitExceeded", "InternalError")):
                raise SendFailed(f"{TENCENT_LATER.get(code, '短信服务商暂时无法发送')}（{code}）")
            raise SendFailed(f"短信服务商拒绝发送（{code}）")
        statuses = response.get("SendStatusSet") or []
        if not statuses:
            raise SendUnknown("短信服务商的应答中没有发送状态")
        status = statuses[0]
        code = str(status.get("Code", ""))
        if code == "Ok":
            return str(status.get("SerialNo", ""))
        if code in TENCENT_REFUSED:
            raise SendRefused(f"{TENCENT_REFUSED[code]}（{code}）")
        raise SendFailed(f"{TENCENT_LATER.get(code, '短信服务商拒绝发送')}（{code}）")

    def resolve(self, messages: Iterable[Any]) -> dict[str, str]:
        """Pull the receipts the provider holds (each is handed out once) and match them on
        ``SessionContext``; a message with no receipt yet stays unknown."""
        wanted = {m.key for m in messages}
        found: dict[str, str] = {}
        for _ in range(20):  # at most 2,000 receipts a round
            try:
                response = self._call("PullSmsSendStatus", {
                    "Limit": 100, "SmsSdkAppId": self.config.sdk_app_id}, sent=False)
            except (SendFailed, SendUnknown):
                break
            rows = response.get("PullSmsSendStatusSet") or []
            for row in rows:
                key = str(row.get("SessionContext", ""))
                if key in wanted:
                    found[key] = DELIVERED if row.get("ReportStatus") == "SUCCESS" else FAILED
            if len(rows) < 100:
                break
        return found


def gateway_for(config: SmsConfig) -> AliyunGateway | TencentGateway:
    if config.provider == "aliyun":
        return AliyunGateway(config)
    if config.provider == "tencent":
        if not config.sdk_app_id:
            raise ProviderConfigError("腾讯云短信需要 HUZHU_SMS_SDK_APP_ID（SmsSdkAppId）")
        return TencentGateway(config)
    raise ProviderConfigError(f"未知的短信服务商：{config.provider}（可选 log、aliyun、tencent）")
