"""The usual levers of a policy change, written into a product's TOML document.

Levers are what the simulator's form offers for each ratio benefit (the rate of each band, the
deductible, the per-claim and period caps, the claim limit), each lump sum's amount (a diagnosis
lump sum per disease list: 重大疾病, 女职工特殊疾病, a spouse's or child's illness), the product's
period cap and the premium per share. Each is a string as a person types it ("60%", "1000.00", "不限" to remove a
cap or limit, empty to leave it as it is). :func:`apply_levers` writes them into the document
(comments are lost: the document is re-written by ``tomli_w``); the result is read by the same
catalog reader as any product file, so a lever can never make a document ``rules check`` would
refuse pass unnoticed.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from typing import Any

import tomli_w

from huzhu.errors import DomainError
from huzhu.rules.model import Product
from huzhu.rules.money import MoneyError, format_yuan, parse_yuan

REMOVE = ("不限", "无", "取消")
BENEFIT_MONEY = {"deductible": "起付线", "per_claim_cap": "每次上限", "period_cap": "年度上限"}


@dataclass(frozen=True)
class BandLever:
    index: int
    label: str
    rate: str  # as published, e.g. "30%"


@dataclass(frozen=True)
class BenefitLevers:
    id: str
    name: str
    bands: tuple[BandLever, ...]
    deductible: str
    per_claim_cap: str
    period_cap: str
    claim_limit: str


@dataclass(frozen=True)
class LumpLever:
    """A lump-sum benefit's amounts, one per disease list (row) in the product's order."""

    id: str
    name: str
    rows: tuple[tuple[int, str, str], ...]  # (index, the list's name, amount in yuan)


def lump_levers_of(product: Product) -> list[LumpLever]:
    """The lump-sum benefits' current amounts, to fill the form."""
    return [LumpLever(b.id, b.name, tuple((i, row.label, format_yuan(row.amount_fen))
                                          for i, row in enumerate(b.amounts)))
            for b in product.benefits if b.kind == "lump" and b.amounts]


def _pct(bp: int) -> str:
    whole, rest = divmod(bp, 100)
    return f"{whole}%" if not rest else f"{whole}.{rest:02d}".rstrip("0") + "%"


def _money(fen: int | None) -> str:
    return "" if fen is None else format_yuan(fen)


def levers_of(product: Product) -> list[BenefitLevers]:
    """The ratio benefits' current levers, to fill the form."""
    out = []
    for b in product.benefits:
        if b.kind != "ratio" or b.tiers is None:
            continue
        bands = tuple(BandLever(i, t.label, _pct(t.bp)) for i, t in enumerate(b.tiers.items))
        out.append(BenefitLevers(b.id, b.name, bands, _money(b.deductible_fen),
                                 _money(b.per_claim_cap_fen), _money(b.period_cap_fen),
                                 "" if b.claim_limit is None else str(b.claim_limit)))
    return out


def _rate(text: str, where: str) -> str:
    t = text.strip().replace("％", "%")
    number = t[:-1] if t.endswith("%") else t
    try:
        value = float(number)
    except ValueError:
        raise DomainError(f"{where}：比例“{text}”不是百分数（如 60%）", code="lever") from None
    if not 0 <= value <= 100:
        raise DomainError(f"{where}：比例“{text}”须在 0% 到 100% 之间", code="lever")
    return f"{number}%"


def _yuan(text: str, where: str) -> str:
    try:
        fen = parse_yuan(text.strip().replace(",", "").replace("，", ""))
    except MoneyError:
        raise DomainError(f"{where}：金额“{text}”不是金额（元，如 1000.00）", code="lever") from None
    if fen < 0:
        raise DomainError(f"{where}：金额不能为负", code="lever")
    return format_yuan(fen).replace(",", "")


def apply_levers(document: str, levers: dict[str, Any]) -> str:
    """Write ``levers`` into the TOML ``document``; return the new document (unchanged text
    when no lever is set). ``levers``: ``{"benefits": {id: {"rates": {band index: text},
    "deductible", "per_claim_cap", "period_cap", "claim_limit"}}, "lumps": {id: {row index:
    text}}, "product_cap", "premium", "version"}``; empty strings change nothing."""
    try:
        data = tomllib.loads(document)
    except tomllib.TOMLDecodeError as exc:
        raise DomainError(f"规则文件不是有效的 TOML：{exc}", code="lever") from None
    changed = False
    benefits = {b.get("id"): b for b in data.get("benefits", []) if isinstance(b, dict)}
    for bid, given in (levers.get("benefits") or {}).items():
        b = benefits.get(bid)
        if b is None:
            raise DomainError(f"产品没有责任 {bid}", code="lever")
        name = b.get("name", bid)
        for index, text in (given.get("rates") or {}).items():
            if not str(text).strip():
                continue
            where = f"{name} 第 {int(index) + 1} 档"
            rate = _rate(str(text), where)
            if "rate" in b and int(index) == 0:
                if b["rate"] != rate:
                    b["rate"], changed = rate, True
            elif isinstance(b.get("tiers"), list) and int(index) < len(b["tiers"]):
                if b["tiers"][int(index)].get("rate") != rate:
                    b["tiers"][int(index)]["rate"], changed = rate, True
            else:
                raise DomainError(f"{where}：没有这一档", code="lever")
        for key, label in BENEFIT_MONEY.items():
            text = str(given.get(key) or "").strip()
            if not text:
                continue
            if text in REMOVE:
                if key in b and key != "deductible":
                    del b[key]
                    changed = True
                elif key == "deductible" and b.get("deductible") not in (None, "0.00"):
                    b["deductible"], changed = "0.00", True
                continue
            value = _yuan(text, f"{name} {label}")
            if b.get(key) != value:
                b[key], changed = value, True
        text = str(given.get("claim_limit") or "").strip()
        if text in REMOVE:
            if "claim_limit" in b:
                del b["claim_limit"]
                changed = True
        elif text:
            if not text.isdigit() or int(text) < 1:
                raise DomainError(f"{name} 每期次数：“{text}”须为正整数或“不限”", code="lever")
            if b.get("claim_limit") != int(text):
                b["claim_limit"], changed = int(text), True
    for bid, rows in (levers.get("lumps") or {}).items():
        b = benefits.get(bid)
        if b is None:
            raise DomainError(f"产品没有责任 {bid}", code="lever")
        found = b.get("amounts")
        table: list[Any] = found if isinstance(found, list) else []
        single = 1 if "disease_list" in b else 0
        for index, text in rows.items():
            if not str(text).strip():
                continue
            i = int(index)
            value = _yuan(str(text), f"{b.get('name', bid)} 第 {i + 1} 项一次性给付额")
            if single and i == 0:
                if b.get("amount") != value:
                    b["amount"], changed = value, True
            elif 0 <= i - single < len(table):
                row = table[i - single]
                if row.get("amount") != value:
                    row["amount"], changed = value, True
            else:
                raise DomainError(f"{b.get('name', bid)}：没有第 {i + 1} 项一次性给付", code="lever")
    cap = str(levers.get("product_cap") or "").strip()
    if cap:
        caps = data.setdefault("caps", {})
        if cap in REMOVE:
            if "period" in caps:
                del caps["period"]
                changed = True
            if not caps:
                del data["caps"]
        else:
            value = _yuan(cap, "产品年度总上限")
            if caps.get("period") != value:
                caps["period"], changed = value, True
    premium = str(levers.get("premium") or "").strip()
    if premium:
        value = _yuan(premium, "每份保费")
        p = data.setdefault("premium", {})
        if p.get("per_share") != value:
            p["per_share"], changed = value, True
    version = str(levers.get("version") or "").strip()
    if version and data.get("version") != version:
        data["version"], changed = version, True
    return tomli_w.dumps(data) if changed else document
