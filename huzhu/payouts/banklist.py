"""The bank list (银行名录) payees are paid at: entries with their CNAPS 联行号, shipped as
``data/banks.csv`` in the package and updated from a CSV with ``huzhu payouts_banks_load``.

CSV columns (UTF-8 or GBK, one header row): 联行号 (12 digits), 银行名称, 简称 (aliases separated
by ``;``, optional), 省份, 城市. The 行别代码 is the first three digits of the 联行号. A file with
a bad row is refused whole, naming the row and the column; a good one adds the new entries and
updates the others (by 联行号); entries missing from the file are kept (lines sent to them
still name them) unless ``deactivate_missing``.

The roster's 开户行 is free text. :func:`match` ties it to an entry: the text staff tied before
(:class:`BankNameMatch`), an entry's exact name, or else the one bank whose name or alias the
text contains (the longest wins: 中国工商银行南宁分行 → 中国工商银行), at that bank's entry for
the city the text names, or its head-office entry (the one carrying the aliases). Anything
else is left for staff to pick on the batch page.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from django.db import IntegrityError, transaction

from huzhu.errors import DomainError

from .models import BankNameMatch, PayeeBank

SHIPPED = Path(__file__).parent / "data" / "banks.csv"
HEAD = ("联行号", "银行名称", "简称", "省份", "城市")
_CNAPS = re.compile(r"^\d{12}$")


class BankListError(DomainError):
    code = "bank_list_invalid"

    def __init__(self, problems: list[str]):
        super().__init__("银行名录文件有误，未做任何更改：" + "；".join(problems[:20]))
        self.problems = problems


@dataclass(frozen=True)
class LoadReport:
    added: int
    updated: int
    deactivated: int


def _decode(data: bytes) -> str:
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    raise BankListError(["文件编码无法识别（应为 UTF-8 或 GBK 的 CSV）"])


def parse_csv(data: bytes) -> list[dict[str, str]]:
    rows = [r for r in csv.reader(io.StringIO(_decode(data))) if any(c.strip() for c in r)]
    if not rows:
        raise BankListError(["文件为空"])
    head = [c.strip() for c in rows[0]]
    missing = [c for c in ("联行号", "银行名称") if c not in head]
    if missing:
        raise BankListError([f"第 1 行缺少列：{'、'.join(missing)}"])
    out: list[dict[str, str]] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for n, raw in enumerate(rows[1:], 2):
        cell = {h: (raw[head.index(h)].strip() if h in head and head.index(h) < len(raw) else "")
                for h in HEAD}
        if not _CNAPS.match(cell["联行号"]):
            problems.append(f"第 {n} 行“联行号”应为 12 位数字：{cell['联行号'][:20]}")
        if not cell["银行名称"]:
            problems.append(f"第 {n} 行“银行名称”为空")
        if cell["联行号"] in seen:
            problems.append(f"第 {n} 行“联行号” {cell['联行号']} 与第 {seen[cell['联行号']]} 行重复")
        seen.setdefault(cell["联行号"], n)
        out.append(cell)
    if problems:
        raise BankListError(problems)
    return out


@transaction.atomic
def load(data: bytes, *, deactivate_missing: bool = False) -> LoadReport:
    rows = parse_csv(data)
    have = {b.cnaps: b for b in PayeeBank.objects.all()}
    added = updated = 0
    for r in rows:
        values = {"bank_code": r["联行号"][:3], "name": r["银行名称"][:100],
                  "aliases": r["简称"][:200], "province": r["省份"][:20], "city": r["城市"][:20],
                  "active": True}
        b = have.get(r["联行号"])
        if b is None:
            PayeeBank.objects.create(cnaps=r["联行号"], **values)
            added += 1
        elif any(getattr(b, k) != v for k, v in values.items()):
            PayeeBank.objects.filter(pk=b.pk).update(**values)
            updated += 1
    deactivated = 0
    if deactivate_missing:
        deactivated = (PayeeBank.objects.filter(active=True)
                       .exclude(cnaps__in=[r["联行号"] for r in rows]).update(active=False))
    return LoadReport(added, updated, deactivated)


def ensure_shipped() -> None:
    """Load the shipped list into an empty table (a new installation)."""
    if not PayeeBank.objects.exists():
        try:
            load(SHIPPED.read_bytes())  # its own savepoint
        except IntegrityError:
            pass  # loaded at the same moment by another request


def normalise(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text or ""))


def match(text: str) -> PayeeBank | None:
    """The bank-list entry a free-text 开户行 names, or None when it cannot be told."""
    t = normalise(text)
    if not t:
        return None
    ensure_shipped()
    chosen = BankNameMatch.objects.filter(text=t[:100]).select_related("bank").first()
    if chosen is not None and chosen.bank.active:
        return chosen.bank
    exact = PayeeBank.objects.filter(name=t, active=True).first()
    if exact is not None:
        return exact
    best: dict[str, int] = {}
    for b in PayeeBank.objects.filter(active=True).exclude(aliases=""):
        for word in [b.name, *b.aliases.split(";")]:
            word = normalise(word)
            if word and word in t:
                best[b.bank_code] = max(best.get(b.bank_code, 0), len(word))
    if not best:
        return None
    top = max(best.values())
    codes = [c for c, n in best.items() if n == top]
    if len(codes) != 1:
        return None
    entries = PayeeBank.objects.filter(bank_code=codes[0], active=True)
    # A branch list holds thousands of a bank's entries: look only at the cities it names.
    cities = [c for c in entries.exclude(city="").values_list("city", flat=True).distinct()
              if c in t]
    local = list(entries.filter(aliases="", city__in=cities)[:2]) if cities else []
    if len(local) == 1:
        return local[0]
    return entries.exclude(aliases="").order_by("cnaps").first()


def by_cnaps(cnaps: str) -> PayeeBank | None:
    ensure_shipped()
    return PayeeBank.objects.filter(cnaps=cnaps.strip(), active=True).first()


PICK_MESSAGE = "开户行请从银行名录中选择"


def pick(cnaps: str, *, field: str = "bank_cnaps") -> PayeeBank:
    """The active entry a page or the API chose by its 联行号; anything else is refused in
    Chinese on ``field`` (the 开户行 is chosen from the list, never typed)."""
    code = normalise(cnaps)
    bank = by_cnaps(code) if _CNAPS.match(code) else None
    if bank is None:
        raise DomainError(f"开户行：{PICK_MESSAGE}", field_errors={field: [PICK_MESSAGE]},
                          code="bank_not_listed")
    return bank


def choices() -> list[tuple[str, str]]:
    """(联行号, “银行名称（城市）”) of the active entries, for a page's 开户行 list."""
    ensure_shipped()
    return [(b.cnaps, f"{b.name}（{b.city}）" if b.city and b.city not in b.name else b.name)
            for b in PayeeBank.objects.filter(active=True).order_by("bank_code", "name", "cnaps")]
