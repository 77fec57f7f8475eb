"""理赔设置 of a fund region (issue 14 part 5): per product offered in the region, whether its
claims are made without application (免申即享), the amount above which a claim goes to manual
review, the random sampling ratio, what counts as frequent claims and the deadline after
settlement. Kept by the region's own reviewers beside its review levels.

A region without its own row for a product follows the product's default row (no region),
else :data:`huzhu.claims.models.DEFAULT_POLICY`. Saving writes the region's own row only when
the region's values differ from what it follows, or it already has one. Each change is
recorded by the settings trail (huzhu/accounts/trail.py) with before and after. A change
applies to claims filed after it: each claim records the settings it was filed under
(``Claim.policy``, docs/adr/0023-policy-claim-settings-per-region.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction

from huzhu.errors import DomainError
from huzhu.organisations.models import Organisation
from huzhu.products.models import Offer, ProductVersion
from huzhu.rules.money import MoneyError, format_yuan, parse_yuan

from .models import ClaimPolicy
from .risk import PolicyBook

FIELDS = ("auto_claim", "review_threshold_fen", "sample_percent", "frequent_claims",
          "frequent_days", "deadline_days")


@dataclass(frozen=True)
class RegionPolicy:
    """One product's settings as the region's claims get them."""

    product_code: str
    name: str
    policy: ClaimPolicy
    own: bool  # the region's own row (else the product's default, or the built-in one)

    @property
    def threshold_yuan(self) -> str:
        return format_yuan(self.policy.review_threshold_fen)


def region_products(fund_region_id: int) -> dict[str, str]:
    """The products offered in a fund region's periods (and any it keeps settings for), code →
    Chinese name (its latest version's), in the order of their names."""
    names: dict[str, str] = {}
    for code, name in (Offer.objects.filter(period__fund_region_id=fund_region_id)
                       .order_by("period__coverage_start", "product_version__version")
                       .values_list("product_version__code", "product_version__name")):
        names[code] = name
    kept = set(ClaimPolicy.objects.filter(fund_region_id=fund_region_id)
               .values_list("product_code", flat=True)) - set(names)
    for code, name in (ProductVersion.objects.filter(code__in=sorted(kept))
                       .order_by("version").values_list("code", "name")):
        names[code] = name
    for code in kept - set(names):
        names[code] = "（已下架产品）"
    return dict(sorted(names.items(), key=lambda kv: (kv[1], kv[0])))


def region_policies(fund_region_id: int) -> list[RegionPolicy]:
    products = region_products(fund_region_id)
    book = PolicyBook.load(products)
    return [RegionPolicy(code, name, book.get(code, fund_region_id),
                         (fund_region_id, code) in book.rows)
            for code, name in products.items()]


def _count(text: str, low: int, high: int) -> int | None:
    text = text.strip()
    if not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if low <= value <= high else None


def parse_policy(name: str, data: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """One product's form values (texts, as a page or an API call sends them) → the fields,
    and the problems, each naming the product and the field."""
    problems: list[str] = []
    out: dict[str, Any] = {"auto_claim": bool(data.get("auto_claim"))}
    text = str(data.get("review_threshold", "")).strip()
    try:
        fen = parse_yuan(text) if text else None
    except MoneyError:
        fen = None
    if fen is None or fen < 0:
        problems.append(f"{name}：人工审核金额“{text}”不是有效金额（元，最多两位小数）")
    out["review_threshold_fen"] = fen
    text = str(data.get("sample_percent", ""))
    out["sample_percent"] = _count(text, 0, 100)
    if out["sample_percent"] is None:
        problems.append(f"{name}：随机抽检比例“{text.strip()}”应为 0–100 的整数")
    text = str(data.get("frequent_claims", ""))
    out["frequent_claims"] = _count(text, 1, 999)
    if out["frequent_claims"] is None:
        problems.append(f"{name}：频繁理赔次数“{text.strip()}”应为 1–999 的整数")
    text = str(data.get("frequent_days", ""))
    out["frequent_days"] = _count(text, 1, 3660)
    if out["frequent_days"] is None:
        problems.append(f"{name}：频繁理赔天数“{text.strip()}”应为 1–3660 的整数")
    text = str(data.get("deadline_days", "") or "").strip()
    out["deadline_days"] = _count(text, 1, 3660) if text else None
    if text and out["deadline_days"] is None:
        problems.append(f"{name}：结算后申请期限“{text}”应为 1–3660 天，或留空表示不限")
    return out, problems


def region_policies_save(*, fund_region_id: int, values: dict[str, dict[str, Any]]) -> int:
    """Set the claim settings of a fund region's products (``values``: product code → its form
    values; ``follow_default`` drops the region's own row, the product's default applying again). All checked first and refused together in one Chinese message, nothing changed;
    returns the number of products whose settings changed. Who acts is whoever the request or
    the caller names (``acting_as``): the trail records each row's before and after."""
    products = region_products(fund_region_id)
    problems: list[str] = []
    parsed: dict[str, dict[str, Any]] = {}
    for code, data in values.items():
        if code not in products:
            known = (ProductVersion.objects.filter(code=code).order_by("-version")
                     .values_list("name", flat=True).first())
            problems.append(f"产品“{known or '（未知产品）'}”不在本统筹区提供的产品中")
            continue
        if data.get("follow_default"):
            parsed[code] = {"follow_default": True}
            continue
        parsed[code], found = parse_policy(products[code], data)
        problems += found
    if problems:
        raise DomainError("；".join(problems), code="claim_policy_invalid")
    changed = 0
    with transaction.atomic():
        Organisation.objects.select_for_update().filter(pk=fund_region_id).first()
        book = PolicyBook.load(parsed)
        for code, new in parsed.items():
            own = (ClaimPolicy.objects.select_for_update()
                   .filter(fund_region_id=fund_region_id, product_code=code).first())
            if new.get("follow_default"):
                if own is not None:
                    own.delete()  # the trail records what it was (config.deleted)
                    changed += 1
                continue
            current = own or book.get(code, fund_region_id)
            if all(getattr(current, f) == new[f] for f in FIELDS):
                continue
            if own is None:
                own = ClaimPolicy(fund_region_id=fund_region_id, product_code=code)
                own._trail_inherited = {  # type: ignore[attr-defined]  # read by the trail
                    "followed": "默认设置" if current.pk else "系统默认",
                    **{f: getattr(current, f) for f in FIELDS}}
            for f in FIELDS:
                setattr(own, f, new[f])
            own.save()  # the settings trail records before and after
            changed += 1
    return changed


def stamp_words(stamp: dict[str, Any]) -> str:
    """The settings a claim was filed under (``Claim.policy``), in words for staff; "" when the
    claim was filed before claims recorded them."""
    if not stamp:
        return ""
    deadline = stamp.get("deadline_days")
    whose = ("本统筹区设置" if stamp.get("region") else
             "默认设置" if stamp.get("id") else "系统默认")
    return (f"{'免申即享；' if stamp.get('auto_claim') else ''}"
            f"人工审核金额 {format_yuan(stamp['review_threshold_fen'])} 元；"
            f"随机抽检 {stamp['sample_percent']}%；"
            f"{stamp['frequent_days']} 天内超过 {stamp['frequent_claims']} 次为频繁理赔；"
            f"申请期限{f'结算后 {deadline} 天' if deadline else '不限'}（{whose}）")
