"""Template filters that mask personal data with the one documented pattern."""

from django import template

from huzhu.pii import masking

register = template.Library()

register.filter("mask_name", masking.mask_name)
register.filter("mask_id", masking.mask_id_number)
register.filter("mask_phone", masking.mask_phone)
register.filter("mask_card", masking.mask_bank_card)


@register.filter
def name_for(name: str, full: bool) -> str:
    return name if full else masking.mask_name(name)
