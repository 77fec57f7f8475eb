"""API plumbing shared by every router: who is calling, the error body, paging; and ``/api/me``.

Integration clients send ``Authorization: Bearer hz_...`` (a token issued on the token page or
by ``huzhu token create``); the browser may call the API with its session, and then unsafe
methods need the CSRF token. A token acts with its user's role, narrowed to the token's region
and areas (huzhu/accounts/tokens.py).
"""

from __future__ import annotations

import datetime
import functools
import re
import types
import typing
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from django.conf import settings
from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from ninja import Field, Router, Schema
from ninja.errors import HttpError
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf
from pydantic import BeforeValidator, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

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


# Every operation documents these: no credentials (401), a role or CSRF refusal (403), a request
# whose shape is wrong (422). The others are named by the operation (tests/api/test_contract.py).
BASE_ERRORS = (401, 403, 422)


def error_responses(*codes: int) -> dict[int, type[ErrorOut]]:
    """The error statuses an operation documents, all with the one error body."""
    return dict.fromkeys(sorted({*BASE_ERRORS, *codes}), ErrorOut)


class StrictSchema(Schema):
    """An input body: types are strict and unknown fields are refused.

    ``strict``: a JSON ``false`` is not the integer 0, ``"5"`` is not 5, ``1`` is not ``true``
    and ``5`` is not a string; a misspelt field is not silently ignored (``extra``). Dates are
    the one JSON type without a literal, so a date field is declared :data:`Day`.
    """

    model_config = {"extra": "forbid", "strict": True}

    @field_validator("*", mode="before")
    @classmethod
    def _integral_number(cls, value: Any, info: ValidationInfo) -> Any:
        """JSON has one number type, and JSON Schema counts ``5.0`` as the integer 5: so do we.
        ``5.5``, ``"5"`` and ``false`` stay refused."""
        if (type(value) is float and value.is_integer()
                and info.field_name in _integer_fields(cls)):
            return int(value)
        return value


@functools.cache
def _integer_fields(schema: type[Schema]) -> frozenset[str]:
    """The fields of a body declared ``int`` or ``int | None``."""
    names = set()
    for name, field in schema.model_fields.items():
        annotation = field.annotation
        options = (typing.get_args(annotation)
                   if typing.get_origin(annotation) in {typing.Union, types.UnionType}
                   else (annotation,))
        if int in options:
            names.add(name)
    return frozenset(names)


_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso_day(value: Any) -> datetime.date:
    """Only ``YYYY-MM-DD`` (or a date object) is a date: pydantic would otherwise read ``0``,
    ``"0"`` or ``86400`` as a Unix time (1970-01-01, 1970-01-02)."""
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        return value
    if isinstance(value, str) and _ISO_DAY.fullmatch(value):
        try:
            return datetime.date.fromisoformat(value)
        except ValueError:
            raise PydanticCustomError("date_parsing", "not a calendar date") from None
    raise PydanticCustomError("date_type", "a date must be written YYYY-MM-DD")


Day = Annotated[datetime.date, BeforeValidator(_iso_day)]
"""A date in a request (body, query or form): ``YYYY-MM-DD`` and nothing else."""


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
