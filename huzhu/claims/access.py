"""Data scope for claims and settlement records: staff see their subtree (by the member's
org path), an agent their unit's members, a member themself. (Unmatched settlements:
:mod:`huzhu.settlements.access`.)"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404

from huzhu.accounts.roles import Perm, Role
from huzhu.organisations.access import staff_path

from .models import Claim


def claims_visible_to(user: Any) -> QuerySet[Claim]:
    if not user.is_authenticated or not user.can(Perm.VIEW_MEMBERS):
        return Claim.objects.none()
    if user.role == Role.AGENT:
        return Claim.objects.filter(member__unit_id=user.unit_id)
    if user.role == Role.MEMBER:
        return Claim.objects.filter(member_id=user.member_id)
    prefix = staff_path(user)
    if prefix is None:
        return Claim.objects.none()
    return Claim.objects.filter(org_path__startswith=prefix)


def claim_get_for_user(user: Any, pk: int) -> Claim:
    """One claim in the user's scope (404 outside it), with ``shown_status``: the state a
    person sees of it (``huzhu/payouts/shown.py``)."""
    from huzhu.payouts.shown import claims_shown

    claim = (claims_shown(claims_visible_to(user))
             .select_related("member", "settlement", "product_version", "period", "assessment",
                             "enrollment").filter(pk=pk).first())
    if claim is None:
        raise Http404("理赔不存在")
    return claim
