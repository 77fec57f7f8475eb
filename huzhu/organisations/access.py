"""Data scope by the union tree: the one place that decides which units a user may see.

Staff see their organisation's subtree; an agent sees the unit they work for; nobody else
sees units. Anything outside the scope answers 404, as if it did not exist.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404

from huzhu.accounts.roles import STAFF_ROLES, Perm, Role

from .models import Organisation, Unit


def staff_path(user: Any) -> str | None:
    """Return the subtree prefix a staff user sees, or None if the user is not staff."""
    if not user.is_authenticated or user.role not in STAFF_ROLES or user.organisation_id is None:
        return None
    return user.organisation.path


def organisations_visible_to(user: Any) -> QuerySet[Organisation]:
    prefix = staff_path(user)
    if prefix is None or not user.can(Perm.VIEW_ORGS):
        return Organisation.objects.none()
    return Organisation.objects.filter(path__startswith=prefix)


def organisation_get_for_user(user: Any, pk: int) -> tuple[Organisation, bool]:
    org = organisations_visible_to(user).filter(pk=pk).first()
    if org is None:
        raise Http404("组织不存在")
    return org, user.can(Perm.MANAGE_ORGS)


def units_visible_to(user: Any) -> QuerySet[Unit]:
    if not user.is_authenticated or not user.can(Perm.VIEW_UNITS):
        return Unit.objects.none()
    if user.role == Role.AGENT:
        return Unit.objects.filter(pk=user.unit_id)
    prefix = staff_path(user)
    if prefix is None:
        return Unit.objects.none()
    return Unit.objects.filter(org_path__startswith=prefix)


def unit_get_for_user(user: Any, pk: int) -> tuple[Unit, bool]:
    """Return the unit if the user may see it, and whether they may change it."""
    unit = units_visible_to(user).select_related("organisation").filter(pk=pk).first()
    if unit is None:
        raise Http404("单位不存在")
    return unit, user.can(Perm.MANAGE_UNITS)
