"""The claims list's filters (issue 17 part 5): state, dates, product, organisation, review
level, source, the member's name — and the member found by ID number, which is posted and
never put in a URL: the list is then filtered by the member's record number."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet

from huzhu.organisations.access import organisations_visible_to
from huzhu.payouts.shown import ClaimState, claims_in_state, claims_shown

from .access import claims_visible_to
from .models import Claim, ClaimSource

KEYS = ("status", "q", "member", "date_from", "date_to", "product", "org", "level", "source")


@dataclass
class ClaimFilters:
    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)

    def query(self) -> str:
        from urllib.parse import urlencode

        return urlencode({k: v for k, v in self.values.items() if v})


def _date(text: str) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        return None


def claim_search(user: Any, params: Any) -> tuple[QuerySet[Claim], ClaimFilters]:
    """The user's claims narrowed by ``params`` (a QueryDict); a filter that makes no sense
    is named in ``errors`` and left out, never widening the scope."""
    f = ClaimFilters({k: str(params.get(k, "")).strip() for k in KEYS})
    v = f.values
    qs = claims_shown(claims_visible_to(user))
    if v["status"] in ClaimState.values:
        qs = claims_in_state(qs, v["status"])
    elif v["status"]:
        f.errors["status"] = "未知的状态"
    if v["q"]:
        qs = qs.filter(member__name__contains=v["q"][:60])
    if v["member"]:
        qs = qs.filter(member_id=int(v["member"])) if v["member"].isdigit() else qs.none()
    for key, lookup in (("date_from", "event_date__gte"), ("date_to", "event_date__lte")):
        if v[key]:
            day = _date(v[key])
            if day is None:
                f.errors[key] = "日期格式应为 YYYY-MM-DD"
            else:
                qs = qs.filter(**{lookup: day})
    if v["product"]:
        qs = qs.filter(product_code=v["product"])
    if v["org"]:
        org = (organisations_visible_to(user).filter(pk=int(v["org"])).first()
               if v["org"].isdigit() else None)
        if org is None:
            f.errors["org"] = "不在您的管理范围内的组织"
            qs = qs.none()
        else:
            qs = qs.filter(org_path__startswith=org.path)
    if v["level"]:
        if v["level"].isdigit():
            qs = qs.filter(review_level=int(v["level"]))
        else:
            f.errors["level"] = "审核级次应为数字"
    if v["source"]:
        if v["source"] in ClaimSource.values:
            qs = qs.filter(source=v["source"])
        else:
            f.errors["source"] = "未知的来源"
    return qs, f


def product_choices(user: Any) -> list[tuple[str, str]]:
    """The products of the user's claims, by name (one entry per product code)."""
    from huzhu.products.models import ProductVersion

    codes = set(claims_visible_to(user).order_by().values_list("product_code", flat=True)
                .distinct()[:200])
    names: dict[str, str] = {}
    for pv in ProductVersion.objects.filter(code__in=codes).order_by("code", "version"):
        names[pv.code] = pv.name
    return sorted(names.items(), key=lambda kv: kv[1])
