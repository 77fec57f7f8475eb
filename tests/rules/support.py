"""Shared helpers for the rules tests: the shipped catalog and a claim-facts builder."""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from typing import Any

from huzhu.rules.catalog import Catalog, load_catalog
from huzhu.rules.expr import SETTLEMENT_FIELDS
from huzhu.rules.model import Assessment, ClaimFacts, Product, Usage
from huzhu.rules.money import parse_yuan
from huzhu.rules.scalar import assess, next_usage


@lru_cache(maxsize=1)
def catalog() -> Catalog:
    return load_catalog()


def product(pid: str) -> Product:
    return catalog().product(pid)


def d(text: str) -> date:
    return date.fromisoformat(text)


def facts(**kw: Any) -> ClaimFacts:
    """Build facts: settlement fields in yuan strings, dates as ISO strings."""
    amounts = {k: parse_yuan(kw.pop(k)) for k in list(kw) if k in SETTLEMENT_FIELDS}
    for k, v in list(kw.items()):
        if isinstance(v, str) and k.endswith(("date", "_start", "_end")) and v[:2] == "20":
            kw[k] = d(v)
    kw.setdefault("coverage_start", d("2024-01-01"))
    return ClaimFacts(amounts=amounts, **kw)


def stay(days: int, start: str = "2024-03-01", **kw: Any) -> ClaimFacts:
    """A hospital stay of ``days`` nights."""
    begin = d(start)
    return facts(begndate=begin, enddate=date.fromordinal(begin.toordinal() + days), **kw)


def pay(pid: str, f: ClaimFacts, usage: Usage | None = None, as_of: str | None = None) -> Assessment:
    return assess(f, product(pid), usage, d(as_of) if as_of else None)


def pay_sequence(pid: str, claims: list[ClaimFacts]) -> list[int]:
    """Assess claims of one member in order, carrying usage; return payable fen."""
    usage, out = None, []
    for f in claims:
        a = assess(f, product(pid), usage, trace=False)
        usage = next_usage(usage, a)
        out.append(a.payable_fen)
    return out


def codes(a: Assessment, benefit: str) -> list[str]:
    return [r.code.value for r in a.line(benefit).reasons]
