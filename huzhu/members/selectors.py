"""Reads shared by the member pages and the API: who sees full names, and the member search."""

from __future__ import annotations

from typing import Any

from huzhu.accounts.roles import Perm
from huzhu.organisations.access import organisation_get_for_user, unit_get_for_user
from huzhu.pii.crypto import blind_indexes
from huzhu.pii.identifiers import IdentifierError, check_resident_id
from huzhu.pii.masking import mask_id_number

from .access import members_visible_to


def full_names_for(user: Any) -> bool:
    """Staff who manage members and agents see names in full; other roles see 张*三."""
    return user.can(Perm.MANAGE_MEMBERS)


def member_search(user: Any, params: Any) -> tuple[Any, dict[str, str]]:
    """Return the scoped, filtered member queryset for the list page and its filters."""
    qs = members_visible_to(user)
    filters = {k: params.get(k, "").strip() for k in ("q", "org", "unit")}
    q = filters["q"]
    if q:
        try:
            rid = check_resident_id(q)
        except IdentifierError:
            qs = qs.filter(name__startswith=q) if len(q) < 18 else qs.none()
        else:
            qs = qs.filter(id_number_bidx__in=blind_indexes(rid.number, field="id_number"))
            # The full number is not echoed back into the page.
            filters["q"] = ""
            filters["id_searched"] = mask_id_number(rid.number)
    if filters["org"].isdigit():
        org = organisation_get_for_user(user, int(filters["org"]))[0]
        qs = qs.filter(org_path__startswith=org.path)
    if filters["unit"].isdigit():
        unit = unit_get_for_user(user, int(filters["unit"]))[0]
        qs = qs.filter(unit=unit)
    return qs, filters
