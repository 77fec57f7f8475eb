"""The bureau's codes as people read them (issue 17 part 3): 险种类型, 医疗类别, 医院等级."""

from __future__ import annotations

from django import template

from huzhu.settlements.format import HOSP_LEVELS, INSUTYPES, LEVEL_NAMES, MED_TYPES, code_label

register = template.Library()


@register.filter
def insutype_zh(code: object) -> str:
    return code_label(INSUTYPES, code)


@register.filter
def med_type_zh(code: object) -> str:
    return code_label(MED_TYPES, code)


@register.filter
def hosp_lv_zh(code: object) -> str:
    """A stored settlement's level (1/2/3, what the rules read) or a platform code (01–11)."""
    if isinstance(code, int) and code in LEVEL_NAMES:
        return LEVEL_NAMES[code]
    return code_label(HOSP_LEVELS, code)


@register.filter
def risk_zh(code: object) -> str:
    """A risk finding's name (``OVER_THRESHOLD`` → 给付金额超过人工审核金额)."""
    from huzhu.claims.risk import ZH

    return ZH.get(str(code), "其他风险提示")


@register.filter
def product_zh(code: object) -> str:
    """A product's name for its code (``guangxi-2024-huzhu1`` → its name in the catalog)."""
    from huzhu.ledger.display import product_name

    return product_name(str(code))


@register.filter
def account_number(code: object) -> str:
    """The account's number in the chart (``4101.employer.x.2026`` → 4101)."""
    return str(code).split(".", 1)[0]


@register.filter
def account_title(name: object) -> str:
    """An account's name with the products it names by code named by their names."""
    from huzhu.ledger.display import names_products

    return names_products(str(name))


@register.filter
def source_zh(object_type: object) -> str:
    """What a ledger transaction or an event came from (``claims.claim`` → 理赔)."""
    from huzhu.audit.display import object_type_label

    return object_type_label(str(object_type)) if object_type else "—"
