"""What a person sees of a claim's state, in one place.

A claim's own status ends at its decision (``ClaimStatus``: … 已核准 / 不予给付 / 已撤回). Once
approved, what a person sees is the state of its benefit payout — the payouts own payment
state (``status.py``), and no payout step writes a claim row:

    payout 待支付 or 已编入批次 → 已核准待支付    payout 支付中 → 支付中
    payout 已支付 → 已支付                        payout 支付失败待更正 → 支付失败

    payout 已作废 → 已撤销给付 (its stay refunded before the money went out)

(an approved claim without its payout, which ``huzhu claims verify`` reports, shows 已核准待支付).
A top-up (补发) payout changes nothing shown, unless the benefit payout was cancelled: then the
claim shows its latest live top-up (a stay refunded unpaid, then settled again). Every page, the API, the list filters and the
member's progress read the state from here:

- :func:`claims_shown` annotates a queryset with ``shown_status`` (one correlated subquery);
- :func:`claims_in_state` filters a queryset by a shown state in the database;
- :func:`claim_state` / :func:`claim_state_label` give one claim's.

The values are the claims' old status values (``approved``, ``paying``, ``paid``,
``pay_failed``…), so the API's ``status`` and the list's ``?status=`` keep their meaning.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.db.models import (
    Case,
    CharField,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    TextChoices,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from huzhu.claims.models import Claim
from huzhu.claims.status import ClaimStatus

from .models import Payout, PayoutKind, PayoutStatus

_QS = TypeVar("_QS", bound=QuerySet[Any])


class ClaimState(TextChoices):
    """A claim's state as shown: its status until approved, then its payment's."""

    SUBMITTED = "submitted", "已提交"
    IN_REVIEW = "in_review", "待审核"
    RETURNED = "returned", "退回补件"
    APPROVED = "approved", "已核准待支付"
    PAYING = "paying", "支付中"
    PAID = "paid", "已支付"
    PAYMENT_FAILED = "pay_failed", "支付失败"
    REJECTED = "rejected", "不予给付"
    WITHDRAWN = "withdrawn", "已撤回"
    PAY_CANCELLED = "pay_cancelled", "已撤销给付"


# The state an approved claim shows while its benefit payout is in each status.
PAYOUT_SHOWS: dict[str, str] = {
    PayoutStatus.PAYABLE: ClaimState.APPROVED,
    PayoutStatus.BATCHED: ClaimState.APPROVED,
    PayoutStatus.SENT: ClaimState.PAYING,
    PayoutStatus.PAID: ClaimState.PAID,
    PayoutStatus.FAILED: ClaimState.PAYMENT_FAILED,
    PayoutStatus.CANCELLED: ClaimState.PAY_CANCELLED,
}
# The states only an approved claim shows (read from its payout).
PAYMENT_STATES = frozenset(PAYOUT_SHOWS.values())


def _benefit() -> QuerySet[Payout]:
    """The payout the claim of the outer query shows: its benefit payout, or when that was
    cancelled its latest top-up not cancelled, else the cancelled one."""
    return (Payout.objects.filter(claim=OuterRef("pk"))
            .exclude(kind=PayoutKind.CONSOLATION)
            .annotate(rank=Case(When(status=PayoutStatus.CANCELLED, then=Value(2)),
                                When(kind=PayoutKind.BENEFIT, then=Value(0)),
                                default=Value(1)))
            .order_by("rank", "-pk"))


def _payout_status() -> Subquery:
    return Subquery(_benefit().values("status")[:1], output_field=CharField())


def shown_expression() -> Case:
    """The SQL expression of a claim's shown state (for ``annotate``)."""
    payment = Case(*[When(payout_status=p, then=Value(v)) for p, v in PAYOUT_SHOWS.items()],
                   output_field=CharField())
    return Case(When(status=ClaimStatus.APPROVED,
                     then=Coalesce(payment, Value(ClaimState.APPROVED.value))),
                default=F("status"), output_field=CharField())


def claims_shown(qs: _QS) -> _QS:
    """``qs`` (claims) with ``shown_status``: the state a person sees of each."""
    return qs.alias(payout_status=_payout_status()).annotate(shown_status=shown_expression())


def claims_in_state(qs: _QS, state: str) -> _QS:
    """The claims of ``qs`` showing ``state``, as a database filter: a claim status is a
    filter on the claim; a payment state is "approved, with a benefit payout in one of the
    payout statuses that show it" (已核准待支付 also without a payout). An unknown state
    matches nothing."""
    if state not in ClaimState.values:
        return qs.none()
    if state not in PAYMENT_STATES:
        return qs.filter(status=state)
    statuses = [p for p, v in PAYOUT_SHOWS.items() if v == state]
    approved = qs.filter(status=ClaimStatus.APPROVED).alias(payout_status=_payout_status())
    if state == ClaimState.APPROVED:  # also an approved claim without its payout
        return approved.filter(Q(payout_status__isnull=True) | Q(payout_status__in=statuses))
    return approved.filter(payout_status__in=statuses)


def claim_state(claim: Claim) -> str:
    """The state a person sees of one claim: its status, or for an approved claim its benefit
    payout's (from ``claims_shown``'s annotation when the claim was read with it, else one
    query)."""
    if claim.status != ClaimStatus.APPROVED:
        return claim.status
    annotated = getattr(claim, "shown_status", None)
    if annotated in PAYMENT_STATES:
        return str(annotated)
    status = (Claim.objects.filter(pk=claim.pk).annotate(payout_status=_payout_status())
              .values_list("payout_status", flat=True).first())
    return PAYOUT_SHOWS.get(status, ClaimState.APPROVED) if status else ClaimState.APPROVED


def state_label(state: str) -> str:
    return str(ClaimState(state).label) if state in ClaimState.values else state


def claim_state_label(claim: Claim) -> str:
    """The Chinese name of :func:`claim_state`."""
    return state_label(claim_state(claim))

