"""Login with lock-out, and API tokens."""

from __future__ import annotations

import datetime
import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from huzhu.actors import Actor
from huzhu.audit.models import Action
from huzhu.audit.services import event_record
from huzhu.errors import DomainError

from .models import ApiToken, User


class LoginFailed(DomainError):
    code = "login_failed"


def login_check(*, request: Any, username: str, password: str) -> User:
    """Authenticate, enforcing the lock-out after repeated failures; record every attempt."""
    user = User.objects.filter(username=username).first()
    now = timezone.now()
    if user is not None and user.locked_until and user.locked_until > now:
        event_record(action=Action.LOGIN_FAILED, actor_label=username, object_type="accounts.user",
                     object_id=str(user.pk), outcome="locked")
        raise LoginFailed("登录失败次数过多，账号已暂时锁定，请稍后再试")
    authed = authenticate(request, username=username, password=password)
    if authed is None:
        _record_failure(username, user, now)
        raise LoginFailed("用户名或密码错误")
    User.objects.filter(pk=authed.pk).update(failed_logins=0, locked_until=None)
    event_record(action=Action.LOGIN_SUCCEEDED, actor=authed, object_type="accounts.user",
                 object_id=str(authed.pk))
    return authed


@transaction.atomic
def _record_failure(username: str, user: User | None, now: datetime.datetime) -> None:
    event_record(action=Action.LOGIN_FAILED, actor_label=username[:150],
                 object_type="accounts.user", object_id=str(user.pk) if user else "",
                 outcome="failed")
    if user is None:
        return
    User.objects.filter(pk=user.pk).update(failed_logins=F("failed_logins") + 1)
    user.refresh_from_db(fields=["failed_logins"])
    if user.failed_logins >= settings.LOCKOUT_FAILURES:
        until = now + datetime.timedelta(seconds=settings.LOCKOUT_SECONDS)
        User.objects.filter(pk=user.pk).update(locked_until=until, failed_logins=0)
        event_record(action=Action.LOGIN_LOCKED, actor_label=username[:150],
                     object_type="accounts.user", object_id=str(user.pk),
                     after={"locked_until": until.isoformat()})


def token_create(*, actor: Actor, user: User, name: str) -> tuple[ApiToken, str]:
    """Create an API token; the plain token is returned once and never stored."""
    plain = "hz_" + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name, prefix=plain[:8], digest=ApiToken.digest_of(plain)
    )
    event_record(action=Action.TOKEN_CREATED, actor=actor, obj=token,
                 after={"user": user.username, "name": name})
    return token, plain


def token_authenticate(plain: str) -> User | None:
    token = (
        ApiToken.objects.select_related("user__organisation")
        .filter(digest=ApiToken.digest_of(plain), revoked_at__isnull=True)
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    return token.user
