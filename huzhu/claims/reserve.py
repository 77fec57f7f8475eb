"""The pending-claims reserve (未决赔款准备金, account 2701; docs/ledger.md, ADR 0016).

A claim in review (待审核, or returned for documents, 退回补件) holds its assessed payable in
the reserve: Dr 5102 提取未决赔款准备金 (product) / Cr 2701. When it is decided (approved,
refused, withdrawn) the reserve is released by the mirror entry; when a reassessment changes
the payable, the difference is posted. The figure is never kept anywhere but the ledger: what a
claim holds is the sum of its reserve postings (source ``claims.reserve``/<claim>), so
:func:`reserve_sync` posts only the difference between what it should hold and what it holds.
Running it again changes nothing; running it after a crash (or over every claim,
:func:`reserve_repair`) repairs. Each posting's key is ``claim-reserve:<claim>:<n>``, the n-th
movement of that claim's reserve, so two runs racing on one claim post it once (the claim's
row lock serialises them anyway: every status move holds it).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any

from django.db.models import Count, Q, Sum

from huzhu import clock
from huzhu.actors import Actor
from huzhu.audit.services import atomic_events
from huzhu.ledger.bulk import Posting, ledger_post_many
from huzhu.ledger.models import AccountKind, Leg, Transaction
from huzhu.ledger.services import Source, account_open, ledger_post
from huzhu.organisations.models import Organisation

from .models import Claim
from .status import ClaimStatus

SOURCE_TYPE = "claims.reserve"
# The statuses in which a claim's payable is held in the reserve.
HELD = frozenset({ClaimStatus.IN_REVIEW, ClaimStatus.RETURNED})


def reserve_accounts(region: Organisation, product_code: str) -> tuple[Any, Any]:
    """The 5102 (by product) and 2701 accounts of a fund region, opened on first use."""
    change = account_open(org=region, kind=AccountKind.RESERVE_CHANGE,
                          product_code=product_code[:40])
    reserve = account_open(org=region, kind=AccountKind.PENDING_RESERVE)
    return change, reserve


def held_by(claim_ids: Iterable[int]) -> dict[int, tuple[int, int]]:
    """What each claim holds in the reserve now, and how many reserve movements it has had:
    {claim: (fen held, movements)}."""
    ids = [str(i) for i in claim_ids]
    out: dict[int, tuple[int, int]] = {}
    rows = (Leg.objects.filter(transaction__source_type=SOURCE_TYPE,
                               transaction__source_id__in=ids,
                               account__kind=AccountKind.PENDING_RESERVE)
            .values("transaction__source_id")
            .annotate(fen=Sum("amount_fen"), n=Count("transaction_id")).order_by())
    for row in rows:
        out[int(row["transaction__source_id"])] = (-int(row["fen"]), int(row["n"]))
    return out


def reserve_wanted(claim: Claim) -> int:
    """What the claim should hold: its payable while in review, else nothing."""
    return max(claim.payable_fen, 0) if claim.status in HELD else 0


def reserve_sync(claim: Claim, *, actor: Actor = None,
                 on: datetime.date | None = None) -> Transaction | None:
    """Post what the claim's reserve lacks or holds beyond :func:`reserve_wanted` (nothing
    when it holds the right figure). The caller holds the claim's row lock (a status move)."""
    have, n = held_by([claim.pk]).get(claim.pk, (0, 0))
    delta = reserve_wanted(claim) - have
    if delta == 0:
        return None
    change, reserve = reserve_accounts(claim.fund_region, claim.product_code)
    what = "进入审核，提取未决赔款准备金" if delta > 0 else "已决，转回未决赔款准备金"
    return ledger_post(
        key=f"claim-reserve:{claim.pk}:{n + 1}", legs=[(change, delta), (reserve, -delta)],
        memo=f"理赔 {claim.pk} {what}", business_date=on or clock.today(),
        source=Source(SOURCE_TYPE, str(claim.pk)), actor=actor)


def reserve_postings(claims: list[tuple[int, int, str, int]], *, today: datetime.date,
                     actor: Actor) -> None:
    """The reserve of new claims entering review on the bulk filing road: (claim, fund
    region, product, payable) each, as :func:`reserve_sync` would post them one by one."""
    if not claims:
        return
    regions = {o.pk: o for o in Organisation.objects.filter(pk__in={c[1] for c in claims})}
    accounts: dict[tuple[int, str], tuple[int, int]] = {}
    postings = []
    for cid, region_id, code, fen in claims:
        if (region_id, code) not in accounts:
            change, reserve = reserve_accounts(regions[region_id], code)
            accounts[(region_id, code)] = (change.pk, reserve.pk)
        change_id, reserve_id = accounts[(region_id, code)]
        postings.append(Posting(key=f"claim-reserve:{cid}:1",
                                legs=[(change_id, fen), (reserve_id, -fen)],
                                memo=f"理赔 {cid} 进入审核，提取未决赔款准备金",
                                business_date=today, source=Source(SOURCE_TYPE, str(cid))))
    ledger_post_many(postings=postings, actor=actor)


def reserve_repair(*, actor: Actor = None, on: datetime.date | None = None) -> int:
    """Bring every claim's reserve to what it should hold: claims in review, and claims
    that hold something. Returns how many were corrected (0 on a second run)."""
    holding = {int(x) for x in Transaction.objects.filter(source_type=SOURCE_TYPE)
               .values_list("source_id", flat=True).distinct()}
    fixed = 0
    for claim in (Claim.objects.filter(Q(status__in=HELD) | Q(pk__in=holding))
                  .select_related("fund_region").order_by("id")):
        with atomic_events():
            locked = Claim.objects.select_for_update(no_key=True).select_related(
                "fund_region").get(pk=claim.pk)
            if reserve_sync(locked, actor=actor, on=on) is not None:
                fixed += 1
    return fixed


def reserve_total(region: Organisation) -> int:
    """The reserve (2701) balance of a fund region's books, as a credit."""
    total = (Leg.objects.filter(account__kind=AccountKind.PENDING_RESERVE,
                                account__fund_region=region)
             .aggregate(s=Sum("amount_fen"))["s"]) or 0
    return -int(total)
