"""The JSON API root; each app adds its router (see huzhu/<app>/api.py).

Errors are translated to HTTP here and only here (STYLE §10 rule 14), all with one body:
``{"error": 中文说明, "code": 错误码, "fields": {字段: [说明]}, "warnings": {...}}``.
"""

from __future__ import annotations

import logging
import traceback
from pathlib import Path
from typing import Any

import ninja
from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.template import engines
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.openapi.docs import DocsBase
from ninja.renderers import JSONRenderer

from huzhu.accounts.api import AUTH
from huzhu.accounts.tokens import token_rule
from huzhu.errors import Conflict, DomainError, NeedsConfirmation, NotAllowed
from huzhu.idempotency.hooks import HEADER as IDEMPOTENCY_HEADER
from huzhu.idempotency.hooks import KeyRefused, key_claim, key_settle
from huzhu.web.request_context import current_request_meta

_log = logging.getLogger("huzhu.api")

DESCRIPTION = """
组织、参保单位、会员的读取、新建与修改。

**认证**：集成客户端使用 `Authorization: Bearer <令牌>`（令牌由系统管理员在“接口令牌”页面或
`huzhu token create` 签发，只显示一次）；浏览器可沿用登录会话，此时非 GET 请求须带 `X-CSRFToken`。
令牌以其所属用户的角色行事，并只限于签发时选定的接口范围（组织与单位、会员、参保登记、理赔、
医保结算数据、代付、账务，各为只读或读写）和数据范围（一个组织及其下级）：范围外的接口答复 403
（`token_scope`），只读令牌不能新建或修改；看不到的组织、单位、会员一律答复 404。令牌须有到期时间
（最长 365 天），过期或被吊销的令牌答复 401；会员账号不能使用令牌。同一地址连续提交无效令牌过多时
答复 429（`throttled`），稍后再试。

**个人信息**：身份证号、手机号、银行卡号在所有响应中均为脱敏形式（`110101********1234`、
`138****1234`、`6222 **** **** 3029`）。查看完整值须调用 `POST /api/members/{id}/reveal`，
仅限有权角色，并记入事件日志。姓名：有会员管理权限的工作人员（审核员、市县工会经办、单位经办人）
看到全名，这是中国后台办公的常规做法；其他角色（如协会财务）看到 `张*三`；会员本人看到自己的全名。
按身份证号查询请优先使用 `POST /api/members/search`，以免完整号码出现在网址和访问日志中。

**错误**：所有错误答复都是同一个 JSON 结构 `ErrorOut`（`error` 中文说明、`code` 错误码、
`fields` 按字段的中文说明、`warnings` 待确认的提示），每个接口在文档中列出它可能给出的错误状态码。
400 业务校验不通过（`fields` 按字段给出中文说明），或请求体无法解析；401 未认证；403 角色无权；
404 不存在或不在您的数据范围内；409 仅剩需确认的提示（`warnings`），核对后带
`"confirm_warnings": true` 重新提交，或与已有记录冲突；422 请求格式不符（字段类型、必填、取值），
`error` 中写明是哪个字段。

**类型严格**：请求体中的整数字段只接受 JSON 整数（`5` 或 `5.0`），不接受 `true`/`false`、
`"5"` 或 `5.5`；布尔字段只接受 `true`/`false`；文本字段只接受字符串；日期（请求体或查询参数）
只接受 `YYYY-MM-DD`，`0`、`1700000000` 之类的数字不被当作日期。查询参数和表单字段在网络上本是文本，
其中的整数写作十进制数字（`?limit=50`）。

**幂等重试**：写操作（POST、PUT、PATCH、DELETE）可带请求头 `Idempotency-Key: <键>`
（1–100 个可打印 ASCII 字符，建议每次业务操作生成一个 UUID），网络中断后用同一个键、
同样的请求体重试是安全的：操作只执行一次，重试得到首次的状态码和响应体，并带响应头
`Idempotent-Replayed: true`。键按用户、方法和路径区分；同一个键用于内容不同的请求答复 422
（`idempotency_key_reused`），键的格式不符答复 422（`idempotency_key_invalid`）。
保存的是完成的答复（2xx 与 4xx 业务错误，含 409 待确认：确认后重新提交是新的请求，
须换一个新键）；401、403 和 5xx 不保存，可用同一个键重试。两个同键请求同时到达时，
后到的等待先到的完成，然后得到其答复。键至少保留 24 小时。会员查询（`/members/search`）
和查看完整个人信息（`/reveal`）是读取，忽略此请求头。不带此请求头的请求照常处理。
"""


class SelfHostedSwagger(DocsBase):
    """Swagger UI served from this site: the pages' Content-Security-Policy allows only 'self',
    so the CDN page ninja renders by default would stay blank (and a CDN may be unreachable)."""

    PAGE = """<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{{ title }}</title>
<link rel="stylesheet" href="{{ assets }}swagger-ui.css"></head>
<body data-csrf-token="{{ csrf_token }}" data-api-csrf="true">
<script type="application/json" id="swagger-settings">{{ settings|safe }}</script>
<div id="swagger-ui"></div>
<script src="{{ assets }}swagger-ui-bundle.js"></script>
<script src="{{ assets }}swagger-ui-init.js"></script>
</body></html>"""

    def render_page(self, request: HttpRequest, api: NinjaAPI, **kwargs: Any) -> HttpResponse:
        import json

        template = engines["django"].from_string(self.PAGE)
        settings = {"url": self.get_openapi_url(api, kwargs), "layout": "BaseLayout",
                    "deepLinking": True}
        return HttpResponse(template.render({
            "title": api.title, "assets": request.path.rstrip("/") + "/assets/",
            "settings": json.dumps(settings),
        }, request))


class ChineseJSONRenderer(JSONRenderer):
    """UTF-8 JSON with Chinese as characters, not \\u escapes: readable with curl."""

    json_dumps_params = {"ensure_ascii": False}


api = NinjaAPI(
    title="互助保障管理平台 API",
    version="1",
    description=DESCRIPTION,
    docs=SelfHostedSwagger(),
    docs_url="/docs",
    urls_namespace="api",
    auth=AUTH,
    renderer=ChineseJSONRenderer(),
)

# Idempotency-Key: the key is claimed right before the view and settled once the answer is
# rendered (huzhu/idempotency/hooks.py, ADR 0006).
api.add_decorator(key_claim, mode="operation")
api.add_decorator(key_settle, mode="view")
# A token's areas and read/write: each operation notes its area before authentication.
api.add_decorator(token_rule, mode="view")

_ASSETS = Path(ninja.__file__).parent / "static" / "ninja"
_ASSET_TYPES = {"swagger-ui.css": "text/css", "swagger-ui-bundle.js": "text/javascript",
                "swagger-ui-init.js": "text/javascript"}


@api.get("/docs/assets/{name}", auth=None, include_in_schema=False)
def docs_asset(request: HttpRequest, name: str) -> FileResponse:
    if name not in _ASSET_TYPES:
        raise Http404("文件不存在")
    return FileResponse((_ASSETS / name).open("rb"), content_type=_ASSET_TYPES[name])


def _error(request: HttpRequest, status: int, message: str, code: str,
           fields: dict[str, list[str]] | None = None,
           warnings: dict[str, list[str]] | None = None) -> HttpResponse:
    return api.create_response(request, {
        "error": message, "code": code, "fields": fields or {}, "warnings": warnings or {},
    }, status=status)


@api.exception_handler(DomainError)
def _domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    if isinstance(exc, NeedsConfirmation):
        return _error(request, 409, exc.message, exc.code, exc.field_errors, exc.warnings)
    if isinstance(exc, NotAllowed):
        return _error(request, 403, exc.message, exc.code)
    if isinstance(exc, Conflict):
        return _error(request, 409, exc.message, exc.code, exc.field_errors)
    return _error(request, 400, exc.message, exc.code, exc.field_errors)


@api.exception_handler(KeyRefused)
def _key_refused(request: HttpRequest, exc: KeyRefused) -> HttpResponse:
    return _error(request, exc.status, exc.message, exc.code, {IDEMPOTENCY_HEADER: [exc.message]})


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _error(request, 404, str(exc) or "不存在", "not_found")


@api.exception_handler(PermissionDenied)
def _forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return _error(request, 403, str(exc) or "您的角色无权执行此操作", "not_allowed")


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = _error(request, 401, "未认证：请提供有效的接口令牌（Authorization: Bearer ...）"
                      "或先登录", "unauthenticated")
    response["WWW-Authenticate"] = 'Bearer realm="huzhu"'
    return response


_HTTP_CODES = {400: "invalid", 403: "not_allowed", 404: "not_found", 405: "method_not_allowed",
               413: "too_large", 429: "throttled"}


_UNPARSABLE = "Cannot parse request body"  # ninja's message for a body it cannot read


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if exc.status_code == 400 and exc.message.startswith(_UNPARSABLE):
        return _error(request, 400, "请求体无法解析：应为 JSON，Content-Type 为 application/json",
                      "unparsable")
    return _error(request, exc.status_code, exc.message,
                  _HTTP_CODES.get(exc.status_code, "error"))


@api.exception_handler(MultiPartParserError)
def _unparsable_form(request: HttpRequest, exc: MultiPartParserError) -> HttpResponse:
    """A multipart body Django cannot read (no boundary, cut short): the client's fault."""
    return _error(request, 400, "请求体无法解析：应为 multipart/form-data，并带 boundary",
                  "unparsable")


@api.exception_handler(SuspiciousOperation)
def _refused_body(request: HttpRequest, exc: SuspiciousOperation) -> HttpResponse:
    """Django's limits on a request (size, number of fields or files)."""
    if isinstance(exc, RequestDataTooBig):
        return _error(request, 413, "请求体过大", "too_large")
    return _error(request, 400, "请求被拒绝：字段或文件过多，或格式可疑", "invalid")


_PARAM_SOURCES = {"body", "query", "path", "header", "form", "file", "cookie"}
_BODY_PARAMS = {"payload"}

_MESSAGES: dict[str, str] = {
    "missing": "必填",
    "string_type": "应为文本（字符串）",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "int_from_float": "应为整数",
    "bool_type": "应为 true 或 false",
    "bool_parsing": "应为 true 或 false",
    "dict_type": "应为对象",
    "list_type": "应为列表",
    "model_attributes_type": "应为对象",
    "date_type": "应为日期（YYYY-MM-DD）",
    "date_parsing": "应为日期（YYYY-MM-DD）",
    "date_from_datetime_parsing": "应为日期（YYYY-MM-DD）",
    "extra_forbidden": "不认识的字段",
    "json_invalid": "不是合法的 JSON",
    "none_required": "应为空",
}


def _validation_message(error: dict[str, Any]) -> str:
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    if kind in _MESSAGES:
        return _MESSAGES[kind]
    if kind in {"literal_error", "enum"}:
        return f"取值无效，可选：{ctx.get('expected', '')}".replace("'", "")
    if kind == "string_too_short":
        return "不能为空" if ctx.get("min_length") == 1 else f"至少 {ctx.get('min_length')} 个字符"
    if kind == "string_too_long":
        return f"不能超过 {ctx.get('max_length')} 个字符"
    if kind in {"greater_than_equal", "greater_than"}:
        return f"不能小于 {ctx.get('ge', ctx.get('gt'))}"
    if kind in {"less_than_equal", "less_than"}:
        return f"不能大于 {ctx.get('le', ctx.get('lt'))}"
    return "格式不符"


def _field_name(loc: Any) -> str:
    parts = [str(p) for p in loc]
    while parts and (parts[0] in _PARAM_SOURCES or parts[0] in _BODY_PARAMS):
        parts.pop(0)
    return ".".join(parts) or "__all__"


@api.exception_handler(ValidationError)
def _invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    fields: dict[str, list[str]] = {}
    for error in exc.errors:
        fields.setdefault(_field_name(error.get("loc", ())), []).append(
            _validation_message(error))
    summary = "；".join(f"{'请求体' if name == '__all__' else name}：{'、'.join(msgs)}"
                       for name, msgs in fields.items())
    return _error(request, 422, f"请求格式不符：{summary}", "validation", fields)


@api.exception_handler(Exception)
def _server_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    """Anything unforeseen: logged with its request number (the exception's type and place,
    never the request's data), answered with the documented error body, never a page."""
    request_id = current_request_meta().get("request_id", "")
    _log.error("接口内部错误 %s（请求编号 %s）\n%s", type(exc).__name__, request_id,
               "".join(traceback.format_tb(exc.__traceback__)))
    return _error(request, 500, f"服务器内部错误，请稍后重试；如仍出现请联系管理员（请求编号 {request_id}）",
                  "server_error")


from huzhu.accounts.api import router as accounts_router  # noqa: E402
from huzhu.claims.api import router as claims_router  # noqa: E402
from huzhu.enrollment.api import router as enrollment_router  # noqa: E402
from huzhu.members.api import router as members_router  # noqa: E402
from huzhu.organisations.api import router as organisations_router  # noqa: E402
from huzhu.products.api import router as scheme_router  # noqa: E402

api.add_router("", accounts_router)
api.add_router("", organisations_router)
api.add_router("/members", members_router)
api.add_router("/enrollment", enrollment_router)
api.add_router("/claims", claims_router)
api.add_router("/scheme", scheme_router)
