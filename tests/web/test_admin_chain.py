"""Administration inside the audit chain (TRUST S-09, S-17; docs/adr/0011).

Every change of an account, a role, an organisation or a business setting is one event with
before and after, whichever road made it; no role raises its own privileges or grants what it
does not hold; the admin is read-only except for the system administrator.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import transaction
from django.test import Client

from huzhu.accounts.models import User
from huzhu.accounts.privileges import grant_refusal
from huzhu.accounts.roles import (
    ADMIN_ROLES,
    CONTROL_PERMS,
    ROLE_PERMISSIONS,
    Perm,
    Role,
)
from huzhu.accounts.trail import PrivilegeRefused
from huzhu.audit.models import Event
from huzhu.audit.services import chain_verify
from huzhu.web.request_context import acting_as

from ..conftest import PASSWORD

ROLES = list(Role.values)


def _place_for(world: Any, role: str, member: Any) -> dict[str, Any]:
    """Where an account of ``role`` sits (an agent in a unit, a member user on a member)."""
    if role == Role.AGENT:
        return {"unit": world.unit_a}
    if role == Role.MEMBER:
        return {"member": member}
    return {"organisation": world.province}


# The permission matrix: every role × every role-grant attempt, through the model's save.

def expected_grant(actor_role: str, role: str) -> bool:
    """Written from the rules of the role table, not from the code under test."""
    return (Perm.MANAGE_ROLES in ROLE_PERMISSIONS[actor_role]
            and role != actor_role and role not in ADMIN_ROLES
            and not (ROLE_PERMISSIONS[role] & CONTROL_PERMS) - ROLE_PERMISSIONS[actor_role])


def test_the_grant_matrix(world):
    results: dict[tuple[str, str], bool] = {}
    for i, actor_role in enumerate(ROLES):
        actor = User.objects.create_user(username=f"actor-{i}", role=actor_role,
                                         **_place_for(world, actor_role, world.chenba))
        for j, role in enumerate(ROLES):
            target = User.objects.create_user(username=f"t-{i}-{j}", role="",
                                              **_place_for(world, role, world.sunqi))
            target.role = role
            try:
                with transaction.atomic(), acting_as(actor):
                    target.save(update_fields=["role"])
                results[actor_role, role] = True
                event = Event.objects.latest("seq")
                assert event.action == "user.role_changed" and event.actor_id == actor.pk
                assert event.before == {"role": ""} and event.after == {"role": role}
            except PrivilegeRefused:
                results[actor_role, role] = False
                target.refresh_from_db()
                assert target.role == ""
            assert (grant_refusal(actor_role, role) is None) == results[actor_role, role]
            target.delete()  # frees the member for the next target
    assert results == {k: expected_grant(*k) for k in results}, [
        k for k, v in results.items() if v != expected_grant(*k)]
    granters = {a for (a, _r), ok in results.items() if ok}
    assert granters == {Role.SECURITY_ADMIN}  # 三员分立: only the security administrator grants
    # ... and he can staff every business role, but no administrator's role.
    assert {r for (a, r), ok in results.items() if ok} == set(ROLES) - ADMIN_ROLES
    assert not list(chain_verify())


def test_nobody_grants_a_control_permission_he_does_not_hold():
    for actor_role in ROLES:
        for role in ROLES:
            if grant_refusal(actor_role, role) is None:
                extra = ROLE_PERMISSIONS[role] - ROLE_PERMISSIONS[actor_role]
                assert not extra & CONTROL_PERMS, (actor_role, role)
                assert role != actor_role


FIELDS = {"role": Role.SYSTEM_ADMIN, "is_superuser": True, "is_staff": True,
          "is_active": False}


@pytest.mark.parametrize("persona", ["sysadmin", "security", "auditor", "wangwu", "zhaoliu",
                                     "qianjiu", "lisi", "zhangsan_user"])
@pytest.mark.parametrize("field", [*FIELDS, "organisation", "unit"])
def test_nobody_raises_his_own_privileges(world, persona, field):
    user = User.objects.get(pk=getattr(world, persona).pk)
    if field == "organisation":
        value: Any = world.province if user.organisation_id != world.province.pk else world.city_a
    elif field == "unit":
        value = world.unit_b
    elif field == "role" and user.role == Role.SYSTEM_ADMIN:
        value = Role.SECURITY_ADMIN
    else:
        value = FIELDS[field]
    setattr(user, field, value)
    with pytest.raises(PrivilegeRefused), transaction.atomic(), acting_as(user):
        user.save()
    fresh = User.objects.get(pk=user.pk)
    assert getattr(fresh, field) == getattr(getattr(world, persona), field)


def test_a_user_may_change_his_own_password_and_name(world):
    user = User.objects.get(pk=world.wangwu.pk)
    with acting_as(user):
        user.set_password("Another-Pass-2026!")
        user.display_name = "王五（审核）"
        user.save()
    event = Event.objects.filter(action="user.updated").latest("seq")
    assert event.after == {"display_name": "王五（审核）", "password": "（已修改）"}
    assert event.before["password"] == "（已修改）"
    stored = json.dumps([event.before, event.after], ensure_ascii=False)
    assert user.password not in stored and "md5$" not in stored


def test_django_groups_and_permissions_are_never_given_while_logged_in(world):
    from django.contrib.auth.models import Group

    group = Group.objects.create(name="任意")
    with pytest.raises(PrivilegeRefused), transaction.atomic(), acting_as(world.sysadmin):
        world.wangwu.groups.add(group)
    assert not world.wangwu.groups.exists()
    # From the command line (nobody logged in) it is possible, and recorded.
    world.wangwu.groups.add(group)
    event = Event.objects.get(action="user.permissions_changed", outcome="ok")
    assert event.after == {"field": "groups", "action": "add", "ids": [group.pk]}


# Every road records, with before/after.

def test_accounts_made_on_the_command_line_are_recorded_once(world):
    created = Event.objects.filter(action="user.created")
    assert created.count() == User.objects.count()  # the world's accounts, by the signals
    event = created.get(object_id=str(world.wangwu.pk))
    assert event.actor_id is None and event.actor_label == "系统（无登录用户）"
    assert event.after["role"] == Role.REVIEWER and event.after["organisation"] == \
        world.county_a.pk
    assert event.org_path == world.county_a.path
    assert "password" in event.after and world.wangwu.password not in json.dumps(event.after)


def test_the_interface_command_records_the_account_as_the_commands(world):
    from io import StringIO

    from django.core.management import call_command

    call_command("interface_create", region=str(world.region_b.pk), stdout=StringIO(),
                 stderr=StringIO())
    user = User.objects.get(username=f"bureau-{world.region_b.pk}")
    events = Event.objects.filter(object_type="accounts.user", object_id=str(user.pk))
    assert [(e.action, e.actor_label) for e in events] == [
        ("user.created", "huzhu interface create")]
    assert Event.objects.filter(action="token.created", actor_label="命令行").exists()


def test_business_settings_are_recorded_with_before_and_after(world):
    from huzhu.claims.models import ClaimPolicy
    from huzhu.ledger.risk_sharing import risk_sharing_configure

    with acting_as(world.sysadmin):
        policy = ClaimPolicy.objects.create(product_code="p-1", review_threshold_fen=100_000)
        policy.review_threshold_fen = 50_000
        policy.save()
        policy.save()  # nothing changed: nothing recorded
    created = Event.objects.get(action="config.created")
    assert created.object_type == "claims.claimpolicy" and created.actor_id == world.sysadmin.pk
    assert created.after["review_threshold_fen"] == 100_000
    changed = Event.objects.get(action="config.changed")
    assert (changed.before, changed.after) == ({"review_threshold_fen": 100_000},
                                               {"review_threshold_fen": 50_000})
    risk_sharing_configure(pool=world.province, city_share_bp=3000)
    ratio = Event.objects.get(action="config.created", object_type="ledger.risksharingratio")
    assert ratio.after["city_share_bp"] == 3000 and ratio.org_path == world.province.path
    assert ratio.actor_label == "系统（无登录用户）"


# The roles page.

def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_security_administrator_grants_business_roles_on_the_page(world):
    newcomer = User.objects.create_user(username="newcomer", organisation=world.city_a,
                                        role="")
    page = logged_in(world.security)
    listing = page.get("/users/roles/").content.decode()
    assert "newcomer" in listing and "系统管理员</option>" not in listing
    response = page.post(f"/users/{newcomer.pk}/role/", {"role": Role.REVIEWER})
    assert response.status_code == 302
    assert User.objects.get(pk=newcomer.pk).role == Role.REVIEWER
    event = Event.objects.get(action="user.role_changed", outcome="ok")
    assert (event.actor_id, event.before, event.after) == (
        world.security.pk, {"role": ""}, {"role": Role.REVIEWER})
    assert event.org_path == world.city_a.path
    for role in ADMIN_ROLES:
        page.post(f"/users/{newcomer.pk}/role/", {"role": role})
    page.post(f"/users/{world.security.pk}/role/", {"role": Role.REVIEWER})
    page.post(f"/users/{world.auditor.pk}/role/", {"role": Role.REVIEWER})
    assert User.objects.get(pk=newcomer.pk).role == Role.REVIEWER
    assert User.objects.get(pk=world.security.pk).role == Role.SECURITY_ADMIN
    assert User.objects.get(pk=world.auditor.pk).role == Role.AUDIT_ADMIN
    assert Event.objects.filter(action="user.role_changed", outcome="denied").count() == 5


@pytest.mark.parametrize("persona", ["sysadmin", "auditor", "wangwu", "zhaoliu"])
def test_the_roles_page_is_the_security_administrators(world, persona):
    client = logged_in(getattr(world, persona))
    assert client.get("/users/roles/").status_code == 403
    response = client.post(f"/users/{world.wangwu.pk}/role/", {"role": Role.FINANCE})
    assert response.status_code == 403
    assert User.objects.get(pk=world.wangwu.pk).role == Role.REVIEWER


# The Django admin.

def staff(user: Any) -> Any:
    User.objects.filter(pk=user.pk).update(is_staff=True)
    return User.objects.get(pk=user.pk)


def admin_form(user: Any, **changes: Any) -> dict[str, Any]:
    data = {"username": user.username, "display_name": user.display_name, "email": "",
            "organisation": user.organisation_id or "", "unit": user.unit_id or "",
            "member": user.member_id or "", "is_active": "on", "_save": "保存"}
    if user.is_staff:
        data["is_staff"] = "on"
    data.update(changes)
    return {k: v for k, v in data.items() if v is not False}


@pytest.mark.parametrize("persona", ["security", "auditor"])
def test_the_admin_is_read_only_for_every_other_administrator(world, persona):
    client = logged_in(staff(getattr(world, persona)))
    assert client.get("/admin/").status_code == 200
    listing = client.get("/admin/accounts/user/")
    assert listing.status_code == 200 and "wangwu" in listing.content.decode()
    assert "添加" not in listing.content.decode() or "/admin/accounts/user/add/" not in \
        listing.content.decode()
    url = f"/admin/accounts/user/{world.wangwu.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    response = client.post(url, admin_form(world.wangwu, display_name="篡改"))
    assert response.status_code == 403
    assert client.post(f"/admin/organisations/organisation/{world.city_a.pk}/change/",
                       {"name": "篡改", "kind": "city", "code": ""}).status_code == 403
    assert client.get("/admin/accounts/user/add/").status_code == 403
    assert User.objects.get(pk=world.wangwu.pk).display_name == "王五"


def test_the_system_administrators_admin_edits_are_recorded(world):
    client = logged_in(staff(world.sysadmin))
    assert "/admin/accounts/user/add/" in client.get("/admin/accounts/user/").content.decode()
    url = f"/admin/accounts/user/{world.wangwu.pk}/change/"
    response = client.post(url, admin_form(world.wangwu, display_name="王五五",
                                           organisation=world.county_b.pk,
                                           is_superuser="on", role=Role.SYSTEM_ADMIN))
    assert response.status_code == 302, response.content.decode()[:2000]
    fresh = User.objects.get(pk=world.wangwu.pk)
    assert fresh.display_name == "王五五" and fresh.organisation_id == world.county_b.pk
    assert not fresh.is_superuser and fresh.role == Role.REVIEWER  # not fields of his form
    event = Event.objects.filter(action="user.updated").latest("seq")
    assert event.actor_id == world.sysadmin.pk
    assert event.before == {"display_name": "王五", "organisation": world.county_a.pk}
    assert event.after == {"display_name": "王五五", "organisation": world.county_b.pk}
    # The tree goes through its service and its event.
    response = client.post(f"/admin/organisations/organisation/{world.city_a.pk}/change/",
                           {"name": "南宁市总工会（新）", "kind": "city", "code": "NN"})
    assert response.status_code == 302
    org_event = Event.objects.get(action="org.updated")
    assert org_event.actor_id == world.sysadmin.pk
    assert org_event.before["name"] == "南宁市总工会" and org_event.after["code"] == "NN"


def test_the_system_administrator_cannot_touch_other_administrators_or_himself(world):
    client = logged_in(staff(world.sysadmin))
    for other in (world.auditor, world.security):
        url = f"/admin/accounts/user/{other.pk}/change/"
        assert client.post(url, admin_form(other, display_name="x")).status_code == 403
        assert client.post(f"/admin/accounts/user/{other.pk}/password/",
                           {"password1": "Take-Over-2026!", "password2": "Take-Over-2026!",
                            "usable_password": "true"}).status_code == 403
        assert User.objects.get(pk=other.pk).check_password(PASSWORD)
    own = User.objects.get(pk=world.sysadmin.pk)
    response = client.post(f"/admin/accounts/user/{own.pk}/change/",
                           admin_form(own, is_active=False, organisation=world.city_a.pk))
    assert response.status_code == 200 and "不能修改自己的" in response.content.decode()
    fresh = User.objects.get(pk=own.pk)
    assert fresh.is_active and fresh.organisation_id == world.province.pk
    assert Event.objects.filter(action="user.updated", outcome="denied",
                                actor_id=own.pk).exists()


def test_an_admin_password_reset_records_no_hash(world):
    client = logged_in(staff(world.sysadmin))
    response = client.post(f"/admin/accounts/user/{world.wangwu.pk}/password/",
                           {"password1": "Fresh-Start-2026!", "password2": "Fresh-Start-2026!",
                            "usable_password": "true"})
    assert response.status_code == 302
    fresh = User.objects.get(pk=world.wangwu.pk)
    assert fresh.check_password("Fresh-Start-2026!")
    event = Event.objects.filter(action="user.updated").latest("seq")
    assert event.actor_id == world.sysadmin.pk
    assert event.after == {"password": "（已修改）"}
    assert fresh.password not in json.dumps([event.before, event.after])


def test_the_event_log_in_the_admin_is_the_auditors_only(world):
    assert logged_in(staff(world.sysadmin)).get("/admin/audit/event/").status_code == 403
    assert logged_in(staff(world.auditor)).get("/admin/audit/event/").status_code == 200


def test_the_admin_has_no_groups_and_deletes_nothing(world):
    client = logged_in(staff(world.sysadmin))
    assert client.get("/admin/auth/group/").status_code == 404
    response = client.post(f"/admin/accounts/user/{world.wangwu.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    assert User.objects.filter(pk=world.wangwu.pk).exists()


def test_the_three_administrators_are_made_on_the_command_line(world):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("admins_create", username="audit2", role="audit_admin", stdout=out)
    user = User.objects.get(username="audit2")
    assert user.role == Role.AUDIT_ADMIN and user.organisation_id == world.province.pk
    assert user.is_staff and not user.has_usable_password()
    event = Event.objects.get(action="user.created", object_id=str(user.pk))
    assert event.actor_label == "huzhu admins create" and event.after["role"] == "audit_admin"
    assert "changepassword audit2" in out.getvalue()


def test_the_auditor_reads_a_role_change_in_chinese(world):
    newcomer = User.objects.create_user(username="newcomer2", organisation=world.city_a,
                                        role="")
    logged_in(world.security).post(f"/users/{newcomer.pk}/role/", {"role": Role.FINANCE})
    event = Event.objects.get(action="user.role_changed", outcome="ok")
    page = logged_in(world.auditor).get(f"/audit/events/{event.seq}/").content.decode()
    assert "变更用户角色" in page and "协会财务" in page and "角色" in page
    assert ">finance<" not in page and "user.role_changed" not in page


@pytest.mark.django_db(transaction=True)  # a command closes its connections when it ends
def test_a_change_made_by_any_command_is_recorded_as_that_commands():
    from huzhu.cli import main

    main(["shell", "-c", "from huzhu.accounts.models import User; "
                         "User.objects.create_user(username='cli1', role='')"])
    user = User.objects.get(username="cli1")
    event = Event.objects.get(action="user.created", object_id=str(user.pk))
    assert event.actor_id is None and event.actor_label == "命令行 huzhu shell"
