"""Payment state belongs to the payouts: one table of allowed moves each for a payout, a batch
line and a batch, and the only functions that change their status — each a conditional update
from the states the table allows, refusing a move the table does not have. A claim's payment
status (支付中 / 已支付 / 支付失败) is not written by the payouts' steps: it follows its benefit
payout (:func:`claims_follow`), through the claims' own transition table and events.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.db import models

from huzhu.actors import Actor
from huzhu.claims.status import ClaimStatus, claims_transition_many
from huzhu.errors import DomainError

from .models import (
    BatchStatus,
    LineStatus,
    Payout,
    PayoutBatch,
    PayoutKind,
    PayoutLine,
    PayoutStatus,
)

P, L, B = PayoutStatus, LineStatus, BatchStatus

# from → the statuses it may move to
PAYOUT_MOVES: dict[str, frozenset[str]] = {
    P.PAYABLE: frozenset({P.BATCHED}),
    P.BATCHED: frozenset({P.SENT, P.PAYABLE}),  # sent, or its batch cancelled
    P.SENT: frozenset({P.PAID, P.FAILED, P.PAYABLE}),  # paid, failed, or failed and requeued
    P.FAILED: frozenset({P.PAYABLE}),  # requeued (card corrected, or a stated reason)
    P.PAID: frozenset(),
}
LINE_MOVES: dict[str, frozenset[str]] = {
    L.PENDING: frozenset({L.SENT, L.CANCELLED}),
    L.SENT: frozenset({L.PAID, L.FAILED}),
    L.PAID: frozenset(), L.FAILED: frozenset(), L.CANCELLED: frozenset(),
}
BATCH_MOVES: dict[str, frozenset[str]] = {
    B.DRAFT: frozenset({B.APPROVED, B.CANCELLED}),
    B.APPROVED: frozenset({B.UNKNOWN, B.CANCELLED}),
    B.UNKNOWN: frozenset({B.NOT_RECEIVED, B.SENT, B.DONE}),
    B.NOT_RECEIVED: frozenset({B.UNKNOWN, B.SENT, B.DONE}),  # sent again, seen, abandoned
    B.SENT: frozenset({B.DONE}),
    B.DONE: frozenset(), B.CANCELLED: frozenset(),
}

# What a claim's status is while its benefit payout is in each state.
CLAIM_FOLLOWS: dict[str, str] = {
    P.PAYABLE: ClaimStatus.APPROVED, P.BATCHED: ClaimStatus.APPROVED,
    P.SENT: ClaimStatus.PAYING, P.PAID: ClaimStatus.PAID, P.FAILED: ClaimStatus.PAYMENT_FAILED,
}
# A failed line requeued at once (an abandoned batch): the claim passes through 支付失败.
CLAIM_PATHS: dict[tuple[str, str], tuple[str, ...]] = {
    (ClaimStatus.PAYING, ClaimStatus.APPROVED): (ClaimStatus.PAYMENT_FAILED, ClaimStatus.APPROVED),
}


class IllegalMove(DomainError):
    code = "illegal_payment_move"


def _move(model: type[models.Model], table: dict[str, frozenset[str]], labels: Any,
          ids: Iterable[int], to: str, frm: Iterable[str] | None = None, **changes: Any) -> int:
    allowed = {s for s, tos in table.items() if to in tos}
    sources = set(frm) if frm is not None else allowed
    if not sources <= allowed:
        bad = "、".join(labels(s).label for s in sorted(sources - allowed))
        raise IllegalMove(f"支付状态不能从“{bad}”变为“{labels(to).label}”")
    ids = list(ids)
    if not ids:
        return 0
    return model._default_manager.filter(pk__in=ids, status__in=sources).update(
        status=to, **changes)


def payouts_move(ids: Iterable[int], to: str, *, frm: Iterable[str] | None = None,
                 **changes: Any) -> int:
    """Move payouts ``ids`` (those in an allowed state) to ``to``; how many moved."""
    return _move(Payout, PAYOUT_MOVES, PayoutStatus, ids, to, frm, **changes)


def lines_move(ids: Iterable[int], to: str, *, frm: Iterable[str] | None = None,
               **changes: Any) -> int:
    return _move(PayoutLine, LINE_MOVES, LineStatus, ids, to, frm, **changes)


def batch_move(batch_id: int, to: str, *, frm: Iterable[str] | None = None,
               **changes: Any) -> int:
    return _move(PayoutBatch, BATCH_MOVES, BatchStatus, [batch_id], to, frm, **changes)


def claims_follow(payout_ids: Iterable[int], *, actor: Actor, reason: str) -> int:
    """The claims of benefit payouts ``payout_ids`` take the status their payout's state
    means (:data:`CLAIM_FOLLOWS`), through the claims' transition table, one event each."""
    rows = list(Payout.objects.filter(pk__in=list(payout_ids), kind=PayoutKind.BENEFIT)
                .values_list("claim_id", "status", "claim__status"))
    steps: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for claim_id, payout_status, claim_status in rows:
        target = CLAIM_FOLLOWS[payout_status]
        if claim_status == target:
            continue
        path = CLAIM_PATHS.get((claim_status, target), (target,))
        steps[(claim_status, *path)].append(claim_id)
    moved = 0
    for route, claim_ids in sorted(steps.items()):
        frm = route[0]
        for to in route[1:]:
            moved += claims_transition_many(claim_ids, frm, to, actor=actor, reason=reason)
            frm = to
    return moved
