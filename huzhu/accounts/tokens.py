"""API tokens: what a token may reach, issuing and revoking them, and refusing bad ones
(docs/adr/0011).

A token has an owner, a scope (read or write in each area), a region (an organisation of the
tree), an expiry (at most ``MAX_DAYS`` ahead) and may be revoked. It acts as its owner, narrowed
to its region: the owner's role still decides what each call may do, the region and the areas
only take away. Areas are the API's routers; an operation of a router no area names is refused
to every token, so a new router is closed until it is given an area here.

Issued to staff, agents (their unit's own systems push rosters and claims) and the bureau's
interface accounts; never to member accounts (a member uses the API through his own login
session) and never by anyone to himself (a token skips the login's second factor).
"""

from __future__ import annotations

import datetime
import inspect
import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from huzhu.actors import Actor
from huzhu.audit.models import Action, Event
from huzhu.audit.services import event_record
from huzhu.errors import DomainError, NotAllowed
from huzhu.organisations.models import Organisation

from .models import ApiToken, User
from .roles import Perm, Role, role_has

MAX_DAYS = 365
READ, WRITE = "read", "write"
LEVEL_LABELS = {READ: "只读", WRITE: "读写"}

# Area → (Chinese name, the permissions of which the owner's role must hold one).
AREAS: dict[str, tuple[str, frozenset[Perm]]] = {
    "organisations": ("组织与单位", frozenset({Perm.VIEW_ORGS, Perm.VIEW_UNITS})),
    "members": ("会员", frozenset({Perm.VIEW_MEMBERS})),
    "enrollment": ("参保登记", frozenset({Perm.MANAGE_MEMBERS})),
    "claims": ("理赔", frozenset({Perm.FILE_CLAIMS, Perm.REVIEW_CLAIMS})),
    "settlements": ("医保结算数据", frozenset({Perm.RECEIVE_SETTLEMENTS})),
    "payouts": ("代付", frozenset({Perm.MANAGE_PAYOUTS})),
    "ledger": ("账务", frozenset({Perm.VIEW_LEDGER})),
    "scheme": ("保障期与参保任务", frozenset({Perm.MANAGE_SCHEME})),
}
# Each router's area, by the module that defines it; single operations may differ.
AREA_OF_MODULE = {
    "huzhu.organisations.api": "organisations",
    "huzhu.members.api": "members",
    "huzhu.enrollment.api": "enrollment",
    "huzhu.claims.api": "claims",
    "huzhu.settlements.api": "settlements",
    "huzhu.payouts.api": "payouts",
    "huzhu.ledger.api": "ledger",
    "huzhu.products.api": "scheme",
}
AREA_OF_VIEW = {"huzhu.claims.api.settlement_push_api": "settlements"}
# Operations open to every token: who am I.
OPEN_MODULES = frozenset({"huzhu.accounts.api"})
OPEN = "*"

NO_TOKEN_ROLES = frozenset({Role.MEMBER})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
REFUSED_OUTCOMES = ("failed", "expired", "revoked")  # what counts towards the address limit


def area_label(area: str) -> str:
    return AREAS[area][0] if area in AREAS else area


def areas_for(user: Any) -> list[str]:
    """The areas a token of ``user`` may be given: those his role has a use for."""
    return [a for a, (_label, perms) in AREAS.items()
            if any(role_has(user.role, p) for p in perms)]


def place_of(user: Any) -> Organisation | None:
    """The organisation whose subtree is the user's scope (an agent: his unit's union)."""
    if user.organisation_id:
        return user.organisation
    if user.unit_id:
        return user.unit.organisation
    return None


# Which area an operation is in, and whether it only reads.

def _area_of(view_func: Callable[..., Any]) -> str | None:
    target = inspect.unwrap(view_func)
    name = f"{target.__module__}.{target.__qualname__}"
    if name in AREA_OF_VIEW:
        return AREA_OF_VIEW[name]
    if target.__module__ in OPEN_MODULES:
        return OPEN
    return AREA_OF_MODULE.get(target.__module__)


RULE = "huzhu_token_rule"


def token_rule(run: Callable[..., Any]) -> Callable[..., Any]:
    """Ninja ``view`` hook (huzhu/api.py): note the operation's area and whether it only reads
    (GET, or a POST marked ``idempotency_exempt``: a search, a reveal) before authentication,
    so ``BearerToken`` refuses an out-of-scope token before the body is even parsed."""
    operation = getattr(inspect.unwrap(run), "__self__", None)
    view_func = getattr(operation, "view_func", None)
    area = _area_of(view_func) if view_func is not None else None
    reads = bool(getattr(view_func, "idempotency_exempt", False))

    @wraps(run)
    def noted(request: Any, *args: Any, **kwargs: Any) -> Any:
        setattr(request, RULE, (area, reads or request.method in SAFE_METHODS))
        return run(request, *args, **kwargs)

    return noted


class TokenOutOfScope(NotAllowed):
    code = "token_scope"


def scope_check(token: ApiToken, request: Any) -> None:
    """Refuse (403) a call outside the token's areas, or a write with a read-only token."""
    area, reads = getattr(request, RULE, (None, request.method in SAFE_METHODS))
    if area == OPEN:
        return
    level = (token.scopes or {}).get(area or "")
    if level is None:
        why = f"该令牌无权访问{area_label(area)}接口" if area else "该令牌无权访问此接口"
    elif not reads and level != WRITE:
        why = f"该令牌对{area_label(area or '')}接口只读"
    else:
        return
    event_record(action=Action.TOKEN_REFUSED, actor=token.user, obj=token, outcome="denied",
                 org_path=token.region.path if token.region is not None else "",
                 after={"method": request.method, "path": request.path[:200],
                        "reason": why})
    raise TokenOutOfScope(why)


# Authenticating, with bad tokens slowed down per client address.

class TooManyBadTokens(Exception):
    """The client address sent too many bad tokens lately (429)."""


def _address_refusals(address: str, now: datetime.datetime) -> int:
    since = now - datetime.timedelta(seconds=settings.ADDRESS_LOCKOUT_SECONDS)
    return Event.objects.filter(action=Action.TOKEN_REFUSED, ip=address, created_at__gt=since,
                                outcome__in=REFUSED_OUTCOMES).count()


def _region_inside(token: ApiToken) -> bool:
    """Whether the token's region still lies in its owner's scope (he may have moved)."""
    user, region = token.user, token.region
    if region is None:
        return True
    if user.unit is not None and not user.organisation_id:
        return user.unit.org_path.startswith(region.path)
    place = place_of(user)
    return place is not None and region.path.startswith(place.path)


def token_authenticate(plain: str, address: str = "") -> User | None:
    """The owner, narrowed to the token's region, of a valid token; ``None`` (401) for an
    unknown, expired or revoked token or an inactive owner; every refusal recorded, and an
    address with too many recent refusals refused outright (``TooManyBadTokens``)."""
    now = timezone.now()
    token = (ApiToken.objects.select_related("user__organisation", "user__unit", "region")
             .filter(digest=ApiToken.digest_of(plain)).first())
    outcome = ("failed" if token is None or not token.user.is_active
               else "revoked" if token.revoked_at is not None
               else "expired" if token.expires_at is None or token.expires_at <= now
               else "out_of_scope" if not _region_inside(token)
               else "")
    if outcome:
        # Counted only on a refusal: a valid token costs no query more.
        if address and _address_refusals(address, now) >= settings.ADDRESS_LOCKOUT_FAILURES:
            event_record(action=Action.TOKEN_REFUSED, object_type="client_address",
                         object_id=address[:64], outcome="address_locked",
                         after={"prefix": plain[:8]})
            raise TooManyBadTokens
        event_record(action=Action.TOKEN_REFUSED, actor=token.user if token else None,
                     obj=token, object_type="accounts.apitoken", outcome=outcome,
                     org_path=token.region.path if token and token.region else "",
                     after={"prefix": plain[:8]})
        return None
    assert token is not None
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    user = token.user
    user.api_token = token
    if token.region is not None and user.organisation_id and \
            token.region_id != user.organisation_id:
        # Act as the owner placed at the token's region (inside his own subtree, checked
        # when the token was issued): every scope rule reads the user's organisation.
        user.organisation = token.region
        user.token_narrowed = True
    return user


# Issuing and revoking.

def _check_issue(actor: Actor, user: User, scopes: dict[str, str], region: Organisation,
                 expires_at: datetime.datetime) -> None:
    if user.role in NO_TOKEN_ROLES:
        raise NotAllowed("会员账号不能使用接口令牌")
    if not user.is_active:
        raise DomainError("该用户已停用，不能为其生成令牌")
    if actor is not None:
        if not actor.can(Perm.MANAGE_TOKENS):
            raise NotAllowed("您的角色无权管理接口令牌")
        if actor.pk == user.pk:
            raise NotAllowed("不能为自己签发接口令牌")
        prefix = actor.organisation.path if actor.organisation is not None else None
        if prefix is None or not region.path.startswith(prefix):
            raise NotAllowed("该数据范围不在您的管理范围内")
    if not scopes:
        raise DomainError("请至少选择一个接口范围", field_errors={"scopes": ["请至少选择一项"]})
    allowed = set(areas_for(user))
    for area, level in scopes.items():
        if area not in allowed or level not in (READ, WRITE):
            raise DomainError(f"{user}的角色不能使用{area_label(area)}接口",
                              field_errors={"scopes": [f"{area_label(area)}：该用户的角色用不上"]})
    place = place_of(user)
    inside = (place is not None and region.path.startswith(place.path)) or (
        user.unit is not None and user.unit.org_path.startswith(region.path))
    if not inside:
        raise DomainError("数据范围须在该用户本人的范围之内",
                          field_errors={"region": ["须在该用户本人的范围之内"]})
    now = timezone.now()
    if not now < expires_at <= now + datetime.timedelta(days=MAX_DAYS):
        raise DomainError(f"有效期须在 1–{MAX_DAYS} 天之间",
                          field_errors={"expires_at": [f"有效期须在 1–{MAX_DAYS} 天之间"]})


def _token_view(token: ApiToken) -> dict[str, Any]:
    return {"user": token.user.username, "name": token.name, "prefix": token.prefix,
            "scopes": token.scopes, "region": token.region_id,
            "expires_at": token.expires_at.isoformat() if token.expires_at else None}


@transaction.atomic
def token_issue(*, actor: Actor, user: User, name: str, scopes: dict[str, str],
                region: Organisation, expires_at: datetime.datetime) -> tuple[ApiToken, str]:
    """Issue a token; the plain token is returned once and never stored."""
    name = name.strip()[:100]
    if not name:
        raise DomainError("请填写用途", field_errors={"name": ["请填写用途"]})
    _check_issue(actor, user, scopes, region, expires_at)
    plain = "hz_" + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name, prefix=plain[:8], digest=ApiToken.digest_of(plain),
        scopes=dict(scopes), region=region, expires_at=expires_at, created_by=actor)
    event_record(action=Action.TOKEN_CREATED, actor=actor, obj=token, org_path=region.path,
                 actor_label="" if actor else "命令行", after=_token_view(token))
    return token, plain


def tokens_visible_to(actor: Any) -> Any:
    """Tokens whose region lies in the actor's subtree (token managers only)."""
    if not actor.is_authenticated or not actor.can(Perm.MANAGE_TOKENS) \
            or actor.organisation is None:
        return ApiToken.objects.none()
    return (ApiToken.objects.filter(region__path__startswith=actor.organisation.path)
            .select_related("user", "region", "created_by"))


@transaction.atomic
def token_revoke(*, actor: Actor, token: ApiToken) -> ApiToken:
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is not None:
        return token
    if actor is not None and not tokens_visible_to(actor).filter(pk=token.pk).exists():
        raise NotAllowed("您无权吊销该令牌")
    token.revoked_at, token.revoked_by = timezone.now(), actor
    token.save(update_fields=["revoked_at", "revoked_by"])
    event_record(action=Action.TOKEN_REVOKED, actor=actor, obj=token,
                 org_path=token.region.path if token.region is not None else "",
                 actor_label="" if actor else "命令行",
                 after={"prefix": token.prefix, "revoked_at": token.revoked_at.isoformat()})
    return token
