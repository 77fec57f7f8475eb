"""Show integer fen as yuan: ``{{ amount_fen|yuan }}`` → ``1,234.50``."""

from django import template

from huzhu.rules.money import capitals, format_yuan

register = template.Library()


@register.filter
def yuan(fen: int | None) -> str:
    return "" if fen is None else format_yuan(int(fen), grouping=True)


register.filter("capitals", capitals)
