"""Claim statuses and the one table of allowed moves; :func:`claim_transition` is the only
way a claim's status changes, and every move is an event with actor and time."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import models
from django.utils import timezone

from huzhu.actors import Actor
from huzhu.audit.services import atomic_events, event_record, events_record_many
from huzhu.errors import DomainError

if TYPE_CHECKING:
    from .models import Claim


class ClaimStatus(models.TextChoices):
    SUBMITTED = "submitted", "已提交"
    IN_REVIEW = "in_review", "待审核"
    RETURNED = "returned", "退回补件"
    APPROVED = "approved", "已核准待支付"
    REJECTED = "rejected", "不予给付"
    WITHDRAWN = "withdrawn", "已撤回"
    PAYING = "paying", "支付中"
    PAID = "paid", "已支付"
    PAYMENT_FAILED = "pay_failed", "支付失败"


S = ClaimStatus

# from → the statuses it may move to (TRUST R-06). A review level moving the claim up keeps it
# IN_REVIEW (the level changes, and that is an event too); a rejected claim may be appealed,
# which sends it back to review; a failed payment goes back to payable once the card is fixed.
TRANSITIONS: dict[str, frozenset[str]] = {
    S.SUBMITTED: frozenset({S.IN_REVIEW, S.APPROVED, S.REJECTED, S.WITHDRAWN}),
    S.IN_REVIEW: frozenset({S.APPROVED, S.REJECTED, S.RETURNED}),
    S.RETURNED: frozenset({S.SUBMITTED, S.WITHDRAWN}),
    S.APPROVED: frozenset({S.PAYING}),
    S.REJECTED: frozenset({S.IN_REVIEW}),
    S.WITHDRAWN: frozenset(),
    S.PAYING: frozenset({S.PAID, S.PAYMENT_FAILED}),
    S.PAID: frozenset(),
    S.PAYMENT_FAILED: frozenset({S.APPROVED}),
}

DECIDED = frozenset({S.APPROVED, S.REJECTED})
OPEN = frozenset({S.SUBMITTED, S.IN_REVIEW, S.RETURNED})
# Approved, whatever became of the payment: what counts against caps and claim counts.
GRANTED = frozenset({S.APPROVED, S.PAYING, S.PAID, S.PAYMENT_FAILED})


class IllegalTransition(DomainError):
    code = "illegal_transition"


def transition_check(current: str, to: str) -> None:
    if to not in TRANSITIONS.get(current, frozenset()):
        raise IllegalTransition(
            f"理赔状态不能从“{S(current).label}”变为“{S(to).label if to in S.values else to}”")


def claim_transition(claim: Claim, to: str, *, actor: Actor = None, reason: str = "") -> Claim:
    """Move a claim to ``to`` (locking its row), or raise :class:`IllegalTransition`."""
    from .models import Claim

    with atomic_events():
        locked = Claim.objects.select_for_update(no_key=True).only("id", "status").get(pk=claim.pk)
        transition_check(locked.status, to)
        now = timezone.now()
        changes: dict[str, Any] = {"status": to}
        if to in DECIDED:
            changes["decided_at"] = now
        Claim.objects.filter(pk=claim.pk).update(**changes)
        event_record(action="claim.transition", actor=actor, object_type="claims.claim",
                     object_id=str(claim.pk), org_path=claim.org_path,
                     before={"status": locked.status},
                     after={"status": to, "reason": reason, "payable_fen": claim.payable_fen})
    claim.status = to
    claim._loaded_status = to
    if to in DECIDED:
        claim.decided_at = now
    return claim


def claims_transition_many(claim_ids: list[int], frm: str, to: str, *, actor: Actor = None,
                           reason: str = "") -> int:
    """Move many claims from ``frm`` to ``to`` at once (a payout batch): the same table, one
    event per claim. Claims no longer in ``frm`` are left alone; returns how many moved."""
    from .models import Claim

    transition_check(frm, to)
    if not claim_ids:
        return 0
    with atomic_events():
        rows = list(Claim.objects.select_for_update(no_key=True).filter(pk__in=claim_ids, status=frm)
                    .values_list("pk", "org_path", "payable_fen"))
        Claim.objects.filter(pk__in=[r[0] for r in rows]).update(status=to)
        events_record_many([{"action": "claim.transition", "object_type": "claims.claim",
                             "object_id": str(pk), "org_path": path,
                             "before": {"status": frm},
                             "after": {"status": to, "reason": reason, "payable_fen": fen}}
                            for pk, path, fen in rows], actor=actor)
    return len(rows)
