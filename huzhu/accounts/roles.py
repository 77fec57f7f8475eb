"""Roles and what each may do. The one table every permission check reads.

三权分立 (MLPS 8.1.5): the system, security and audit administrators are separate roles, none
holds business permissions, and none can grant itself another role.
"""

from __future__ import annotations

from enum import StrEnum

from django.db import models


class Role(models.TextChoices):
    SYSTEM_ADMIN = "system_admin", "系统管理员"
    SECURITY_ADMIN = "security_admin", "安全管理员"
    AUDIT_ADMIN = "audit_admin", "审计管理员"
    REVIEWER = "reviewer", "审核员"
    FINANCE = "finance", "协会财务"
    CITY_STAFF = "city_staff", "市级工会经办"
    COUNTY_STAFF = "county_staff", "县级工会经办"
    AGENT = "agent", "单位经办人"
    MEMBER = "member", "会员"
    # The medical insurance bureau's machine account of one fund region: pushes that region's
    # settlements through the API, and nothing else.
    BUREAU_INTERFACE = "bureau_interface", "医保数据接口"
    # 理事会 and 监事会: read the statements, the reports and the cockpit; change nothing.
    LEADERSHIP = "leadership", "理事会（领导）"
    SUPERVISOR = "supervisor", "监事会"


class Perm(StrEnum):
    VIEW_ORGS = "organisations.view_tree"
    MANAGE_ORGS = "organisations.manage_tree"
    VIEW_UNITS = "organisations.view_unit"
    MANAGE_UNITS = "organisations.manage_unit"
    VIEW_MEMBERS = "members.view_member"
    MANAGE_MEMBERS = "members.manage_member"
    REVEAL_PII = "members.reveal_pii"
    VIEW_AUDIT = "audit.view_event"
    VIEW_LOGIN_LOG = "audit.view_login_log"
    MANAGE_USERS = "accounts.manage_user"
    MANAGE_ROLES = "accounts.manage_role"
    MANAGE_TOKENS = "accounts.manage_token"
    RESET_SECOND_FACTOR = "accounts.reset_second_factor"
    VIEW_LEDGER = "ledger.view_ledger"
    POST_LEDGER = "ledger.post_transaction"
    FILE_CLAIMS = "claims.file_claim"
    REVIEW_CLAIMS = "claims.review_claim"
    MANAGE_PAYOUTS = "payouts.manage_batch"
    RECEIVE_SETTLEMENTS = "claims.receive_settlement"
    # The State Council's holiday schedule, which every review deadline counts by: system
    # configuration, entered at the province (the root of the union tree).
    MANAGE_CALENDAR = "claims.manage_calendar"
    # The association's view (huzhu/insights): the cockpit and the reports, and the policy
    # simulator, which replays past claims under a changed product and changes nothing real.
    VIEW_INSIGHTS = "insights.view_cockpit"
    SIMULATE_POLICY = "insights.simulate_policy"
    # 重病关怀: the county union follows up its seriously ill members (huzhu/care).
    MANAGE_CARE = "care.manage_followup"
    # Product versions written in the browser: draft, propose, and (another person) approve.
    MANAGE_PRODUCTS = "products.manage_version"
    # The scheme year (docs/adr/0021): periods, offers and premiums, targets handed down the
    # tree, reminders to units not yet enrolled. Periods only at a fund region's own union.
    MANAGE_SCHEME = "products.manage_scheme"
    CONSOLATION = "payouts.consolation"  # propose / approve consolation payments (慰问金)


_BUSINESS_READ = {Perm.VIEW_ORGS, Perm.VIEW_UNITS, Perm.VIEW_MEMBERS}
_BUSINESS_WRITE = {Perm.MANAGE_UNITS, Perm.MANAGE_MEMBERS}
# What the association's leadership and its supervisors read: the tree, the ledger, the cockpit
# and the reports. No personal number in full, no write of any kind.
_OVERSIGHT = {Perm.VIEW_ORGS, Perm.VIEW_UNITS, Perm.VIEW_LEDGER, Perm.VIEW_INSIGHTS}

ROLE_PERMISSIONS: dict[str, frozenset[Perm]] = {
    Role.SYSTEM_ADMIN: frozenset(
        {Perm.VIEW_ORGS, Perm.MANAGE_ORGS, Perm.VIEW_UNITS, Perm.MANAGE_USERS, Perm.MANAGE_TOKENS,
         Perm.MANAGE_CALENDAR}
    ),
    Role.SECURITY_ADMIN: frozenset({Perm.MANAGE_ROLES, Perm.VIEW_LOGIN_LOG,
                                    Perm.RESET_SECOND_FACTOR}),
    Role.AUDIT_ADMIN: frozenset({Perm.VIEW_AUDIT, Perm.VIEW_LOGIN_LOG, Perm.VIEW_LEDGER}),
    Role.REVIEWER: frozenset(_BUSINESS_READ | _BUSINESS_WRITE
                             | {Perm.REVEAL_PII, Perm.REVIEW_CLAIMS, Perm.VIEW_INSIGHTS,
                                Perm.MANAGE_PRODUCTS, Perm.CONSOLATION}),
    Role.FINANCE: frozenset(_BUSINESS_READ | {Perm.REVEAL_PII, Perm.VIEW_LEDGER, Perm.POST_LEDGER,
                                              Perm.MANAGE_PAYOUTS, Perm.VIEW_INSIGHTS,
                                              Perm.SIMULATE_POLICY, Perm.MANAGE_PRODUCTS,
                                              Perm.MANAGE_SCHEME}),
    Role.CITY_STAFF: frozenset(_BUSINESS_READ | _BUSINESS_WRITE
                               | {Perm.MANAGE_ORGS, Perm.REVIEW_CLAIMS, Perm.VIEW_INSIGHTS,
                                  Perm.MANAGE_CARE, Perm.MANAGE_SCHEME, Perm.CONSOLATION}),
    # A county union runs the agency point (代办点) that files claims for members.
    Role.COUNTY_STAFF: frozenset(_BUSINESS_READ | _BUSINESS_WRITE
                                 | {Perm.REVIEW_CLAIMS, Perm.FILE_CLAIMS, Perm.VIEW_INSIGHTS,
                                    Perm.MANAGE_CARE, Perm.MANAGE_SCHEME, Perm.CONSOLATION}),
    Role.LEADERSHIP: frozenset(_OVERSIGHT | {Perm.SIMULATE_POLICY}),
    Role.SUPERVISOR: frozenset(_OVERSIGHT),
    Role.AGENT: frozenset({Perm.VIEW_UNITS, Perm.VIEW_MEMBERS, Perm.MANAGE_MEMBERS,
                           Perm.FILE_CLAIMS}),
    Role.MEMBER: frozenset({Perm.VIEW_MEMBERS, Perm.FILE_CLAIMS}),
    Role.BUREAU_INTERFACE: frozenset({Perm.RECEIVE_SETTLEMENTS}),
}

# 三员: the three administrators. Their accounts are set up from the command line at
# installation (docs/adr/0011); no page lets anyone grant one of these roles.
ADMIN_ROLES = frozenset({Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.AUDIT_ADMIN})

# Which roles each administrator may assign (the security administrator: 授权); nobody may
# assign the role they hold, nor an administrator's role (huzhu/accounts/privileges.py).
ASSIGNABLE_BY: dict[str, frozenset[str]] = {
    Role.SECURITY_ADMIN: frozenset(r for r in Role.values if r not in ADMIN_ROLES),
}

# Permissions over the platform itself (accounts, roles, tokens, the event log): never passed
# on by someone who does not hold them.
CONTROL_PERMS = frozenset({Perm.MANAGE_USERS, Perm.MANAGE_ROLES, Perm.MANAGE_TOKENS,
                           Perm.VIEW_AUDIT, Perm.VIEW_LOGIN_LOG})

# Accounts of machines, not people: no password, no pages, an API token only.
MACHINE_ROLES = frozenset({Role.BUREAU_INTERFACE})

STAFF_ROLES = frozenset(
    {Role.REVIEWER, Role.FINANCE, Role.CITY_STAFF, Role.COUNTY_STAFF, Role.LEADERSHIP,
     Role.SUPERVISOR, Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.AUDIT_ADMIN}
)


def role_has(role: str, perm: Perm) -> bool:
    return perm in ROLE_PERMISSIONS.get(role, frozenset())
