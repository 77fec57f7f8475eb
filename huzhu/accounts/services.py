"""Login with lock-out, and API tokens."""

from __future__ import annotations

import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from huzhu.actors import Actor
from huzhu.audit.models import Action, Event
from huzhu.audit.services import event_record
from huzhu.errors import DomainError, NotAllowed
from huzhu.web.request_context import current_request_meta

from .models import ApiToken, User


class LoginFailed(DomainError):
    code = "login_failed"


# The one answer to a wrong password, an unknown username, a locked account and a refused
# client address, so that no answer tells whether a username exists (a locked account used to
# answer differently, which told an attacker the account was real).
WRONG_CREDENTIALS = "用户名或密码错误（连续输错多次的账号会暂时锁定，请稍后再试）"
LOCKED = WRONG_CREDENTIALS


def client_address(request: Any) -> str:
    """The client's address as the request-id middleware worked it out (or the TCP peer)."""
    meta = current_request_meta()
    if meta.get("ip"):
        return meta["ip"]
    return getattr(request, "META", {}).get("REMOTE_ADDR", "") if request is not None else ""


def login_check(*, request: Any, username: str, password: str) -> User:
    """Authenticate, enforcing both lock-outs; record every attempt.

    Every way into the platform with a password comes here (the pages' login; the Django admin
    has no login of its own). A client address with too many recent failures is refused before
    the username is even looked at, with the same answer as a wrong password.
    """
    now = timezone.now()
    address = client_address(request)
    user = User.objects.filter(username=username).first()
    if address and _address_failures(address, now) >= settings.ADDRESS_LOCKOUT_FAILURES:
        event_record(action=Action.LOGIN_FAILED, actor_label=username[:150],
                     object_type="accounts.user", object_id=str(user.pk) if user else "",
                     outcome="address_locked")
        raise LoginFailed(WRONG_CREDENTIALS)
    if user is not None and user.locked_until and user.locked_until > now:
        event_record(action=Action.LOGIN_FAILED, actor_label=username[:150],
                     object_type="accounts.user", object_id=str(user.pk), outcome="locked")
        _lock_address_if_due(address, username, now)
        raise LoginFailed(LOCKED)
    from .hashers import is_first_password

    # A first password the platform made (hashers.py) is re-hashed by the login itself; the
    # holder must choose his own before anything else.
    first = user is not None and is_first_password(user.password)
    authed = authenticate(request, username=username, password=password)
    if authed is None:
        record_failure(username, user, now)
        _lock_address_if_due(address, username, now)
        raise LoginFailed(WRONG_CREDENTIALS)
    from .second_factor import must_verify

    if not must_verify(authed):
        # With a second factor still to show, the count is cleared only once the code is right,
        # so that the right password between wrong codes does not restart the count.
        User.objects.filter(pk=authed.pk).update(failed_logins=0, locked_until=None)
    event_record(action=Action.LOGIN_SUCCEEDED, actor=authed, object_type="accounts.user",
                 object_id=str(authed.pk))
    authed.first_password = first
    return authed


# A wrong password and a wrong second-factor code count alike, per user and per address.
FAILURE_ACTIONS = (Action.LOGIN_FAILED, Action.OTP_FAILED)


def _address_failures(address: str, now: datetime.datetime) -> int:
    """Failed logins from the address within the window; refusals of the address itself do not
    count, so the address is let in again once its failures are older than the window."""
    since = now - datetime.timedelta(seconds=settings.ADDRESS_LOCKOUT_SECONDS)
    return (Event.objects.filter(action__in=FAILURE_ACTIONS, ip=address, created_at__gt=since)
            .exclude(outcome="address_locked").count())


def _lock_address_if_due(address: str, username: str, now: datetime.datetime) -> None:
    """Record ``auth.locked`` for the address when this failure brings it to the limit."""
    if not address:
        return
    failures = _address_failures(address, now)
    if failures == settings.ADDRESS_LOCKOUT_FAILURES:
        event_record(action=Action.LOGIN_LOCKED, actor_label=username[:150],
                     object_type="client_address", object_id=address[:64],
                     after={"failures": failures,
                            "window_seconds": settings.ADDRESS_LOCKOUT_SECONDS})


@transaction.atomic
def record_failure(username: str, user: User | None, now: datetime.datetime, *,
                   action: str = Action.LOGIN_FAILED, outcome: str = "failed") -> bool:
    """Record a wrong password (or second-factor code); lock the account at the limit and
    return True when this failure locked it."""
    event_record(action=action, actor_label=username[:150],
                 object_type="accounts.user", object_id=str(user.pk) if user else "",
                 outcome=outcome)
    if action != Action.LOGIN_FAILED:  # the password's path checks the address itself
        _lock_address_if_due(current_request_meta().get("ip", ""), username, now)
    if user is None:
        return False
    User.objects.filter(pk=user.pk).update(failed_logins=F("failed_logins") + 1)
    user.refresh_from_db(fields=["failed_logins"])
    if user.failed_logins >= settings.LOCKOUT_FAILURES:
        until = now + datetime.timedelta(seconds=settings.LOCKOUT_SECONDS)
        User.objects.filter(pk=user.pk).update(locked_until=until, failed_logins=0)
        event_record(action=Action.LOGIN_LOCKED, actor_label=username[:150],
                     object_type="accounts.user", object_id=str(user.pk),
                     after={"locked_until": until.isoformat()})
        return True
    return False


def password_expired(user: User) -> bool:
    """Whether the password is older than HUZHU_PASSWORD_MAX_AGE_DAYS (0: never)."""
    days = settings.PASSWORD_MAX_AGE_DAYS
    if days <= 0:
        return False
    return user.password_changed_at <= timezone.now() - datetime.timedelta(days=days)


def password_change(*, user: User, old: str, new: str) -> None:
    """Change one's own password: the old one must be right (a wrong one counts toward the
    lock-out), the new one must pass the password rules and differ from the old."""
    from django.contrib.auth import password_validation
    from django.core.exceptions import ValidationError

    if not user.check_password(old):
        record_failure(user.username, user, timezone.now(), outcome="password_change")
        raise DomainError("原密码不正确", field_errors={"old_password": ["原密码不正确"]})
    if new == old:
        raise DomainError("新密码不能与原密码相同",
                          field_errors={"new_password1": ["新密码不能与原密码相同"]})
    try:
        password_validation.validate_password(new, user)
    except ValidationError as exc:
        raise DomainError("新密码不符合要求", field_errors={"new_password1": list(exc.messages)}
                          ) from exc
    user.set_password(new)
    user.save(update_fields=["password", "password_changed_at"])
    event_record(action=Action.PASSWORD_CHANGED, actor=user, object_type="accounts.user",
                 object_id=str(user.pk))


def token_create(*, actor: Actor, user: User, name: str, scopes: dict[str, str] | None = None,
                 region: Any = None, days: int = 90) -> tuple[ApiToken, str]:
    """Issue an API token (``tokens.token_issue``); by default in every area the owner's role
    has a use for, with write access, over the owner's own scope, for ``days`` days."""
    from .tokens import NO_TOKEN_ROLES, WRITE, areas_for, place_of, token_issue

    if user.role in NO_TOKEN_ROLES:
        raise NotAllowed("会员账号不能使用接口令牌")
    if scopes is None:
        scopes = dict.fromkeys(areas_for(user), WRITE)
    region = region or place_of(user)
    if region is None:
        raise DomainError("该用户没有所属组织或单位，不能为其生成令牌")
    return token_issue(actor=actor, user=user, name=name, scopes=scopes, region=region,
                       expires_at=timezone.now() + datetime.timedelta(days=days))
