"""Claim statuses and the one table of allowed moves; :func:`claim_transition` is the only
way a claim's status changes, and every move is an event with actor and time.

A claim's status ends at its decision (已核准 / 不予给付, or 已撤回): payment state belongs to
the payouts (``huzhu/payouts/status.py``), and what a person sees of an approved claim —
已核准待支付 / 支付中 / 已支付 / 支付失败 — is read from its benefit payout
(``huzhu/payouts/shown.py``), never written on the claim row."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.db import models
from django.utils import timezone

from huzhu.actors import Actor
from huzhu.audit.services import atomic_events, event_record
from huzhu.errors import DomainError

if TYPE_CHECKING:
    from .models import Claim


class ClaimStatus(models.TextChoices):
    SUBMITTED = "submitted", "已提交"
    IN_REVIEW = "in_review", "待审核"
    RETURNED = "returned", "退回补件"
    APPROVED = "approved", "已核准"
    REJECTED = "rejected", "不予给付"
    WITHDRAWN = "withdrawn", "已撤回"


S = ClaimStatus

# Statuses claims held before payment state moved to the payouts (issue 12, part 6; claims
# migration 0008 made every such claim 已核准). No claim holds them now; older
# ``claim.transition`` events still name them, and keep their text.
FORMER_STATUSES: dict[str, str] = {"paying": "支付中", "paid": "已支付", "pay_failed": "支付失败"}

# from → the statuses it may move to (TRUST R-06). A review level moving the claim up keeps it
# IN_REVIEW (the level changes, and that is an event too); a rejected claim may be appealed,
# which sends it back to review. An approved claim moves no further: its payment is its
# payout's.
TRANSITIONS: dict[str, frozenset[str]] = {
    S.SUBMITTED: frozenset({S.IN_REVIEW, S.APPROVED, S.REJECTED, S.WITHDRAWN}),
    S.IN_REVIEW: frozenset({S.APPROVED, S.REJECTED, S.RETURNED}),
    S.RETURNED: frozenset({S.SUBMITTED, S.WITHDRAWN}),
    S.APPROVED: frozenset(),
    S.REJECTED: frozenset({S.IN_REVIEW}),
    S.WITHDRAWN: frozenset(),
}

DECIDED = frozenset({S.APPROVED, S.REJECTED})
OPEN = frozenset({S.SUBMITTED, S.IN_REVIEW, S.RETURNED})
# Approved, whatever became of the payment: what counts against caps and claim counts.
GRANTED = frozenset({S.APPROVED})


def status_label(value: str) -> str:
    """The Chinese name of a claim status, a former one (as old events hold) included."""
    if value in S.values:
        return str(S(value).label)
    return FORMER_STATUSES.get(value, value)


class IllegalTransition(DomainError):
    code = "illegal_transition"


def transition_check(current: str, to: str) -> None:
    if to not in TRANSITIONS.get(current, frozenset()):
        raise IllegalTransition(
            f"理赔状态不能从“{status_label(current)}”变为“{status_label(to)}”")


# Called after every move, in its transaction with the claim's row locked and the claim showing
# its new status: the pending-claims reserve (huzhu.claims.reserve.reserve_sync, hooked in by
# ClaimsConfig.ready, so this bottom layer imports nothing above it).
AFTER_MOVE: list[Callable[..., Any]] = []


def claim_transition(claim: Claim, to: str, *, actor: Actor = None, reason: str = "") -> Claim:
    """Move a claim to ``to`` (locking its row), or raise :class:`IllegalTransition`."""
    Claim = apps.get_model("claims", "Claim")  # by name: models.py imports this module

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
        for hook in AFTER_MOVE:
            hook(claim, actor=actor)
    if to in DECIDED:
        claim.decided_at = now
    return claim
