"""三权分立 and sessions: the permission matrix and the idle timeout."""

from __future__ import annotations

import time_machine
from django.test import Client
from django.urls import reverse

from huzhu.accounts.roles import ROLE_PERMISSIONS, Perm, Role

ADMINS = (Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.AUDIT_ADMIN)
BUSINESS = {Perm.VIEW_MEMBERS, Perm.MANAGE_MEMBERS, Perm.REVEAL_PII, Perm.MANAGE_UNITS,
            Perm.POST_LEDGER}


def test_administrators_hold_no_business_permission():
    for role in ADMINS:
        assert not ROLE_PERMISSIONS[role] & BUSINESS, role


def test_the_three_administrators_do_not_overlap():
    sysadmin, security, audit = (ROLE_PERMISSIONS[r] for r in ADMINS)
    assert Perm.VIEW_AUDIT in audit and Perm.VIEW_AUDIT not in sysadmin | security
    assert Perm.MANAGE_ROLES in security and Perm.MANAGE_ROLES not in sysadmin | audit
    assert Perm.MANAGE_USERS in sysadmin and Perm.MANAGE_USERS not in security | audit


def test_only_reviewers_and_finance_may_reveal():
    revealers = {r for r, perms in ROLE_PERMISSIONS.items() if Perm.REVEAL_PII in perms}
    assert revealers == {Role.REVIEWER, Role.FINANCE}


def test_idle_session_is_logged_out(world, settings):
    settings.IDLE_SECONDS = 600
    client = Client()
    with time_machine.travel("2026-11-23 09:00 +0800", tick=False) as traveller:
        client.force_login(world.wangwu)
        assert client.get(reverse("web:member_list")).status_code == 200
        traveller.shift(300)
        assert client.get(reverse("web:member_list")).status_code == 200
        traveller.shift(601)
        response = client.get(reverse("web:member_list"))
        assert response.status_code == 302 and "/login/" in response["Location"]
