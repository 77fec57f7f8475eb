"""Whether a member may take a product in a period: the product's rules, in Chinese words
that name the field to correct. Shared by roster rows and single enrollments."""

from __future__ import annotations

import datetime
from typing import Any

from huzhu.members.models import InsuranceType
from huzhu.rules import eligibility as rules_eligibility
from huzhu.rules.model import ClaimFacts, Eligibility, Product

# National platform insutype codes, which product files may also use.
INSUTYPE_CODES = {InsuranceType.EMPLOYEE: "310", InsuranceType.RESIDENT: "390",
                  InsuranceType.NONE: ""}


def eligibility_errors(product: Product, values: dict[str, Any], shares: int,
                       held: set[str], on: datetime.date) -> list[tuple[str, str]]:
    """Return (field, message) for every rule the member fails; ``values`` are a member's
    cleaned fields (gender, birth_date, insurance_type, is_union_member)."""
    errors: list[tuple[str, str]] = []
    elig = product.eligibility
    insurance = values["insurance_type"]
    allowed = set(elig.insurance_types)
    if allowed and not allowed & {insurance, INSUTYPE_CODES[insurance]}:
        errors.append(("insurance_type",
                       f"{product.name}不接受“{InsuranceType(insurance).label}”参保人员"))
    facts = ClaimFacts(gender=values["gender"], birth_date=values["birth_date"],
                       union_member=values["is_union_member"], shares=shares,
                       held_products=tuple(held))
    # Insurance type is checked above against both our words and the national codes.
    rules = Eligibility(age_bands=elig.age_bands, union_member=elig.union_member,
                        requires_products=elig.requires_products, max_shares=elig.max_shares)
    for reason in rules_eligibility.check(facts, rules, on):
        rule = reason.params.get("rule")
        if rule == "age":
            errors.append(("id_number", f"年龄 {reason.params['age']} 岁不在{product.name}的参保年龄范围内"))
        elif rule == "union_member":
            errors.append(("is_union_member", f"{product.name}仅限工会会员参加"))
        elif rule == "requires_products":
            errors.append(("product", f"{product.name}须同时参加前置产品："
                                      f"{'、'.join(reason.params['any_of'])}"))
        else:
            errors.append(("product", f"不符合{product.name}的参保条件"))
    if shares > elig.max_shares:
        errors.append(("shares", f"{product.name}每人最多 {elig.max_shares} 份"))
    return errors
