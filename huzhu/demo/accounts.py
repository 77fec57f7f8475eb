"""Demo accounts: one user per role in the demo province, each with a generated password.

There is no default password anywhere (no admin/123456): each password is drawn once from
``secrets``, checked against Django's password validators, and kept in
``<VAR_DIR>/demo-accounts.json`` (mode 0600) so that re-running prints the same accounts. If the
database is recreated the same passwords are reused; if a demo user exists but the file has no
password for it, a new one is generated and stored.
"""

from __future__ import annotations

import json
import secrets
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import password_validation
from django.db import transaction

from huzhu.accounts.roles import Role

ACCOUNTS_FILE = "demo-accounts.json"
_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/l/I


class DemoAccountsError(Exception):
    pass


@dataclass
class DemoAccount:
    role: str
    username: str
    password: str
    scope: str
    created: bool = False

    @property
    def role_label(self) -> str:
        return str(Role(self.role).label)


USERNAMES = {
    Role.SYSTEM_ADMIN: "demo_sysadmin",
    Role.SECURITY_ADMIN: "demo_security",
    Role.AUDIT_ADMIN: "demo_audit",
    Role.REVIEWER: "demo_reviewer",
    Role.FINANCE: "demo_finance",
    Role.CITY_STAFF: "demo_city",
    Role.COUNTY_STAFF: "demo_county",
    Role.AGENT: "demo_agent",
    Role.MEMBER: "demo_member",
    Role.LEADERSHIP: "demo_leader",
    Role.SUPERVISOR: "demo_supervisor",
}

DISPLAY_NAMES = {
    Role.SYSTEM_ADMIN: "演示系统管理员",
    Role.SECURITY_ADMIN: "演示安全管理员",
    Role.AUDIT_ADMIN: "演示审计管理员",
    Role.REVIEWER: "演示审核员",
    Role.FINANCE: "演示财务",
    Role.CITY_STAFF: "演示市级经办",
    Role.COUNTY_STAFF: "演示县级经办",
    Role.AGENT: "演示单位经办人",
    Role.LEADERSHIP: "演示理事会领导",
    Role.SUPERVISOR: "演示监事",
}


def generate_password(user: Any = None) -> str:
    """A random 14-character password in three groups, accepted by the configured validators."""
    while True:
        groups = ["".join(secrets.choice(_ALPHABET) for _ in range(4)) for _ in range(3)]
        password = "-".join(groups) + secrets.choice("23456789")
        if not (any(c.isupper() for c in password) and any(c.islower() for c in password)):
            continue
        try:
            password_validation.validate_password(password, user)
        except Exception:  # noqa: BLE001 - any validator failure: draw again
            continue
        return password


def accounts_path() -> Path:
    return Path(settings.VAR_DIR) / ACCOUNTS_FILE


def _load_passwords(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    data = json.loads(path.read_text())
    return {a["username"]: a["password"] for a in data.get("accounts", [])}


def _save(path: Path, accounts: list[DemoAccount]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {
        "note": "演示账号，仅用于本地演示环境；密码随机生成 / demo accounts for a local demo only",
        "accounts": [
            {"role": a.role, "username": a.username, "password": a.password, "scope": a.scope}
            for a in accounts
        ],
    }
    tmp = path.with_suffix(".tmp")
    tmp.touch(mode=0o600)
    tmp.chmod(0o600)
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2))
    tmp.replace(path)
    path.chmod(0o600)


def _places() -> dict[str, Any]:
    """The province, a city, a county, a unit of it with members, and one of its members."""
    from huzhu.members.models import Member
    from huzhu.organisations.models import Organisation, Unit

    province = Organisation.objects.filter(kind="province").order_by("pk").first()
    if province is None:
        raise DemoAccountsError("还没有演示数据：请先运行 huzhu demo seed")
    cities = list(
        Organisation.objects.filter(kind="city", path__startswith=province.path)
        .order_by("code", "pk")
    )
    for city in cities:
        counties = Organisation.objects.filter(
            kind="county", path__startswith=city.path
        ).order_by("code", "pk")
        for county in counties:
            unit = (
                Unit.objects.filter(org_path__startswith=county.path, members__isnull=False)
                .order_by("pk").first()
            )
            if unit is not None:
                # One who can join 互助1号 (a union member in employee insurance), so the demo
                # member's portal shows a cover and, after ``demo claims``, maybe a claim.
                member = (Member.objects.filter(unit=unit, insurance_type="employee",
                                                is_union_member=True).order_by("pk").first()
                          or Member.objects.filter(unit=unit).order_by("pk").first())
                return {"province": province, "city": city, "county": county, "unit": unit,
                        "member": member}
    raise DemoAccountsError("演示数据中没有带会员的县级工会单位：请先运行 huzhu demo seed --members N")


@transaction.atomic
def ensure_demo_accounts() -> list[DemoAccount]:
    """Create the missing demo users and return every demo account with its password."""
    from huzhu.accounts.models import User
    from huzhu.web.request_context import acting_as

    path = accounts_path()
    passwords = _load_passwords(path)
    places = _places()
    province, city, county = places["province"], places["city"], places["county"]
    unit, member = places["unit"], places["member"]
    wanted: list[tuple[Role, dict[str, Any], str] | tuple[Role, dict[str, Any], str, str, str]] = [
        (Role.SYSTEM_ADMIN, {"organisation": province}, province.name),
        (Role.SECURITY_ADMIN, {"organisation": province}, province.name),
        (Role.AUDIT_ADMIN, {"organisation": province}, province.name),
        (Role.REVIEWER, {"organisation": province}, province.name),
        (Role.FINANCE, {"organisation": province}, province.name),
        (Role.CITY_STAFF, {"organisation": city}, city.name),
        (Role.COUNTY_STAFF, {"organisation": county}, county.name),
        (Role.AGENT, {"unit": unit}, f"{unit.name}（{county.name}）"),
        (Role.MEMBER, {"member": member}, f"会员本人：{member.name}（{unit.name}）"),
        (Role.LEADERSHIP, {"organisation": province}, province.name),
        (Role.SUPERVISOR, {"organisation": province}, province.name),
        # Claims are reviewed level by level by different people, and a payout batch is made
        # by one finance officer and approved by another: two more accounts show both.
        (Role.REVIEWER, {"organisation": county}, county.name, "demo_county_reviewer",
         "演示县级审核员"),
        (Role.FINANCE, {"organisation": province}, province.name, "demo_checker", "演示复核财务"),
    ]
    accounts: list[DemoAccount] = []
    for role, scope_fields, scope, *named in wanted:
        username = named[0] if named else USERNAMES[role]
        display = (named[1] if named else
                   member.name if role == Role.MEMBER else DISPLAY_NAMES[role])
        user = User.objects.filter(username=username).first()
        password = passwords.get(username)
        created = False
        if user is None:
            user = User(username=username, role=role, display_name=display, **scope_fields)
            password = password or generate_password(user)
            user.set_password(password)
            with acting_as(label="huzhu demo accounts"):
                user.save()  # recorded by huzhu/accounts/trail.py
            created = True
        elif password is None:
            # A demo user whose password we do not know: give it a fresh one and keep it.
            password = generate_password(user)
            user.set_password(password)
            with acting_as(label="huzhu demo accounts"):
                user.save(update_fields=["password"])
            created = True
        accounts.append(DemoAccount(str(role), username, password, _scope_of(user) or scope,
                                    created))
    _save(path, accounts)
    return accounts


def _scope_of(user: Any) -> str:
    if user.member_id:
        return f"会员本人：{user.member.name}" + (
            f"（{user.member.unit.name}）" if user.member.unit_id else ""
        )
    if user.unit_id:
        return f"{user.unit.name}（{user.unit.organisation.name}）"
    if user.organisation_id:
        return user.organisation.name
    return ""


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def format_table(accounts: list[DemoAccount]) -> list[str]:
    header = ("角色", "用户名", "密码", "范围")
    rows = [(a.role_label, a.username, a.password, a.scope) for a in accounts]
    widths = [max(_width(r[i]) for r in [header, *rows]) for i in range(3)]
    lines = []
    for row in [header, *rows]:
        lines.append("  ".join(_pad(row[i], widths[i]) for i in range(3)) + "  " + row[3])
        if row is header:
            lines.append("  ".join("-" * w for w in widths) + "  " + "-" * 8)
    return lines
