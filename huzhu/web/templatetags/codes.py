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
