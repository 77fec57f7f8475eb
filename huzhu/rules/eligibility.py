"""Who may hold a product: age bands by gender, insurance type, union membership,
prerequisite products and the number of shares.

Age is taken on the coverage start ([G]: schemes state the band at enrolment, e.g. Tianjin
"men < 60; women < 55"), so a member who turns 60 inside the period stays covered.
"""

from __future__ import annotations

from datetime import date

from huzhu.rules.model import ClaimFacts, Eligibility, Reason, ReasonItem


def age_on(birth: date, on: date) -> int:
    """Return the age in whole years on ``on``."""
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _age_ok(elig: Eligibility, gender: str | None, age: int) -> bool:
    bands = [b for b in elig.age_bands if b.gender in (None, gender)]
    return any(b.min_age <= age <= b.max_age for b in bands)


def check(facts: ClaimFacts, elig: Eligibility, on: date | None) -> list[ReasonItem]:
    """Return NOT_ELIGIBLE reasons; facts the record does not carry are not held against it."""
    out: list[ReasonItem] = []
    if elig.age_bands and facts.birth_date and on and (facts.gender or
                                                        all(b.gender is None for b in elig.age_bands)):
        age = age_on(facts.birth_date, on)
        if not _age_ok(elig, facts.gender, age):
            out.append(ReasonItem(Reason.NOT_ELIGIBLE, {"rule": "age", "age": age,
                                                        "gender": facts.gender or ""}))
    if elig.insurance_types and facts.insutype and facts.insutype not in elig.insurance_types:
        out.append(ReasonItem(Reason.NOT_ELIGIBLE, {"rule": "insutype", "insutype": facts.insutype,
                                                    "allowed": sorted(elig.insurance_types)}))
    if elig.union_member and not facts.union_member:
        out.append(ReasonItem(Reason.NOT_ELIGIBLE, {"rule": "union_member"}))
    if elig.requires_products and not elig.requires_products & set(facts.held_products):
        out.append(ReasonItem(Reason.NOT_ELIGIBLE, {"rule": "requires_products",
                                                    "any_of": sorted(elig.requires_products)}))
    return out


def effective_shares(facts: ClaimFacts, elig: Eligibility) -> int:
    """Return the shares that count: at most the product's maximum (extra shares are void)."""
    return max(1, min(facts.shares, elig.max_shares))
