"""Show fen as yuan on ledger pages: ``{{ amount|yuan }}`` → ``1,234.56``."""

from __future__ import annotations

from django import template

from huzhu.ledger.statement import format_percent
from huzhu.rules.money import format_yuan

register = template.Library()


@register.filter
def yuan(fen: int | None) -> str:
    return "—" if fen is None else format_yuan(int(fen), grouping=True)


@register.filter
def credit_yuan(fen: int) -> str:
    """A credit leg (negative fen) shown as a positive amount in the 贷方 column."""
    return format_yuan(-int(fen), grouping=True)


register.filter("percent", format_percent)
