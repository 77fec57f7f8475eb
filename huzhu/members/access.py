"""Data scope for members: staff see their subtree, an agent their unit, a member themself."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404

from huzhu.accounts.roles import Perm, Role
from huzhu.organisations.access import staff_path

from .models import Member


def members_visible_to(user: Any) -> QuerySet[Member]:
    if not user.is_authenticated or not user.can(Perm.VIEW_MEMBERS):
        return Member.objects.none()
    if user.role == Role.AGENT:
        return Member.objects.filter(unit_id=user.unit_id)
    if user.role == Role.MEMBER:
        return Member.objects.filter(pk=user.member_id)
    prefix = staff_path(user)
    if prefix is None:
        return Member.objects.none()
    return Member.objects.filter(org_path__startswith=prefix)


def member_get_for_user(user: Any, pk: int) -> tuple[Member, bool]:
    """Return the member if the user may see them, and whether they may change them."""
    member = (
        members_visible_to(user).select_related("unit", "organisation").filter(pk=pk).first()
    )
    if member is None:
        raise Http404("会员不存在")
    return member, user.can(Perm.MANAGE_MEMBERS) and user.role != Role.MEMBER
