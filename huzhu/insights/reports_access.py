"""Who may read which report (ADR 0001 scope by the union tree; anything outside answers 404).

- The annual fund report: staff holding ``Perm.VIEW_INSIGHTS`` (reviewers, finance, city and
  county staff, leadership, supervisors), for their own union or any province, city or county
  union below it; a city's staff read their city only.
- A unit's bulletin: the unit's own agent, and staff who see the unit (its union is in their
  subtree: ``units_visible_to``); another unit answers 404.
- The disclosures' staff pages: staff with ``Perm.VIEW_INSIGHTS`` for the fund regions in their
  subtree (proposing, publishing and withdrawing are further limited to the region's finance,
  ``reports_disclosure.may_publish``).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from huzhu.accounts.roles import Perm
from huzhu.organisations.access import staff_path, unit_get_for_user
from huzhu.organisations.models import Organisation, OrgKind, Unit

from .models_reports import Disclosure

REPORT_KINDS = (OrgKind.PROVINCE, OrgKind.CITY, OrgKind.COUNTY)


def report_prefix(user: Any) -> str:
    prefix = staff_path(user)
    if prefix is None or not user.can(Perm.VIEW_INSIGHTS):
        raise PermissionDenied
    return prefix


def report_orgs_for(user: Any) -> QuerySet[Organisation]:
    """The unions whose annual report the user may read: their own and those below it."""
    prefix = report_prefix(user)
    return (Organisation.objects.filter(path__startswith=prefix, kind__in=REPORT_KINDS)
            .order_by("path"))


def report_org_get_for_user(user: Any, pk: int) -> Organisation:
    org = report_orgs_for(user).filter(pk=pk).select_related("fund_region").first()
    if org is None:
        raise Http404("没有这个组织")
    return org


def regions_for(user: Any) -> QuerySet[Organisation]:
    """The fund regions whose disclosures the user may follow: those in their subtree, and the
    one their own union belongs to when they sit below its root (a city in the province's)."""
    prefix = report_prefix(user)
    own = user.organisation.fund_region_id if user.organisation else None
    return (Organisation.objects.filter(path__startswith=prefix, is_fund_region=True)
            | Organisation.objects.filter(pk__in=[own] if own else [])).distinct().order_by("path")


def disclosure_get_for_user(user: Any, pk: int) -> Disclosure:
    d = (Disclosure.objects.select_related("fund_region", "proposed_by", "published_by",
                                           "withdrawn_by")
         .filter(pk=pk, fund_region__in=regions_for(user)).first())
    if d is None:
        raise Http404("没有这份公示")
    return d


def bulletin_unit_get_for_user(user: Any, pk: int) -> Unit:
    unit, _may_change = unit_get_for_user(user, pk)
    return unit
