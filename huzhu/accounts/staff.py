"""Accounts made and kept by the administrators (issue 14 part 7, docs/adr/0021).

* The system administrator creates a staff account with its first role and an organisation of
  his subtree, disables and re-enables it (``staff_create``, ``staff_set_active``); he opens
  agents' accounts for many units at once from an xlsx (``agents_bulk``), their first passwords
  sent by SMS through the outbox and never shown.
* The security administrator unlocks an account and resets its password (``account_unlock``,
  ``password_reset``).

Single saves go through the model, so ``trail.py`` applies ``privileges.py`` and records the
change with before and after; the bulk path checks the same rules itself and records one event
per account (``events_record_many``) and one for the file.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from huzhu.audit.models import Action
from huzhu.audit.services import event_record, events_record_many
from huzhu.bulk import insert_rows, reserve_ids
from huzhu.errors import DomainError, NotAllowed
from huzhu.organisations.models import Agent, Organisation, Unit
from huzhu.pii.crypto import blind_index, cipher, index_aliases
from huzhu.pii.identifiers import IdentifierError, check_phone
from huzhu.pii.masking import mask_phone

from .hashers import first_password, first_password_hash
from .models import User
from .privileges import create_refusal
from .roles import ADMIN_ROLES, MACHINE_ROLES, STAFF_ROLES, Perm, Role

USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{2,39}$")
# The roles a staff account may be created with on a page: staff, not the administrators'.
CREATABLE = [(v, label) for v, label in Role.choices
             if v in STAFF_ROLES and v not in ADMIN_ROLES and v not in MACHINE_ROLES]


def _field(field: str, message: str) -> DomainError:
    return DomainError(message, field_errors={field: [message]})


def users_in_scope(actor: Any) -> QuerySet[User]:
    from huzhu.audit.access import users_in_subtree

    place = getattr(actor, "organisation", None)
    if place is None:
        return User.objects.none()
    return users_in_subtree(place.path).select_related("organisation", "unit", "member")


def _username_check(username: str, field: str = "username") -> str:
    name = (username or "").strip()
    if not USERNAME.match(name):
        raise _field(field, "用户名须为 3–40 位字母、数字或 _ . -，以字母或数字开头")
    if re.fullmatch(r"\d{11}|\d{17}[\dXx]", name):
        raise _field(field, "用户名不能使用手机号或身份证号")
    if User.objects.filter(username__iexact=name).exists():
        raise _field(field, f"用户名 {name} 已被使用")
    return name


@transaction.atomic
def staff_create(*, actor: Any, username: str, display_name: str, role: str,
                 organisation_id: int | None) -> tuple[User, str]:
    """Create a staff account; returns it and its first password, to be shown once to the
    system administrator and changed by its holder at the first login."""
    if not actor.can(Perm.MANAGE_USERS):
        raise NotAllowed("您的角色无权新建用户账号")
    errors: dict[str, list[str]] = {}
    try:
        name = _username_check(username)
    except DomainError as exc:
        errors.update(exc.field_errors)
    if not (display_name or "").strip():
        errors["display_name"] = ["请填写姓名"]
    if role not in dict(CREATABLE):
        errors["role"] = ["请选择工作人员角色（管理员角色只能在服务器命令行设置）"]
    else:
        why = create_refusal(actor.role, role)
        if why:
            errors["role"] = [why]
    place = actor.organisation
    org = Organisation.objects.filter(pk=organisation_id).first() if organisation_id else None
    if org is None:
        errors["organisation"] = ["请选择所属组织"]
    elif place is None or not org.path.startswith(place.path):
        errors["organisation"] = [f"{org.name}不在您的管理范围内"]
    if errors:
        raise DomainError("账号未创建：" + "；".join(m for ms in errors.values() for m in ms),
                          field_errors=errors)
    password = first_password()
    user = User(username=name, display_name=display_name.strip(), role=role, organisation=org)
    user.password = first_password_hash(password)
    user.save()  # checked (privileges.create_refusal) and recorded by trail.py
    return user, password


@transaction.atomic
def staff_set_active(*, actor: Any, user: User, active: bool) -> User:
    """Disable (停用) or re-enable an account; a disabled account cannot log in."""
    if user.pk == actor.pk:
        raise NotAllowed("不能停用或启用自己的账号")
    if user.is_active == active:
        return user
    user.is_active = active
    user.save(update_fields=["is_active"])  # checked and recorded by trail.py
    return user


@transaction.atomic
def account_unlock(*, actor: Any, user: User) -> None:
    """Clear a locked account's failed logins (the security administrator)."""
    if not actor.can(Perm.MANAGE_ROLES):
        raise NotAllowed("您的角色无权解锁账号")
    was = user.locked_until
    User.objects.filter(pk=user.pk).update(failed_logins=0, locked_until=None)
    event_record(action=Action.USER_UNLOCKED, actor=actor, object_type="accounts.user",
                 object_id=str(user.pk), org_path=_path(user),
                 before={"locked": bool(was and was > timezone.now()),
                         "locked_until": was.isoformat() if was else None},
                 after={"locked": False, "locked_until": None})


@transaction.atomic
def password_reset(*, actor: Any, user: User) -> str:
    """Give the account a new first password (the security administrator): shown once to him
    to hand over in person, to be changed at the holder's next login; the account unlocked."""
    if not actor.can(Perm.MANAGE_ROLES):
        raise NotAllowed("您的角色无权重置密码")
    if user.role in ADMIN_ROLES:
        raise NotAllowed("管理员账号的密码只能由本人修改或在服务器命令行重置")
    if user.role in MACHINE_ROLES:
        raise NotAllowed("接口账号没有密码")
    password = first_password()
    user.password = first_password_hash(password)
    user.save(update_fields=["password"])  # checked (privileges) and recorded by trail.py
    User.objects.filter(pk=user.pk).update(failed_logins=0, locked_until=None)
    event_record(action=Action.USER_PASSWORD_RESET, actor=actor, object_type="accounts.user",
                 object_id=str(user.pk), org_path=_path(user),
                 after={"username": user.username, "password": "（已重置，首次登录须修改）"})
    return password


def _path(user: User) -> str:
    if user.organisation_id:
        return user.organisation.path  # type: ignore[union-attr]
    if user.unit_id:
        return user.unit.org_path  # type: ignore[union-attr]
    if user.member_id:
        return user.member.org_path  # type: ignore[union-attr]
    return ""


# Agents' accounts in bulk.

AGENT_COLUMNS = (("uscc", "统一社会信用代码", True), ("name", "经办人姓名", True),
                 ("phone", "手机号", True), ("username", "用户名", False))
AGENT_SHEET = "经办人"
USER_COLUMNS = ("id", "password", "is_superuser", "username", "first_name", "last_name", "email",
                "is_staff", "is_active", "date_joined", "role", "organisation_id", "unit_id",
                "member_id", "display_name", "failed_logins", "locked_until",
                "password_changed_at")
MAX_AGENT_ROWS = 50_000


@dataclass
class BulkResult:
    accounts: int
    agents: int
    messages: int


def agents_template() -> bytes:
    from huzhu.sheets import Sheet, workbook

    out = io.BytesIO()
    book = workbook(out)
    sheet = Sheet(book, AGENT_SHEET)
    sheet.row(0, 0, [title for _, title, _ in AGENT_COLUMNS], book.add_format({"bold": True}))
    sheet.ws.set_column(0, 3, 22)
    book.close()
    return out.getvalue()


def _read_agents(data: bytes, file_name: str) -> list[tuple[int, dict[str, str]]]:
    from python_calamine import CalamineWorkbook

    from huzhu.enrollment.roster_file import RosterFileError, _check_zip

    if not data:
        raise _field("file", "文件是空的")
    if not file_name.lower().endswith(".xlsx"):
        raise _field("file", "只接受 .xlsx 文件（请使用平台下载的模板）")
    try:
        _check_zip(data)
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        names = list(book.sheet_names)
        sheet = book.get_sheet_by_name(AGENT_SHEET if AGENT_SHEET in names else names[0])
        rows = sheet.to_python(skip_empty_area=False)
    except RosterFileError as exc:
        raise _field("file", exc.message) from None
    except Exception:  # noqa: BLE001 - calamine raises its own types for broken files
        raise _field("file", "无法读取工作簿：文件已损坏或不是 .xlsx 格式") from None
    if not rows:
        raise _field("file", "工作表是空的")
    header = [str(h or "").strip().replace("*", "") for h in rows[0]]
    index: dict[str, int] = {}
    for key, title, required in AGENT_COLUMNS:
        if title in header:
            index[key] = header.index(title)
        elif required:
            raise _field("file", f"缺少必填列：{title}。请使用平台下载的模板，不要修改表头")
    body = []
    for number, row in enumerate(rows[1:], start=2):
        values = {k: _text(row[i] if i < len(row) else "") for k, i in index.items()}
        if any(values.values()):
            body.append((number, values))
    if not body:
        raise _field("file", "文件中没有经办人")
    if len(body) > MAX_AGENT_ROWS:
        raise _field("file", f"一次最多 {MAX_AGENT_ROWS:,} 行，本文件有 {len(body):,} 行，请拆分")
    return body


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value if value is not None else "").strip()


@transaction.atomic
def agents_bulk(*, actor: Any, data: bytes, file_name: str) -> BulkResult:
    """Open an agent's account for each row (unit by its USCC, agent's name and mobile phone,
    optionally a username; by default the unit's USCC), all or nothing: a bad row refuses the
    whole file, naming the row and the field. Each first password goes by SMS only."""
    from huzhu.notices.services import notices_enqueue_many
    if not actor.can(Perm.MANAGE_USERS) or actor.organisation is None:
        raise NotAllowed("您的角色无权开通经办人账号")
    why = create_refusal(actor.role, Role.AGENT)
    if why:
        raise NotAllowed(why)
    rows = _read_agents(data, file_name)
    place = actor.organisation.path
    units = {u.uscc: u for u in Unit.objects.filter(
        uscc__in={r["uscc"].upper() for _, r in rows}).only("id", "uscc", "name", "org_path")}
    wanted = [r.get("username") or "" for _, r in rows]
    taken = {n.lower() for n in User.objects.filter(username__in=[w for w in wanted if w])
             .values_list("username", flat=True)}
    defaults = {u.uscc.lower() for u in units.values()}
    taken |= {n.lower() for n in User.objects.filter(username__in=list(defaults))
              .values_list("username", flat=True)}
    errors: list[dict[str, Any]] = []
    seen: set[str] = set()
    todo = []
    for number, r in rows:
        def bad(field: str, message: str, number: int = number) -> None:
            errors.append({"row": number, "field": field, "message": message})

        unit = units.get(r["uscc"].upper())
        if not r["uscc"]:
            bad("统一社会信用代码", "不能为空")
        elif unit is None or not unit.org_path.startswith(place):
            bad("统一社会信用代码", f"{r['uscc']} 不是您管理范围内的参保单位")
        if not r["name"]:
            bad("经办人姓名", "不能为空")
        try:
            phone = check_phone(r["phone"])
        except IdentifierError as exc:
            bad("手机号", exc.message)
            phone = ""
        username = r.get("username") or (unit.uscc if unit else "")
        if r.get("username") and not USERNAME.match(username):
            bad("用户名", "须为 3–40 位字母、数字或 _ . -，以字母或数字开头")
        elif username and (username.lower() in taken or username.lower() in seen):
            bad("用户名", f"{username} 已被使用（同一单位的第二位经办人请填写用户名）")
        seen.add(username.lower())
        if unit is not None and phone and r["name"]:
            todo.append((unit, r["name"], phone, username))
    if errors:
        shown = "；".join(f"第 {e['row']} 行 {e['field']}：{e['message']}" for e in errors[:20])
        more = f"（共 {len(errors)} 处错误）" if len(errors) > 20 else ""
        raise DomainError(f"文件有错误，没有开通任何账号：{shown}{more}",
                          field_errors={"file": [f"第 {e['row']} 行 {e['field']}：{e['message']}"
                                                 for e in errors]},
                          code="bad_rows")
    alias = index_aliases({phone for _u, _n, phone, _x in todo}, field="phone")
    existing_agents = {(unit_id, alias.get(b, b)) for unit_id, b in Agent.objects.filter(
        unit_id__in={u.pk for u, *_ in todo}, is_active=True).values_list("unit_id", "phone_bidx")}
    passwords = [first_password() for _ in todo]
    now = timezone.now()
    user_ids = reserve_ids(User, len(todo))
    # COPY on PostgreSQL: ten thousand ORM instances were most of the time (bench_accounts).
    insert_rows(User, USER_COLUMNS, (
        (pk, first_password_hash(pw), False, username, "", "", "", False, True, now,
         Role.AGENT, None, unit.pk, None, name[:60], 0, None, now)
        for pk, (unit, name, _phone, username), pw in zip(user_ids, todo, passwords,
                                                          strict=True)))
    users = [SimpleNamespace(pk=pk, username=t[3], display_name=t[1][:60])
             for pk, t in zip(user_ids, todo, strict=True)]
    new_agents = []
    for unit, name, phone, _username in todo:
        bidx = blind_index(phone, field="phone")
        if (unit.pk, bidx) not in existing_agents:
            existing_agents.add((unit.pk, bidx))
            new_agents.append((unit, name, phone, bidx))
    c = cipher()
    aad = Agent._meta.get_field("phone").aad()
    agent_ids = reserve_ids(Agent, len(new_agents))
    insert_rows(Agent, ("id", "unit_id", "name", "phone", "phone_bidx", "is_active",
                        "created_at", "updated_at"),
                ((pk, u.pk, n[:60], c.encrypt(p, field=aad), b, True, now, now)
                 for pk, (u, n, p, b) in zip(agent_ids, new_agents, strict=True)))
    agents = [SimpleNamespace(pk=pk) for pk in agent_ids]
    events = [{"action": Action.USER_CREATED, "object_type": "accounts.user",
               "object_id": str(user.pk), "org_path": unit.org_path,
               "after": {"username": user.username, "display_name": user.display_name,
                         "role": Role.AGENT, "unit": unit.pk, "password": "（已通过短信发送）"}}
              for user, (unit, *_rest) in zip(users, todo, strict=True)]
    events += [{"action": Action.AGENT_CREATED, "object_type": "organisations.agent",
                "object_id": str(a.pk), "org_path": u.org_path,
                "after": {"name": n, "phone": mask_phone(p)}}
               for a, (u, n, p, _b) in zip(agents, new_agents, strict=True)]
    events_record_many(events, actor=actor)
    queued = notices_enqueue_many(
        {"key": f"agent-account:{user.pk}", "template": "AGENT_ACCOUNT", "phone": phone,
         "org_path": unit.org_path,
         "params": {"name": name, "username": user.username, "password": pw}}
        for user, (unit, name, phone, _u), pw in zip(users, todo, passwords, strict=True))
    event_record(action=Action.AGENTS_BULK_CREATED, actor=actor, object_type="accounts.user",
                 org_path=place, after={"file": file_name[:100], "accounts": len(users),
                                        "agents": len(agents), "messages": queued})
    return BulkResult(accounts=len(users), agents=len(agents), messages=queued)
