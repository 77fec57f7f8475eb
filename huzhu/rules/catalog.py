"""Load and validate product versions (TOML) and disease lists from the catalog directory.

Every problem is reported with the file, the key and what is wrong; :func:`check_catalog`
collects all of them instead of stopping at the first. The language is documented in
``docs/rules.md``.
"""

from __future__ import annotations

import hashlib
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from huzhu.rules.catalog_benefits import read_benefit
from huzhu.rules.catalog_reader import Reader
from huzhu.rules.model import (
    AgeBand,
    Assumption,
    Eligibility,
    PayerShare,
    Premium,
    Product,
    Timing,
)

SOURCE_TAGS = ("R", "S", "G", "P")
DEADLINES = ("none", "days_after_settlement", "days_after_period_end", "next_year_date", "fixed_date")


@dataclass(frozen=True)
class Issue:
    file: str
    key: str
    problem: str

    def __str__(self) -> str:
        return f"{self.file}: {self.key or '(文件)'}: {self.problem}"


class CatalogError(ValueError):
    def __init__(self, issues: list[Issue]) -> None:
        self.issues = issues
        super().__init__("\n".join(str(i) for i in issues))


@dataclass(frozen=True)
class DiseaseList:
    id: str
    name: str
    source: str
    names: dict[str, str]  # code -> Chinese name

    @property
    def codes(self) -> frozenset[str]:
        return frozenset(self.names)


@dataclass
class Catalog:
    products: dict[str, Product] = field(default_factory=dict)
    lists: dict[str, DiseaseList] = field(default_factory=dict)

    def product(self, product_id: str) -> Product:
        try:
            return self.products[product_id]
        except KeyError:
            raise KeyError(f"目录中没有产品 {product_id!r}") from None

    def disease_name(self, code: str) -> str:
        for dl in self.lists.values():
            if code in dl.names:
                return dl.names[code]
        return code


def default_catalog_dir() -> Path:
    """Return ``$HUZHU_CATALOG_DIR`` or the repository's ``catalog/`` directory."""
    env = os.environ.get("HUZHU_CATALOG_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "catalog"


def _load_toml(path: Path, issues: list[Issue]) -> dict[str, Any] | None:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        issues.append(Issue(str(path), "", f"不是有效的 TOML (invalid TOML): {exc}"))
        return None


def read_lists(path: Path, issues: list[Issue]) -> dict[str, DiseaseList]:
    """Read a disease-list file: ``[lists.<id>]`` with name, source and diseases."""
    data = _load_toml(path, issues)
    if data is None:
        return {}
    r = Reader(str(path), data, issues)
    out: dict[str, DiseaseList] = {}
    tables = r.table("lists", required=True)
    for list_id in tables.keys():
        t = tables.table(list_id, required=True)
        names: dict[str, str] = {}
        for d in t.tables("diseases", required=True):
            code, name = d.text("code", required=True), d.text("name", required=True)
            if code in names:
                d.issue("code", f"病种代码重复 (duplicate code) {code!r}")
            names[code] = name
            d.done()
        out[list_id] = DiseaseList(list_id, t.text("name", required=True),
                                   t.text("source", required=True), names)
        t.text("note")
        t.done()
    r.done()
    return out


def _read_source(r: Reader) -> tuple[tuple[str, ...], str]:
    src = r.table("source", required=False)
    if not src.present:
        r.issue("source", "缺少来源 (missing source): 每个产品必须注明出处")
        return (), "G"
    cite = src.strings("cite", required=True)
    if not cite:
        src.issue("cite", "缺少来源 (missing source): cite 为空")
    tag = src.choice("tag", SOURCE_TAGS, required=True)
    src.text("note")
    src.done()
    return tuple(cite), tag


def _read_assumptions(r: Reader) -> tuple[Assumption, ...]:
    out = []
    for a in r.tables("assumptions"):
        out.append(Assumption(
            key=a.text("key", required=True), text=a.text("text", required=True),
            assumed_value=a.boolean("assumed", default=False),
            reading=a.text("reading"), why=a.text("why")))
        if out[-1].reading and not out[-1].why:
            a.issue("why", "选择了解读但没有说明理由 (a reading needs its why)")
        a.done()
    return tuple(out)


def _read_eligibility(r: Reader) -> Eligibility:
    e = r.table("eligibility")
    bands = []
    for b in e.tables("age_bands"):
        lo, hi = b.integer("min", required=True), b.integer("max", required=True)
        if lo is not None and hi is not None and lo > hi:
            b.issue("max", f"年龄段上限小于下限 (max {hi} < min {lo})")
        bands.append(AgeBand(b.choice("gender", ("M", "F")), lo or 0, hi or 0))
        b.done()
    elig = Eligibility(
        age_bands=tuple(bands),
        insurance_types=frozenset(e.strings("insurance_types")),
        union_member=e.boolean("union_member", default=False),
        requires_products=frozenset(e.strings("requires_products")),
        max_shares=e.integer("max_shares", default=1, minimum=1) or 1,
    )
    e.text("note")
    e.done()
    return elig


def _read_split(t: Reader, total: int | None, key: str) -> tuple[PayerShare, ...]:
    split = []
    for s in t.tables(key):
        split.append(PayerShare(s.text("payer", required=True), s.money("amount", required=True) or 0))
        s.done()
    if split and total is not None and sum(p.fen for p in split) != total:
        got = sum(p.fen for p in split)
        t.issue(key, f"分摊之和 {got / 100:.2f} 不等于保费 {total / 100:.2f} (split must add up to the premium)")
    return tuple(split)


def _read_premium(r: Reader) -> Premium | None:
    p = r.table("premium")
    if not p.present:
        return None
    per_share = p.money("per_share", required=True)
    split = _read_split(p, per_share, "split")
    variants = []
    for v in p.tables("variants"):
        fen = v.money("per_share", required=True)
        variants.append((v.text("when", required=True), fen or 0, _read_split(v, fen, "split")))
        v.done()
    note = p.text("note")
    p.done()
    return Premium(per_share or 0, split, tuple(variants), note)


def _read_timing(r: Reader) -> Timing:
    t = r.table("time")
    d = t.table("deadline")
    kind = d.choice("kind", DEADLINES, default="none")
    timing = Timing(
        coverage_start=t.choice("coverage_start", ("next_day", "same_day", "period_start"),
                                default="next_day"),
        period_months=t.integer("period_months", default=12, minimum=0),
        waiting_days=t.integer("waiting_days", default=0, minimum=0),
        renewal_grace_days=t.integer("renewal_grace_days", minimum=0),
        waiting_for=t.choice("waiting_for", ("first_time", "all"), default="first_time"),
        event_date=t.choice("event_date", ("admission", "discharge"), default="admission"),
        stay_days=t.choice("stay_days", ("nights", "inclusive"), default="nights"),
        deadline=kind,
        deadline_days=d.integer("days", default=0, minimum=0),
        deadline_month=d.integer("month", default=0, minimum=0),
        deadline_day=d.integer("day", default=0, minimum=0),
        deadline_date=d.date("date"),
    )
    if kind in ("days_after_settlement", "days_after_period_end") and not timing.deadline_days:
        d.issue("days", f"期限 {kind} 需要 days")
    if kind == "next_year_date" and not (1 <= timing.deadline_month <= 12 and timing.deadline_day):
        d.issue("month", "期限 next_year_date 需要 month 和 day")
    if kind == "fixed_date" and timing.deadline_date is None:
        d.issue("date", "期限 fixed_date 需要 date")
    d.text("note")
    d.done()
    t.text("note")
    t.done()
    return timing


def read_product(path: Path, lists: dict[str, DiseaseList], issues: list[Issue]) -> Product | None:
    """Read one product file; append every problem to ``issues``."""
    start = len(issues)
    raw = path.read_bytes()
    data = _load_toml(path, issues)
    if data is None:
        return None
    r = Reader(str(path), data, issues)
    pid = r.text("id", required=True)
    if pid and pid != path.stem:
        r.issue("id", f"id {pid!r} 与文件名 {path.stem!r} 不一致 (id must match the file name)")
    source, tag = _read_source(r)
    assumptions = _read_assumptions(r)
    timing = _read_timing(r)
    caps = r.table("caps")
    period_cap = caps.money("period", minimum=0)
    if caps.present and "amount" in caps.data:
        caps.issue("amount", "上限没有说明期间 (cap with no period): 用 period = …")
        caps.data.pop("amount")
    caps.text("note")
    caps.done()
    benefits = tuple(read_benefit(b, lists, timing) for b in r.tables("benefits", required=True))
    ids = [b.id for b in benefits]
    for dup in {i for i in ids if ids.count(i) > 1}:
        r.issue("benefits", f"责任 id 重复 (duplicate benefit id) {dup!r}")
    if period_cap is not None and timing.period_months == 0:
        r.issue("caps.period", "上限没有期间 (cap with no period): time.period_months = 0")
    product = Product(
        id=pid, version=r.text("version", required=True), name=r.text("name", required=True),
        operator=r.text("operator"), source=source, source_tag=tag, benefits=benefits,
        eligibility=_read_eligibility(r), premium=_read_premium(r), timing=timing,
        period_cap_fen=period_cap, assumptions=assumptions, path=str(path),
        digest=hashlib.sha256(raw).hexdigest(),
    )
    r.text("note")
    r.done()
    return product if len(issues) == start else None


def check_catalog(directory: Path | str) -> tuple[Catalog, list[Issue]]:
    """Read every file in ``directory``; return what loaded and every issue found."""
    directory = Path(directory)
    issues: list[Issue] = []
    catalog = Catalog()
    if not directory.is_dir():
        return catalog, [Issue(str(directory), "", "目录不存在 (no such directory)")]
    for path in sorted((directory / "lists").glob("*.toml")):
        catalog.lists.update(read_lists(path, issues))
    for path in sorted(directory.glob("*.toml")):
        product = read_product(path, catalog.lists, issues)
        if product is not None:
            if product.id in catalog.products:
                issues.append(Issue(str(path), "id", f"产品 id 重复 (duplicate id) {product.id!r}"))
            catalog.products[product.id] = product
    for product in catalog.products.values():
        for req in product.eligibility.requires_products:
            if req not in catalog.products:
                issues.append(Issue(product.path, "eligibility.requires_products",
                                    f"未知的前置产品 (unknown prerequisite product) {req!r}"))
    return catalog, issues


def load_catalog(directory: Path | str | None = None) -> Catalog:
    """Load the catalog; raise :class:`CatalogError` listing every issue if any."""
    catalog, issues = check_catalog(directory or default_catalog_dir())
    if issues:
        raise CatalogError(issues)
    return catalog
