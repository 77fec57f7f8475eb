"""Who may change whose account, and who may grant which role (TRUST S-09, docs/adr/0011).

The one place these rules live; the model signals (``trail.py``) apply them to every save of a
user made while someone is logged in, whatever page, API or admin screen made it, so no road
escapes them. A change made with nobody logged in (a command on the server) is the operator's
and is only recorded.

* Nobody changes their own role, organisation, unit, member link, active/staff/superuser flags
  or permission groups.
* Only the security administrator (``MANAGE_ROLES``) assigns roles (三员分立: 授权), only the
  roles ``ASSIGNABLE_BY`` lists, and never a role holding a control permission (accounts, roles,
  tokens, the event log) the grantor does not hold: the three administrators' accounts are made
  from the command line at installation.
* The system administrator (``MANAGE_USERS``) makes and edits accounts, within his subtree; an
  administrator's account is changed only by its holder (password, name) or from the command
  line, so no administrator can take over another's.
* ``is_superuser`` and Django's groups and permissions are never changed while logged in.
* The system administrator gives a new account its first role when he creates it
  (``create_refusal``: never an administrator's role, never a role holding a control
  permission he lacks); changing a role afterwards stays with the security administrator.
* The security administrator resets a password (and nothing else) of an account in his subtree
  that is not an administrator's (docs/adr/0021).
"""

from __future__ import annotations

from typing import Any

from .roles import ADMIN_ROLES, ASSIGNABLE_BY, CONTROL_PERMS, ROLE_PERMISSIONS, Perm, role_has

# Fields that decide what an account may do or see.
PRIVILEGED = ("role", "organisation", "unit", "member", "is_active", "is_staff", "is_superuser")
# Fields anyone may change on their own account.
OWN = frozenset({"password", "display_name", "first_name", "last_name", "email"})


def grant_refusal(actor_role: str, role: str) -> str | None:
    """Why a holder of ``actor_role`` may not give (or take away) ``role``; ``None`` if he may."""
    if not role_has(actor_role, Perm.MANAGE_ROLES):
        return "您的角色无权分配角色"
    if role == actor_role:
        return "不能分配与自己相同的角色"
    if role not in ASSIGNABLE_BY.get(actor_role, frozenset()):
        return "该角色不能由您分配"
    if (ROLE_PERMISSIONS.get(role, frozenset()) & CONTROL_PERMS) - ROLE_PERMISSIONS[actor_role]:
        return "该角色含有您本人不具备的管理权限"
    return None


def create_refusal(actor_role: str, role: str) -> str | None:
    """Why a holder of ``actor_role`` may not create an account holding ``role`` (the system
    administrator gives a new account its first role); ``None`` if he may."""
    if not role_has(actor_role, Perm.MANAGE_USERS):
        return "您的角色无权新建用户账号"
    if role in ADMIN_ROLES:
        return "管理员账号只能在服务器命令行设置"
    if (ROLE_PERMISSIONS.get(role, frozenset()) & CONTROL_PERMS) - ROLE_PERMISSIONS[actor_role]:
        return "该角色含有您本人不具备的管理权限"
    return None


def place_path(snapshot: dict[str, Any]) -> str:
    """The tree path of the account's organisation, unit or member ('' when it has none)."""
    return snapshot.get("_path", "")


def change_refusal(actor: Any, before: dict[str, Any] | None, after: dict[str, Any],
                   *, is_self: bool) -> str | None:
    """Why ``actor`` may not make this change to an account; ``None`` if he may.

    ``before`` and ``after`` are the account's snapshots (``trail.user_snapshot``), ``before``
    ``None`` for a new account. ``actor`` is the logged-in user, never ``None`` here.
    """
    changed = {k for k in after if k != "_path" and (before or {}).get(k) != after.get(k)}
    if before is None:
        changed = {k for k in after if k != "_path" and after.get(k) not in ("", None, False)}
    if not changed:
        return None
    if "is_superuser" in changed:
        return "超级用户标志只能在服务器命令行设置"
    if is_self:
        own = changed - OWN
        return "不能修改自己的角色、所属组织或权限" if own else None
    if before is not None and before.get("role") in ADMIN_ROLES:
        return "管理员账号只能由本人或在服务器命令行修改"
    if before is None and role_has(actor.role, Perm.MANAGE_USERS):
        why = create_refusal(actor.role, after.get("role", ""))
        if why:
            return why
    elif changed == {"password"} and role_has(actor.role, Perm.MANAGE_ROLES):
        pass  # the security administrator's reset; the subtree is checked below
    elif "role" in changed:
        for role in {(before or {}).get("role", ""), after.get("role", "")} - {""}:
            why = grant_refusal(actor.role, role)
            if why:
                return why
    if (changed - {"role"} and not role_has(actor.role, Perm.MANAGE_USERS)
            and not (changed == {"password"} and role_has(actor.role, Perm.MANAGE_ROLES))):
        return "您的角色无权管理用户账号"
    prefix = getattr(getattr(actor, "organisation", None), "path", None)
    paths = {place_path(after), place_path(before or {})} - {""}
    if prefix is None or any(not p.startswith(prefix) for p in paths):
        return "该用户不在您的管理范围内"
    return None
