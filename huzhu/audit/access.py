"""Data scope for the event log: which events an audit (or security) administrator may read.

The rule (docs/architecture.md, "Audit scope"):

* an event with an ``org_path`` is visible when that path lies in the viewer's subtree
  (``org_path`` starts with the viewer's organisation's path, ADR 0001);
* an event with an empty ``org_path`` (system-wide: logins, logouts, exports, tokens) is placed
  by the person it is about: visible when its actor's organisation is in the subtree, or, for
  the login log's actions, when the user the event is about (``accounts.user`` object) is —
  a failed login has no actor, only a username and the user's id;
* an event placed by nothing (an unknown username's failed login, a command-line run) is seen
  only at the root of the tree (the province).

A user's organisation is their staff organisation, an agent's unit's organisation or a member
user's member's organisation. Anything outside the scope answers 404, like an unknown id.
"""

from __future__ import annotations

from typing import Any

from django.db.models import CharField, Q, QuerySet
from django.db.models.functions import Cast
from django.http import Http404

from huzhu.accounts.roles import Perm
from huzhu.organisations.access import staff_path

from .models import Action, Event

LOGIN_ACTIONS: tuple[str, ...] = (Action.LOGIN_SUCCEEDED, Action.LOGIN_FAILED,
                                  Action.LOGIN_LOCKED, Action.LOGOUT, Action.OTP_ENROLLED,
                                  Action.OTP_VERIFIED, Action.OTP_FAILED,
                                  Action.OTP_RECOVERY_USED, Action.OTP_RESET,
                                  Action.PASSWORD_CHANGED)
USER_TYPE = "accounts.user"


def users_in_subtree(prefix: str) -> QuerySet[Any]:
    """Users whose organisation (staff), unit (agent) or member (member user) lies under
    ``prefix``."""
    from huzhu.accounts.models import User

    return User.objects.filter(Q(organisation__path__startswith=prefix)
                               | Q(unit__org_path__startswith=prefix)
                               | Q(member__org_path__startswith=prefix))


def event_scope_q(user: Any) -> Q | None:
    """The condition an event meets to be visible to ``user``; ``Q()`` (everything) at the root
    of the tree, ``None`` (nothing) for a user with no place in the tree."""
    prefix = staff_path(user)
    if prefix is None:
        return None
    if user.organisation.parent_id is None:
        return Q()
    users = users_in_subtree(prefix)
    user_ids = users.values("pk")
    user_keys = users.annotate(key=Cast("pk", CharField())).values("key")
    return (Q(org_path__startswith=prefix)
            | Q(org_path="", actor_id__in=user_ids)
            | Q(org_path="", action__in=LOGIN_ACTIONS, object_type=USER_TYPE,
                object_id__in=user_keys))


def events_visible_to(user: Any, *, logins_only: bool = False) -> QuerySet[Event]:
    """Events ``user`` may read: all of their scope with ``VIEW_AUDIT``, only the login log's
    actions with ``VIEW_LOGIN_LOG`` (or when ``logins_only``)."""
    if not user.is_authenticated:
        return Event.objects.none()
    can_all = user.can(Perm.VIEW_AUDIT)
    if not can_all and not user.can(Perm.VIEW_LOGIN_LOG):
        return Event.objects.none()
    scope = event_scope_q(user)
    if scope is None:
        return Event.objects.none()
    qs = Event.objects.filter(scope)
    if logins_only or not can_all:
        qs = qs.filter(action__in=LOGIN_ACTIONS)
    return qs


def event_get_for_user(user: Any, seq: int) -> Event:
    event = events_visible_to(user).filter(seq=seq).first()
    if event is None:
        raise Http404("事件不存在")
    return event
