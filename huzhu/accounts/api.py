"""API plumbing shared by every router: who is calling, the error body, paging; and ``/api/me``.

Integration clients send ``Authorization: Bearer hz_...`` (a token issued on the token page or
by ``huzhu token create``); the browser may call the API with its session, and then unsafe
methods need the CSRF token. A token acts with its user's role, narrowed to the token's region
and areas (huzhu/accounts/tokens.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from ninja import Field, Router, Schema
from ninja.errors import HttpError
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from huzhu.errors import DomainError, NotAllowed

from .roles import Perm, Role
from .tokens import TooManyBadTokens, scope_check, token_authenticate

T = TypeVar("T")


class BearerToken(HttpBearer):
    """``Authorization: Bearer hz_...``: an API token, checked by its SHA-256 digest."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        from .services import client_address

        try:
            user = token_authenticate(token.strip(), client_address(request))
        except TooManyBadTokens:
            raise HttpError(429, "无效令牌过多，请稍后再试") from None
        if user is not None and user.api_token is not None:
            scope_check(user.api_token, request)
            request.user = user
        return user


class BrowserSession(APIKeyCookie):
    """The logged-in browser session; unsafe methods must carry the CSRF token.

    Unlike ninja's ``django_auth``, a request without a session cookie is simply not
    authenticated (401), rather than failing the CSRF check (403) before it is known whose it is.
    """

    param_name = settings.SESSION_COOKIE_NAME

    def _get_key(self, request: HttpRequest) -> str | None:
        return request.COOKIES.get(self.param_name)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        if not key or not request.user.is_authenticated:
            return None
        if check_csrf(request) is not None:
            raise HttpError(403, "CSRF 校验失败：请刷新页面后重试")
        return request.user


AUTH = [BearerToken(), BrowserSession()]


class ErrorOut(Schema):
    error: str = Field(..., description="给人看的中文说明")
    code: str = Field(..., description="稳定的机器可读错误码")
    fields: dict[str, list[str]] = Field(
        default_factory=dict, description="按字段的中文错误说明"
    )
    warnings: dict[str, list[str]] = Field(
        default_factory=dict,
        description="仅 409：需要确认的提示；核对无误后带上 `confirm_warnings: true` 重新提交",
    )


def error_responses(*codes: int) -> dict[int, type[ErrorOut]]:
    """The error statuses an endpoint documents, all with the one error body."""
    return dict.fromkeys((401, *codes), ErrorOut)


class StrictSchema(Schema):
    """An input body: unknown fields are refused, so a misspelt field is not silently ignored."""

    model_config = {"extra": "forbid"}


class PageMeta(Schema):
    count: int = Field(..., description="符合条件的总行数")
    limit: int
    offset: int


LIMIT_MAX = 500


def page_of(
    queryset: QuerySet[Any], limit: int, offset: int, row: Callable[[Any], T]
) -> dict[str, Any]:
    """One COUNT and one page query, whatever the page size."""
    limit = max(1, min(limit, LIMIT_MAX))
    offset = max(0, offset)
    count = queryset.count()
    rows = [row(obj) for obj in queryset[offset:offset + limit]] if offset < count else []
    return {"count": count, "limit": limit, "offset": offset, "items": rows}


def require(user: Any, perm: Perm, message: str) -> None:
    """Refuse (403) a user whose role lacks the permission."""
    if not user.can(perm):
        raise NotAllowed(message)


def require_member_writer(user: Any) -> None:
    if not user.can(Perm.MANAGE_MEMBERS) or user.role == Role.MEMBER:
        raise NotAllowed("您的角色无权新建或修改会员")


def referenced(field: str, label: str, lookup: Callable[[], tuple[T, bool]]) -> T:
    """Resolve an id given in a request body through an access helper.

    An id the user may not see is reported like a missing one, on the field that named it (400),
    so the body's references never tell an outsider what exists.
    """
    try:
        return lookup()[0]
    except Http404:
        message = f"{label}不存在或不在您的管理范围内"
        raise DomainError(message, field_errors={field: [message]}, code="unknown_reference"
                          ) from None


router = Router(tags=["账号"])


class OrgRef(Schema):
    id: int
    name: str


class MeOut(Schema):
    username: str
    display_name: str
    role: str
    role_label: str
    organisation: OrgRef | None
    unit: OrgRef | None
    member_id: int | None
    permissions: list[str]


@router.get("/me", response={200: MeOut, **error_responses()}, summary="当前身份与权限")
def me(request: HttpRequest) -> dict[str, Any]:
    """Return who the token or session acts as, and what that role may do."""
    from .roles import ROLE_PERMISSIONS

    user: Any = request.user
    org, unit = user.organisation, user.unit
    return {
        "username": user.username, "display_name": user.display_name, "role": user.role,
        "role_label": user.get_role_display(),
        "organisation": {"id": org.pk, "name": org.name} if org else None,
        "unit": {"id": unit.pk, "name": unit.name} if unit else None,
        "member_id": user.member_id,
        "permissions": sorted(ROLE_PERMISSIONS.get(user.role, frozenset())),
    }
