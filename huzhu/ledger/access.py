"""Data scope of the ledger: finance staff see the books kept by their org and every org below.

A province finance officer sees the whole fund region; a city's finance officer sees the city's
own books and its counties', never another city's. Anything outside the scope answers 404.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from huzhu.accounts.roles import Perm
from huzhu.organisations.access import staff_path
from huzhu.organisations.models import Organisation

from .models import Account, Leg, Transaction


def ledger_prefix(user: Any) -> str:
    """Return the subtree prefix whose books the user may read; refuse users without the right."""
    prefix = staff_path(user)
    if prefix is None or not user.can(Perm.VIEW_LEDGER):
        raise PermissionDenied
    return prefix


def ledger_orgs_for(user: Any) -> QuerySet[Organisation]:
    """The orgs in scope that keep books, plus the user's own org (its subtree's statement)."""
    prefix = ledger_prefix(user)
    keeping = Account.objects.filter(org_path__startswith=prefix).values("org_id")
    return (Organisation.objects.filter(path__startswith=prefix, fund_region__isnull=False)
            .filter(pk__in=keeping) | Organisation.objects.filter(
                pk=user.organisation_id, fund_region__isnull=False)).distinct().order_by("path")


def ledger_org_get_for_user(user: Any, pk: int) -> Organisation:
    prefix = ledger_prefix(user)
    org = Organisation.objects.filter(pk=pk, path__startswith=prefix,
                                      fund_region__isnull=False).first()
    if org is None:
        raise Http404("没有这个核算单位")
    return org


def account_get_for_user(user: Any, pk: int) -> Account:
    prefix = ledger_prefix(user)
    account = (Account.objects.select_related("org", "balance")
               .filter(pk=pk, org_path__startswith=prefix).first())
    if account is None:
        raise Http404("没有这个科目")
    return account


def transaction_get_for_user(user: Any, pk: int) -> tuple[Transaction, list[tuple[Leg, bool]]]:
    """Return the transaction and its legs, each flagged visible; 404 unless one is in scope."""
    prefix = ledger_prefix(user)
    txn = Transaction.objects.filter(pk=pk).select_related("reverses").first()
    if txn is None:
        raise Http404("没有这笔凭证")
    legs = [(leg, leg.account.org_path.startswith(prefix))
            for leg in txn.legs.select_related("account", "account__org").order_by("id")]
    if not any(visible for _, visible in legs):
        raise Http404("没有这笔凭证")
    return txn, legs
