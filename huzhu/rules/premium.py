"""Premiums per share and how payers split them.

A split is a rule that must add up to the premium; the catalog rejects one that does not
(e.g. Inner Mongolia 森工: employer 50 + group union 10 + regional union 10 + member 30 = 100).
"""

from __future__ import annotations

from dataclasses import dataclass

from huzhu.rules.model import PayerShare, Premium, Product


@dataclass(frozen=True)
class PremiumQuote:
    per_share_fen: int
    shares: int
    total_fen: int
    split: tuple[PayerShare, ...]


class PremiumError(ValueError):
    pass


def quote(product: Product, shares: int = 1, when: tuple[str, ...] = ()) -> PremiumQuote:
    """Return the premium for ``shares`` shares; ``when`` selects a variant (e.g. union_card)."""
    premium: Premium | None = product.premium
    if premium is None:
        raise PremiumError(f"产品 {product.id} 没有公布保费")
    if not 1 <= shares <= product.eligibility.max_shares:
        raise PremiumError(f"份数 {shares} 超出 1-{product.eligibility.max_shares}")
    per_share, split = premium.per_share_fen, premium.split
    for flag, fen, variant_split in premium.variants:
        if flag in when:
            per_share, split = fen, variant_split
            break
    total = per_share * shares
    return PremiumQuote(per_share, shares, total,
                        tuple(PayerShare(p.payer, p.fen * shares) for p in split))
