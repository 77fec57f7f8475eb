"""Load product versions from the catalog, turn a stored version back into rules, and the
payer split of a premium."""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.db import transaction

from huzhu.errors import DomainError
from huzhu.organisations.models import Organisation
from huzhu.rules import catalog as rules_catalog
from huzhu.rules.model import Product

from .models import Offer, PayerKind, Period, ProductVersion


def _lists_snapshot(directory: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8")
            for p in sorted((directory / "lists").glob("*.toml"))}


def _digest(document: str, lists: dict[str, str]) -> str:
    h = hashlib.sha256(document.encode())
    for name, text in sorted(lists.items()):
        h.update(b"\0" + name.encode() + b"\0" + text.encode())
    return h.hexdigest()


def _fingerprint(directory: Path) -> tuple[tuple[str, int, int], ...]:
    files = sorted([*directory.glob("*.toml"), *(directory / "lists").glob("*.toml")])
    return tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in files)


@lru_cache(maxsize=4)
def _load(directory: str, fingerprint: tuple[tuple[str, int, int], ...]) -> Any:
    """Parse the catalog once per content of the directory (files, mtimes, sizes)."""
    path = Path(directory)
    catalog = rules_catalog.load_catalog(path)
    documents = {p.id: Path(p.path).read_text(encoding="utf-8")
                 for p in catalog.products.values()}
    return catalog, documents, _lists_snapshot(path)


@transaction.atomic
def catalog_import(*, directory: Path | str | None = None) -> list[ProductVersion]:
    """Store every product of the catalog directory; a version already stored is kept as is.

    A file whose version is already stored with different content is refused: a published
    version never changes, a correction gets a new version.
    """
    directory = Path(directory or rules_catalog.default_catalog_dir())
    catalog, documents, lists = _load(str(directory), _fingerprint(directory))
    stored = []
    for product in catalog.products.values():
        document = documents[product.id]
        digest = _digest(document, lists)
        existing = ProductVersion.objects.filter(code=product.id, version=product.version).first()
        if existing is not None:
            if existing.digest != digest and existing.document != document:
                raise DomainError(
                    f"产品 {product.id} 版本 {product.version} 已载入且内容不同：修改规则须使用新版本号",
                    code="version_changed")
            stored.append(existing)
            continue
        stored.append(ProductVersion.objects.create(
            code=product.id, version=product.version, name=product.name, document=document,
            lists_document=lists, digest=digest))
    return stored


def product_from_document(code: str, document: str, lists: dict[str, str]
                          ) -> tuple[Product | None, list[Any]]:
    """Read a product document (not stored, e.g. a draft) as ``huzhu rules check`` reads a
    file named ``<code>.toml``: the Product, or None, and every issue found."""
    with tempfile.TemporaryDirectory(prefix="huzhu-product-") as tmp:
        root = Path(tmp)
        (root / "lists").mkdir()
        for name, text in lists.items():
            (root / "lists" / name).write_text(text, encoding="utf-8")
        (root / f"{code}.toml").write_text(document, encoding="utf-8")
        issues: list[Any] = []
        parsed: dict[str, Any] = {}
        for path in sorted((root / "lists").glob("*.toml")):
            parsed.update(rules_catalog.read_lists(path, issues))
        product = rules_catalog.read_product(root / f"{code}.toml", parsed, issues)
    return (product if not issues else None), issues


@lru_cache(maxsize=256)
def _parse(code: str, digest: str, document: str, lists_items: tuple[tuple[str, str], ...]
           ) -> Product:
    product, issues = product_from_document(code, document, dict(lists_items))
    if product is None:
        raise DomainError(f"产品 {code} 的规则文件无法解析：{issues[0] if issues else ''}")
    return product


def product_rules(version: ProductVersion) -> Product:
    """Return the rules engine's Product for a stored version (parsed once per digest)."""
    return _parse(version.code, version.digest, version.document,
                  tuple(sorted(version.lists_document.items())))


@dataclass(frozen=True)
class PayerAmount:
    payer: str
    fen: int


def split_premium(*, split: list[dict[str, Any]], per_share_fen: int, shares: int
                  ) -> list[PayerAmount]:
    """Apply a payer rule to a premium; the parts always add up to ``per_share_fen × shares``."""
    total = per_share_fen * shares
    parts: list[PayerAmount] = []
    rest_payer = None
    for entry in split:
        payer = entry.get("payer")
        if payer not in PayerKind.values:
            raise DomainError(f"未知的出资方：{payer}")
        if entry.get("rest"):
            if rest_payer is not None:
                raise DomainError("分担规则只能有一个“其余部分”出资方")
            rest_payer = payer
            continue
        fen = int(entry.get("fen", -1))
        if fen < 0:
            raise DomainError(f"出资方 {PayerKind(payer).label} 的金额无效")
        parts.append(PayerAmount(payer, fen * shares))
    fixed = sum(p.fen for p in parts)
    if rest_payer is not None:
        if fixed > total:
            raise DomainError("分担金额之和超过保费")
        parts.append(PayerAmount(rest_payer, total - fixed))
    elif fixed != total:
        raise DomainError(f"分担金额之和 {fixed / 100:.2f} 元与保费 {total / 100:.2f} 元不符")
    return [p for p in parts if p.fen]


GIFT_FLAGS = {"model_worker": "is_model_worker", "hardship": "is_hardship"}


@transaction.atomic
def offer_create(
    *, period: Period, organisation: Organisation, product_version: ProductVersion,
    premium_per_share_fen: int, split: list[dict[str, Any]],
    gift_flags: list[str] | None = None, gift_payer: str = PayerKind.UNION_PROVINCE,
) -> Offer:
    if not organisation.path.startswith(period.fund_region.path):
        raise DomainError("提供产品的组织不在该保障期的统筹区内")
    split_premium(split=split, per_share_fen=premium_per_share_fen, shares=1)
    for flag in gift_flags or []:
        if flag not in GIFT_FLAGS:
            raise DomainError(f"未知的赠送对象：{flag}")
    return Offer.objects.create(
        period=period, organisation=organisation, product_version=product_version,
        premium_per_share_fen=premium_per_share_fen, split=split,
        gift_flags=gift_flags or [], gift_payer=gift_payer)


def ancestor_paths(path: str) -> list[str]:
    """``/1/5/42/`` → ``["/1/", "/1/5/", "/1/5/42/"]``."""
    keys = path.strip("/").split("/")
    return ["/" + "/".join(keys[: i + 1]) + "/" for i in range(len(keys))]


def offers_for(*, org_path: str, period: Period) -> dict[str, Offer]:
    """The offers that reach an organisation, by product code; the nearest organisation's
    offer wins when several levels offer the same product."""
    offers = (Offer.objects.filter(period=period, organisation__path__in=ancestor_paths(org_path))
              .select_related("product_version", "organisation"))
    chosen: dict[str, Offer] = {}
    for offer in sorted(offers, key=lambda o: o.organisation.depth):
        chosen[offer.product_version.code] = offer
    return chosen
