"""Every change of an account or a business setting goes into the event chain, with before and
after, whichever page, API, admin screen or command made it (TRUST S-17, docs/adr/0011).

Recorded here, at the model's signals, so that no road escapes: a service, the Django admin, a
management command or a shell all save through the model. Who acted is the logged-in user of
the request (``ActingUserMiddleware``) or what a command names with ``acting_as``; the account
rules of ``privileges.py`` are applied to every save made while someone is logged in.

Never recorded: password hashes (only that the password changed) and e-mail addresses (only
that one changed). Business-setting rows are recorded field by field, except the long rule
documents of a product version (their digest is).
Bulk writes (``QuerySet.update``, ``bulk_create``) send no signals: the platform uses them for
login counters and data, never for accounts or settings.
"""

from __future__ import annotations

import json
from typing import Any

from django.apps import apps
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Model
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete, pre_save

from huzhu.audit.models import Action
from huzhu.audit.services import event_record
from huzhu.errors import NotAllowed
from huzhu.web.request_context import current_acting

from .privileges import change_refusal

USER_FIELDS = ("username", "display_name", "first_name", "last_name", "email", "role",
               "organisation", "unit", "member", "is_active", "is_staff", "is_superuser")
# Shown as changed, never with their value.
HIDDEN = {"password": "（已修改）", "email": "（已修改）"}
SYSTEM_LABEL = "系统（无登录用户）"

# Business settings: changed rarely, by configuration, and each change matters to money. (The
# holiday calendar's rows are replaced a year at a time by a service that records the year.)
SETTINGS_MODELS = ("claims.ClaimPolicy", "claims.ReviewLevel", "ledger.RiskSharingRatio", "products.Period", "products.Offer",
                   "products.Target", "products.ProductVersion")
SETTING_SKIP = frozenset({"document", "lists_document", "created_at", "updated_at",
                          "loaded_at"})


class PrivilegeRefused(NotAllowed):
    code = "privilege_refused"


def _actor() -> tuple[Any, str]:
    actor, label = current_acting()
    return actor, (label or ("" if actor is not None else SYSTEM_LABEL))


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False))


# Accounts.

def user_snapshot(user: Any) -> dict[str, Any]:
    """The account's fields that matter, by name (foreign keys as ids), the password's hash
    under ``password`` (compared, never recorded) and the account's tree path under ``_path``."""
    snap: dict[str, Any] = {}
    for name in USER_FIELDS:
        field = user._meta.get_field(name)
        snap[name] = getattr(user, field.attname)
    snap["password"] = user.password
    path = ""
    if user.organisation_id:
        path = user.organisation.path
    elif user.unit_id:
        path = user.unit.org_path
    elif user.member_id:
        path = user.member.org_path
    snap["_path"] = path
    return snap


def _shown(snap: dict[str, Any], keys: list[str]) -> dict[str, Any]:
    return {k: (HIDDEN[k] if k in HIDDEN and snap.get(k) else snap.get(k)) for k in keys}


def _user_pre_save(sender: Any, instance: Any, raw: bool = False,
                   update_fields: Any = None, **kwargs: Any) -> None:
    instance._trail = None
    if getattr(instance, "token_narrowed", False):
        # An API token's user placed at the token's region (tokens.py): never written back.
        raise PrivilegeRefused("令牌的用户不能保存")
    if raw or (update_fields is not None and set(update_fields) <= {"last_login"}):
        return
    old = (sender.objects.select_related("organisation", "unit", "member")
           .filter(pk=instance.pk).first() if instance.pk else None)
    before = user_snapshot(old) if old is not None else None
    after = user_snapshot(instance)
    if before is not None and update_fields is not None:
        names = {sender._meta.get_field(f).name for f in update_fields}
        after = {k: (after[k] if k in names or k == "_path" else before[k]) for k in before}
    actor, label = _actor()
    if actor is not None:
        is_self = old is not None and old.pk == actor.pk
        why = change_refusal(actor, before, after, is_self=is_self)
        if why is not None:
            changed = _changed(before, after)
            event_record(action=Action.USER_UPDATED if before else Action.USER_CREATED,
                         actor=actor, object_type="accounts.user",
                         object_id=str(instance.pk or ""), org_path=after["_path"],
                         before=_shown(before, changed) if before else None,
                         after={**_shown(after, changed), "reason": why}, outcome="denied")
            raise PrivilegeRefused(why)
    instance._trail = (before, after, actor, label)


def _changed(before: dict[str, Any] | None, after: dict[str, Any]) -> list[str]:
    if before is None:
        return [k for k in after if k != "_path" and after[k] not in ("", None, False)]
    return [k for k in after if k != "_path" and before.get(k) != after[k]]


def _user_post_save(sender: Any, instance: Any, created: bool, raw: bool = False,
                    **kwargs: Any) -> None:
    trail = getattr(instance, "_trail", None)
    instance._trail = None
    if raw or trail is None:
        return
    before, after, actor, label = trail
    changed = _changed(None if created else before, after)
    if not created and not changed:
        return
    if created:
        action = Action.USER_CREATED
    elif "role" in changed:
        action = Action.USER_ROLE_CHANGED
    else:
        action = Action.USER_UPDATED
    event_record(action=action, actor=actor, actor_label=label, object_type="accounts.user",
                 object_id=str(instance.pk), org_path=after["_path"] or (before or {}).get(
                     "_path", ""),
                 before=None if created else _jsonable(_shown(before, changed)),
                 after=_jsonable(_shown(after, changed)))


def _user_pre_delete(sender: Any, instance: Any, **kwargs: Any) -> None:
    actor, _label = _actor()
    before = user_snapshot(instance)
    if actor is not None:
        why = change_refusal(actor, before, {**before, "is_active": None},
                             is_self=instance.pk == actor.pk)
        if why is not None:
            raise PrivilegeRefused(why)
    instance._trail_deleted = before


def _user_post_delete(sender: Any, instance: Any, **kwargs: Any) -> None:
    before = getattr(instance, "_trail_deleted", None) or {}
    actor, label = _actor()
    event_record(action=Action.USER_DELETED, actor=actor, actor_label=label,
                 object_type="accounts.user", object_id=str(instance.pk),
                 org_path=before.get("_path", ""),
                 before=_jsonable(_shown(before, ["username", "role", "organisation", "unit"])))


def _user_m2m(sender: Any, instance: Any, action: str, reverse: bool, pk_set: Any,
              **kwargs: Any) -> None:
    """Django's groups and per-user permissions: never changed while logged in."""
    from .models import User

    field = "groups" if sender is User.groups.through else "user_permissions"
    users = [instance] if not reverse else list(User.objects.filter(pk__in=pk_set or ()))
    actor, label = _actor()
    if action.startswith("pre_") and actor is not None:
        for user in users:
            event_record(action=Action.USER_PERMISSIONS_CHANGED, actor=actor,
                         object_type="accounts.user", object_id=str(user.pk),
                         after={"field": field, "action": action[4:]}, outcome="denied")
        raise PrivilegeRefused("用户权限由角色决定，不能另行分配权限组或权限")
    if action.startswith("post_"):
        for user in users:
            event_record(action=Action.USER_PERMISSIONS_CHANGED, actor=actor, actor_label=label,
                         object_type="accounts.user", object_id=str(user.pk),
                         after={"field": field, "action": action[5:],
                                "ids": sorted(pk_set or ())})


# Business settings.

def setting_snapshot(obj: Model) -> dict[str, Any]:
    return _jsonable({f.name: getattr(obj, f.attname) for f in obj._meta.concrete_fields
                      if f.name not in SETTING_SKIP})


def _org_path(obj: Any) -> str:
    """Where in the tree a setting applies: its own path, or its region's, organisation's or
    pool's ('' for a nationwide one, seen at the root)."""
    if getattr(obj, "org_path", ""):
        return str(obj.org_path)
    for name in ("fund_region", "organisation", "pool"):
        if getattr(obj, f"{name}_id", None) is not None:
            return str(getattr(obj, name).path)
    return ""


def _setting_pre_save(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    old = sender._base_manager.filter(pk=instance.pk).first() if instance.pk else None
    instance._trail = setting_snapshot(old) if old is not None else None


def _setting_post_save(sender: Any, instance: Any, created: bool, raw: bool = False,
                       **kwargs: Any) -> None:
    if raw:
        return
    before = getattr(instance, "_trail", None)
    after = setting_snapshot(instance)
    if before is not None and not created:
        keys = [k for k in after if before.get(k) != after[k]]
        if not keys:
            return
        before, after = {k: before.get(k) for k in keys}, {k: after[k] for k in keys}
    if created:
        # A row that takes over from another (a fund region's own claim settings replacing the
        # product's default): ``_trail_inherited`` is what applied before it, shown as before.
        before = getattr(instance, "_trail_inherited", None)
        if before is not None:
            before = _jsonable(before)
    actor, label = _actor()
    event_record(action=Action.SETTING_CREATED if created else Action.SETTING_CHANGED,
                 actor=actor, actor_label=label, obj=instance, org_path=_org_path(instance),
                 before=before, after=after)


def _setting_post_delete(sender: Any, instance: Any, **kwargs: Any) -> None:
    actor, label = _actor()
    event_record(action=Action.SETTING_DELETED, actor=actor, actor_label=label,
                 obj=instance, org_path=_org_path(instance), before=setting_snapshot(instance))


def connect() -> None:
    """Connect the handlers (AccountsConfig.ready)."""
    from .models import User

    pre_save.connect(_user_pre_save, sender=User, dispatch_uid="trail_user_pre")
    post_save.connect(_user_post_save, sender=User, dispatch_uid="trail_user_post")
    pre_delete.connect(_user_pre_delete, sender=User, dispatch_uid="trail_user_pre_del")
    post_delete.connect(_user_post_delete, sender=User, dispatch_uid="trail_user_del")
    for through in (User.groups.through, User.user_permissions.through):
        m2m_changed.connect(_user_m2m, sender=through, dispatch_uid=f"trail_m2m_{through}")
    for label in SETTINGS_MODELS:
        model = apps.get_model(label)
        pre_save.connect(_setting_pre_save, sender=model, dispatch_uid=f"trail_pre_{label}")
        post_save.connect(_setting_post_save, sender=model, dispatch_uid=f"trail_post_{label}")
        post_delete.connect(_setting_post_delete, sender=model,
                            dispatch_uid=f"trail_del_{label}")
