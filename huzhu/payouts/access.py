"""Data scope for payout batches: finance staff see the batches of their fund region."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404

from huzhu.accounts.roles import Perm

from .models import PayoutBatch


def region_of(user: Any) -> Any:
    org = getattr(user, "organisation", None)
    if org is None or not user.can(Perm.MANAGE_PAYOUTS):
        return None
    return org if org.is_fund_region else org.fund_region


def batches_visible_to(user: Any) -> QuerySet[PayoutBatch]:
    region = region_of(user)
    if region is None:
        return PayoutBatch.objects.none()
    return PayoutBatch.objects.filter(fund_region=region)


def batch_get_for_user(user: Any, pk: int) -> PayoutBatch:
    batch = batches_visible_to(user).filter(pk=pk).select_related(
        "made_by", "checked_by", "fund_region").first()
    if batch is None:
        raise Http404("批次不存在")
    return batch
