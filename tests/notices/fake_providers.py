"""A local fake of the two SMS providers, on 127.0.0.1, answering in their documented shapes
(docs/data-formats.md; Aliyun Dysmsapi 2017-05-25, Tencent Cloud SMS 2021-01-11).

It checks every request's signature with the provider's own SDK (aliyun-python-sdk-core's RPC
composer and HMAC-SHA1; tencentcloud-sdk-python-common's TC3 key derivation), so a request our
adapter signs wrongly is refused here as the provider would refuse it.

``mode`` per provider: ``ok``; ``throttled``; ``bad_template``; ``hang`` (the provider takes the
message, then answers too late for the client); ``lost`` (the connection drops before the
provider takes the message)."""

from __future__ import annotations

import datetime
import hashlib
import json
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from zoneinfo import ZoneInfo

from aliyunsdkcore.auth.algorithm import sha_hmac1
from aliyunsdkcore.auth.composer import rpc_signature_composer
from tencentcloud.common.sign import Sign

BEIJING = ZoneInfo("Asia/Shanghai")
KEY_ID, SECRET = "LTAI-test-key-id", "test-secret-value"


class FakeProviders:
    def __init__(self) -> None:
        self.mode = {"aliyun": "ok", "tencent": "ok"}
        self.hang_seconds = 1.5
        self.received: list[dict[str, Any]] = []   # every request, decoded
        self.messages: list[dict[str, Any]] = []   # what the provider took
        self.reports: list[dict[str, Any]] = []    # Tencent receipts not pulled yet
        self.bad_signatures = 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep phones out of test output
                return

            def do_GET(self) -> None:  # noqa: N802
                query = urllib.parse.urlsplit(self.path).query
                params = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
                fake._aliyun(self, params)

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                fake._tencent(self, body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # ------------------------------------------------------------------ plumbing
    @staticmethod
    def _answer(handler: BaseHTTPRequestHandler, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body, ensure_ascii=False).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json;charset=utf-8")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def _late_or_lost(self, handler: BaseHTTPRequestHandler, mode: str) -> bool:
        if mode == "hang":
            time.sleep(self.hang_seconds)
            return False
        if mode == "lost":
            handler.close_connection = True
            handler.connection.close()
            return True
        return False

    # ------------------------------------------------------------------ Aliyun
    def _aliyun(self, handler: BaseHTTPRequestHandler, params: dict[str, str]) -> None:
        signature = params.pop("Signature", "")
        compose = getattr(rpc_signature_composer, "__compose_string_to_sign")
        expected = sha_hmac1.get_sign_string(compose("GET", params), SECRET + "&")
        self.received.append({"provider": "aliyun", **params})
        request_id = str(uuid.uuid4()).upper()
        if signature != expected or params.get("AccessKeyId") != KEY_ID:
            self.bad_signatures += 1
            return self._answer(handler, 400, {
                "Code": "SignatureDoesNotMatch", "RequestId": request_id,
                "Message": "Specified signature is not matched with our calculation."})
        for name in ("Format", "RegionId", "SignatureMethod", "SignatureNonce",
                     "SignatureVersion", "Timestamp", "Version"):
            assert params.get(name), name
        assert params["Version"] == "2017-05-25" and params["SignatureMethod"] == "HMAC-SHA1"
        if params["Action"] == "QuerySendDetails":
            return self._aliyun_query(handler, params, request_id)
        assert params["Action"] == "SendSms"
        mode = self.mode["aliyun"]
        if mode == "throttled":
            return self._answer(handler, 200, {"Code": "isv.BUSINESS_LIMIT_CONTROL",
                                               "Message": "触发分钟级流控Permits:1",
                                               "RequestId": request_id})
        if mode == "bad_template":
            return self._answer(handler, 200, {"Code": "isv.SMS_TEMPLATE_ILLEGAL",
                                               "Message": "模板不合法(不存在或被拉黑)",
                                               "RequestId": request_id})
        if mode == "lost":
            self._late_or_lost(handler, mode)
            return None
        biz_id = f"{int(time.time() * 1000)}^{uuid.uuid4().int % 10**10}"
        self.messages.append({
            "provider": "aliyun", "phone": params["PhoneNumbers"], "sign": params["SignName"],
            "template": params["TemplateCode"], "params": json.loads(params["TemplateParam"]),
            "out_id": params.get("OutId", ""), "biz_id": biz_id,
            "day": datetime.datetime.now(BEIJING).strftime("%Y%m%d")})
        self._late_or_lost(handler, mode)
        return self._answer(handler, 200, {"Code": "OK", "Message": "OK", "BizId": biz_id,
                                           "RequestId": request_id})

    def _aliyun_query(self, handler: BaseHTTPRequestHandler, params: dict[str, str],
                      request_id: str) -> None:
        rows = [m for m in self.messages if m["provider"] == "aliyun"
                and m["phone"] == params["PhoneNumber"] and m["day"] == params["SendDate"]]
        details = [{"PhoneNum": m["phone"], "SendStatus": 3, "ErrCode": "DELIVERED",
                    "TemplateCode": m["template"], "Content": "【…】…", "OutId": m["out_id"],
                    "SendDate": "2026-12-07 10:00:00", "ReceiveDate": "2026-12-07 10:00:05"}
                   for m in rows]
        return self._answer(handler, 200, {
            "Code": "OK", "Message": "OK", "RequestId": request_id, "TotalCount": len(details),
            "SmsSendDetailDTOs": {"SmsSendDetailDTO": details}})

    # ------------------------------------------------------------------ Tencent
    def _tencent(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        headers = handler.headers
        auth = headers.get("Authorization", "")
        action = headers.get("X-TC-Action", "")
        ts = int(headers.get("X-TC-Timestamp", "0"))
        date = datetime.datetime.fromtimestamp(ts, datetime.UTC).strftime("%Y-%m-%d")
        canonical = (f"POST\n/\n\ncontent-type:{headers.get('Content-Type')}\n"
                     f"host:{headers.get('Host')}\n\ncontent-type;host\n"
                     + hashlib.sha256(body).hexdigest())
        to_sign = (f"TC3-HMAC-SHA256\n{ts}\n{date}/sms/tc3_request\n"
                   + hashlib.sha256(canonical.encode()).hexdigest())
        expected = Sign.sign_tc3(SECRET, date, "sms", to_sign)
        request_id = str(uuid.uuid4())
        payload = json.loads(body)
        self.received.append({"provider": "tencent", "action": action, **payload})
        if (f"Credential={KEY_ID}/{date}/sms/tc3_request" not in auth
                or f"Signature={expected}" not in auth
                or headers.get("X-TC-Version") != "2021-01-11"):
            self.bad_signatures += 1
            return self._answer(handler, 200, {"Response": {
                "Error": {"Code": "AuthFailure.SignatureFailure",
                          "Message": "The provided credentials could not be validated."},
                "RequestId": request_id}})
        if action == "PullSmsSendStatus":
            limit = int(payload["Limit"])
            out, self.reports = self.reports[:limit], self.reports[limit:]
            return self._answer(handler, 200, {"Response": {
                "PullSmsSendStatusSet": out, "RequestId": request_id}})
        assert action == "SendSms"
        mode = self.mode["tencent"]
        if mode == "throttled":
            return self._answer(handler, 200, {"Response": {"Error": {
                "Code": "LimitExceeded.DeliveryFrequencyLimit",
                "Message": "下发短信命中了频率限制策略"}, "RequestId": request_id}})
        if mode == "bad_template":
            return self._answer(handler, 200, {"Response": {"Error": {
                "Code": "FailedOperation.TemplateIncorrectOrUnapproved",
                "Message": "模板未审批或内容不匹配"}, "RequestId": request_id}})
        if mode == "lost":
            self._late_or_lost(handler, mode)
            return None
        phone = payload["PhoneNumberSet"][0]
        serial = f"2645:{uuid.uuid4().int % 10**20}"
        self.messages.append({
            "provider": "tencent", "phone": phone, "sign": payload["SignName"],
            "template": payload["TemplateId"], "params": payload["TemplateParamSet"],
            "session": payload.get("SessionContext", ""), "app": payload["SmsSdkAppId"],
            "serial": serial})
        self.reports.append({
            "UserReceiveTime": int(time.time()), "CountryCode": "86",
            "SubscriberNumber": phone[3:], "PhoneNumber": phone, "SerialNo": serial,
            "ReportStatus": "SUCCESS", "Description": "用户接收成功",
            "SessionContext": payload.get("SessionContext", "")})
        self._late_or_lost(handler, mode)
        return self._answer(handler, 200, {"Response": {"SendStatusSet": [{
            "SerialNo": serial, "PhoneNumber": phone, "Fee": 1,
            "SessionContext": payload.get("SessionContext", ""), "Code": "Ok",
            "Message": "send success", "IsoCode": "CN"}], "RequestId": request_id}})
