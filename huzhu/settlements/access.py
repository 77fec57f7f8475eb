"""Data scope for settlement records not yet matched: they have no member, so staff see those
of their own fund region (where they were received)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from huzhu.accounts.roles import Perm
from huzhu.organisations.access import staff_path

from .models import Settlement


def unmatched_visible_to(user: Any) -> QuerySet[Settlement]:
    if staff_path(user) is None or not user.can(Perm.VIEW_MEMBERS):
        return Settlement.objects.none()
    return Settlement.objects.filter(member__isnull=True, is_current=True,
                                     fund_region_id=user.organisation.fund_region_id)


def may_match(user: Any) -> bool:
    return staff_path(user) is not None and user.can(Perm.MANAGE_MEMBERS)
