"""``huzhu demo accounts``: one user per role, random strong passwords, stable on re-run."""

from __future__ import annotations

import io
import json
import stat
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import authenticate, password_validation
from django.core.management import call_command
from django.core.management.base import CommandError

from huzhu.accounts.models import User
from huzhu.accounts.roles import MACHINE_ROLES, Role
from huzhu.members.access import members_visible_to

pytestmark = pytest.mark.django_db


@pytest.fixture
def var_dir(settings: Any, tmp_path: Path) -> Path:
    settings.VAR_DIR = tmp_path
    return tmp_path


def run(name: str, *args: str, **kw: Any) -> str:
    out = io.StringIO()
    call_command(name, *args, stdout=out, stderr=io.StringIO(), **kw)
    return out.getvalue()


def test_needs_the_demo_province_first(var_dir: Path) -> None:
    with pytest.raises(CommandError, match="demo seed"):
        run("demo_accounts")


def test_one_user_per_role_with_strong_stable_passwords(var_dir: Path) -> None:
    run("demo_seed", members=300, seed=2026)
    out = run("demo_accounts")
    from huzhu.demo.accounts import USERNAMES

    users = {u.role: u for u in User.objects.filter(username__in=USERNAMES.values())}
    people = set(Role.values) - MACHINE_ROLES  # the bureau interface is a machine account
    assert set(users) == people
    by_name = {u.username: u for u in User.objects.all()}
    saved = json.loads((var_dir / "demo-accounts.json").read_text())["accounts"]
    assert stat.S_IMODE((var_dir / "demo-accounts.json").stat().st_mode) == 0o600
    assert {a["role"] for a in saved} == people
    passwords = [a["password"] for a in saved]
    assert len(set(passwords)) == len(passwords)
    for account in saved:
        user = by_name[account["username"]]
        assert user.role == account["role"]
        password_validation.validate_password(account["password"], user)
        assert account["password"] not in {"admin", "123456", "password"}
        assert account["password"] in out and account["username"] in out
        assert str(Role(account["role"]).label) in out
        assert authenticate(username=user.username, password=account["password"]) == user

    # Scope: province roles at the province, city and county staff below, agent and member.
    assert users[Role.REVIEWER].organisation.kind == "province"
    assert users[Role.CITY_STAFF].organisation.kind == "city"
    county = users[Role.COUNTY_STAFF].organisation
    assert county.kind == "county"
    assert users[Role.COUNTY_STAFF].organisation.path.startswith(
        users[Role.CITY_STAFF].organisation.path)
    agent, member = users[Role.AGENT], users[Role.MEMBER]
    assert agent.unit.org_path.startswith(county.path)
    assert member.member.unit_id == agent.unit_id
    assert list(members_visible_to(member)) == [member.member]
    assert members_visible_to(users[Role.COUNTY_STAFF]).filter(pk=member.member_id).exists()

    # Re-running prints the same accounts and creates nobody.
    again = run("demo_accounts")
    assert User.objects.count() == len(people) + 2
    extra = {u.username: u for u in User.objects.filter(
        username__in=["demo_county_reviewer", "demo_checker"])}
    assert extra["demo_county_reviewer"].organisation == county
    assert extra["demo_checker"].role == Role.FINANCE
    def table(text: str) -> list[str]:
        return [line for line in text.splitlines() if "demo_" in line]

    assert table(again) == table(out) and len(table(out)) == len(people) + 2
    assert "新建" not in again


def test_recreated_database_reuses_the_saved_passwords(var_dir: Path) -> None:
    run("demo_seed", members=300, seed=2026)
    run("demo_accounts")
    saved = json.loads((var_dir / "demo-accounts.json").read_text())["accounts"]
    User.objects.all().delete()
    run("demo_accounts")
    for account in saved:
        assert authenticate(username=account["username"], password=account["password"])


def test_a_lost_password_file_gives_fresh_passwords(var_dir: Path) -> None:
    run("demo_seed", members=300, seed=2026)
    run("demo_accounts")
    old = json.loads((var_dir / "demo-accounts.json").read_text())["accounts"]
    (var_dir / "demo-accounts.json").unlink()
    out = run("demo_accounts")
    new = json.loads((var_dir / "demo-accounts.json").read_text())["accounts"]
    assert "重设" in out
    for before, after in zip(old, new, strict=True):
        assert before["password"] != after["password"]
        assert authenticate(username=after["username"], password=after["password"])


def test_demo_code_stands_in_for_the_authenticator_app(world: Any, settings: Any) -> None:
    """A person trying the demo binds the second factor with `huzhu demo code USERNAME`."""
    from django.test import Client

    from ..conftest import PASSWORD

    with pytest.raises(CommandError, match="登录"):
        run("demo_code", "wangwu")  # nothing to bind yet
    client = Client()
    client.post("/login/", {"username": "wangwu", "password": PASSWORD})
    assert client.get("/account/enrol/").status_code == 200
    code = run("demo_code", "wangwu").strip()
    assert len(code) == 6 and code.isdigit()
    response = client.post("/account/enrol/", {"code": code})
    assert "recovery-codes" in response.content.decode()
    assert client.get("/members/").status_code == 200
    settings.DEV = False
    with pytest.raises(CommandError, match="演示环境"):
        run("demo_code", "wangwu")
