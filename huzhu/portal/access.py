"""Who reaches which portal page: members their own pages only; staff who review claims answer
the 工单 of members in their subtree; the knowledge base, one for the whole platform, is edited
by those of them at the root of the union tree (the association)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404

from huzhu.accounts.roles import Perm, Role
from huzhu.members.models import Member
from huzhu.organisations.access import staff_path

from .models import Ticket


def member_of(user: Any) -> Member:
    """The member a member user is; anyone else gets a 404 (a member page is not theirs)."""
    if not user.is_authenticated or user.role != Role.MEMBER or user.member_id is None:
        raise Http404("页面不存在")
    member: Member = user.member
    return member


def tickets_visible_to(user: Any) -> QuerySet[Ticket]:
    prefix = staff_path(user)
    if prefix is None or not user.can(Perm.REVIEW_CLAIMS):
        return Ticket.objects.none()
    return Ticket.objects.filter(org_path__startswith=prefix)


def may_answer(user: Any) -> bool:
    return staff_path(user) is not None and user.can(Perm.REVIEW_CLAIMS)


def may_edit_kb(user: Any) -> bool:
    return may_answer(user) and user.organisation.parent_id is None
