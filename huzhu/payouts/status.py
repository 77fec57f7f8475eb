"""Payment state belongs to the payouts: one table of allowed moves each for a payout, a batch
line and a batch, and the only functions that change their status — each a conditional update
from the states the table allows, refusing a move the table does not have. Every move of a
payout is a ``payout.transition`` event (its status before and after, the claim, the amount,
the reason), appended last in the caller's transaction (ADR 0008's lock order).

The payouts never write a claim row: a claim's status ends at its decision (已核准), and what a
person sees of an approved claim (已核准待支付 / 支付中 / 已支付 / 支付失败) is read from its
benefit payout by ``shown.py``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import models

from huzhu.actors import Actor
from huzhu.audit.services import atomic_events, event_record
from huzhu.errors import DomainError

from .models import BatchStatus, LineStatus, Payout, PayoutBatch, PayoutLine, PayoutStatus

P, L, B = PayoutStatus, LineStatus, BatchStatus

# from → the statuses it may move to
PAYOUT_MOVES: dict[str, frozenset[str]] = {
    P.PAYABLE: frozenset({P.BATCHED, P.CANCELLED}),  # or its claim's stay refunded unpaid
    P.BATCHED: frozenset({P.SENT, P.PAYABLE}),  # sent, or its batch cancelled
    P.SENT: frozenset({P.PAID, P.FAILED, P.PAYABLE}),  # paid, failed, or failed and requeued
    P.FAILED: frozenset({P.PAYABLE, P.CANCELLED}),  # requeued, or its stay refunded
    P.PAID: frozenset(), P.CANCELLED: frozenset(),
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


class IllegalMove(DomainError):
    code = "illegal_payment_move"


def _sources(table: dict[str, frozenset[str]], labels: Any, to: str,
             frm: Iterable[str] | None) -> set[str]:
    """The states a move to ``to`` may start from (``frm``, if given, must be among them)."""
    allowed = {s for s, tos in table.items() if to in tos}
    sources = set(frm) if frm is not None else allowed
    if not sources <= allowed:
        bad = "、".join(labels(s).label for s in sorted(sources - allowed))
        raise IllegalMove(f"支付状态不能从“{bad}”变为“{labels(to).label}”")
    return sources


def _move(model: type[models.Model], table: dict[str, frozenset[str]], labels: Any,
          ids: Iterable[int], to: str, frm: Iterable[str] | None = None, **changes: Any) -> int:
    sources = _sources(table, labels, to, frm)
    ids = list(ids)
    if not ids:
        return 0
    return model._default_manager.filter(pk__in=ids, status__in=sources).update(
        status=to, **changes)


def payouts_move(ids: Iterable[int], to: str, *, frm: Iterable[str] | None = None,
                 actor: Actor = None, reason: str = "", **changes: Any) -> int:
    """Move payouts ``ids`` (those in an allowed state) to ``to``, each move a
    ``payout.transition`` event by ``actor`` with ``reason``; how many moved.

    The payouts that move are locked (by id) and read before the update, so each event names
    the state it left; the events are appended when the outermost ``atomic_events`` block
    ends, after the caller's ledger postings."""
    sources = _sources(PAYOUT_MOVES, PayoutStatus, to, frm)
    ids = sorted(set(ids))
    if not ids:
        return 0
    with atomic_events():
        rows = list(Payout.objects.select_for_update(no_key=True)
                    .filter(pk__in=ids, status__in=sources).order_by("pk")
                    .values_list("pk", "status", "claim_id", "kind", "amount_fen", "org_path"))
        if not rows:
            return 0
        moved = Payout.objects.filter(pk__in=[r[0] for r in rows], status__in=sources).update(
            status=to, **changes)
        for pk, before, claim_id, kind, fen, path in rows:
            event_record(action="payout.transition", actor=actor, object_type="payouts.payout",
                         object_id=str(pk), org_path=path, before={"status": before},
                         after={"status": to, "reason": reason[:100], "claim": claim_id,
                                "kind": kind, "amount_fen": fen})
    return moved


def lines_move(ids: Iterable[int], to: str, *, frm: Iterable[str] | None = None,
               **changes: Any) -> int:
    return _move(PayoutLine, LINE_MOVES, LineStatus, ids, to, frm, **changes)


def batch_move(batch_id: int, to: str, *, frm: Iterable[str] | None = None,
               **changes: Any) -> int:
    return _move(PayoutBatch, BATCH_MOVES, BatchStatus, [batch_id], to, frm, **changes)
