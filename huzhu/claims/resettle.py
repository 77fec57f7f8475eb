"""A stay settled again, or refunded: its claims follow the settlement that counts
(:mod:`huzhu.settlements.stays`, docs/adr/0015). Never two payments for one stay.

For each live claim on a settlement of the stay that no longer counts:

- when another settlement counts and holds no live claim of the same product, the claim moves
  to it (its ``setl_id`` and settlement) and is assessed again there, as a corrected
  settlement's claims are (:func:`huzhu.claims.screen.claims_on_corrected_settlement`): an open
  claim carries the new figure and is screened again; a granted one keeps what was granted
  and, when the figure differs, waits for the correction decision (追回, or a top-up the caps
  still allow: :mod:`huzhu.claims.corrections`);
- otherwise (the stay was refunded, or the settlement that counts has its own claim) the claim
  ends: an open one is withdrawn (已撤回; one in review is refused, 不予给付, since review may
  only decide), a granted one gets an assessment of 0 waiting for the recovery decision (追回).

Runs under the member's lock with the events last (docs/adr/0008), before the automatic claims
of the same part are made, which then see the moved claims as the stay's.
"""

from __future__ import annotations

import hashlib

from django.db import transaction
from django.db.models import F

from huzhu import clock
from huzhu.actors import Actor
from huzhu.audit.services import event_record, events_last
from huzhu.members.models import Member
from huzhu.settlements.models import Settlement
from huzhu.settlements.stays import effective, stays_of

from .approval import claim_refuse, usage_lock
from .keyed_match import keyed_reconcile
from .models import Assessment, Claim, MemberPeriodUsage
from .notify import claim_notice, yuan_text
from .postings import post_payout_cancelled
from .screen import claims_on_corrected_settlement
from .status import GRANTED, ClaimStatus, claim_transition

LIVE_STATUSES = (ClaimStatus.SUBMITTED, ClaimStatus.IN_REVIEW, ClaimStatus.RETURNED, *GRANTED)


def _y(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100:,}.{abs(fen) % 100:02d}"


def stays_follow(settlement_ids: list[int], *, actor: Actor = None) -> int:
    """The claims of the stays of ``settlement_ids`` made to follow the settlement that counts
    (see the module text); returns how many claims moved or ended. One query when no stay
    among them has two settlements (the usual delivery)."""
    stays = stays_of(settlement_ids)
    if not stays:
        return 0
    done: set[int] = set()
    n = 0
    for pk, rows in stays.items():
        if pk in done:
            continue
        done.update(r.pk for r in rows)
        n += _follow(pk, actor=actor)
    return n


def _follow(pk: int, *, actor: Actor) -> int:
    with transaction.atomic(), events_last():
        members = sorted({m for m in Settlement.objects.filter(pk=pk).values_list(
            "member_id", flat=True) if m})
        rows = stays_of([pk]).get(pk, [])
        members = sorted(set(members) | {r.member_id for r in rows if r.member_id})
        list(Member.objects.select_for_update(no_key=True).filter(pk__in=members)
             .order_by("pk").values_list("pk", flat=True))
        rows = stays_of([pk]).get(pk, [])  # again, under the locks
        if not rows:
            return 0
        counts = effective(rows)
        others = [r.pk for r in rows if r.pk != counts]
        setl_ids = dict(Settlement.objects.filter(pk__in=[r.pk for r in rows])
                        .values_list("pk", "setl_id"))
        stale = list(Claim.objects.filter(setl_id__in=[setl_ids[o] for o in others],
                                          status__in=LIVE_STATUSES)
                     .select_related("member", "assessment").order_by("pk"))
        if not stale:
            return 0
        target = Settlement.objects.get(pk=counts) if counts is not None else None
        held = set(Claim.objects.filter(setl_id=target.setl_id, status__in=LIVE_STATUSES)
                   .values_list("product_code", flat=True)) if target is not None else set()
        moved = []
        was_on: list[int | None] = []
        for claim in stale:
            if target is not None and claim.product_code not in held:
                was_on.append(claim.settlement_id)
                Claim.objects.filter(pk=claim.pk).update(setl_id=target.setl_id,
                                                         settlement=target)
                held.add(claim.product_code)
                moved.append(claim)
                event_record(action="claim.reassessed", actor=actor, obj=claim,
                             after={"setl_id": target.setl_id, "was_setl_id": claim.setl_id,
                                    "why": "resettled"})
            else:
                _end(claim, refund=target is None, actor=actor)
        if moved and target is not None:
            claims_on_corrected_settlement(target, actor=actor,
                                           only=[c.pk for c in moved])
            # a stay keyed from papers: the bureau's record confirms or corrects it (ADR 0027)
            keyed_reconcile(was_on, target, actor=actor)
        return len(stale)


def _end(claim: Claim, *, refund: bool, actor: Actor) -> None:
    why = ("医保结算已退费（撤销），本次就诊不再给付" if refund
           else "同一就诊已重新结算，以新结算的理赔为准")
    if claim.status in (ClaimStatus.SUBMITTED, ClaimStatus.RETURNED):
        claim_transition(claim, ClaimStatus.WITHDRAWN, actor=actor, reason=why)
        return
    if claim.status == ClaimStatus.IN_REVIEW:
        claim_refuse(claim, actor=actor, reason_code="settlement_refunded", reason_zh=why,
                     key=f"claim-rejected:{claim.pk}:refunded")
        return
    was = claim.payable_fen
    if was == 0:
        return
    if _cancel_unpaid(claim, why=why, actor=actor):
        return
    a = _zero(claim, why, "refunded", was=was)
    note = {"code": "RULE_CORRECTED", "assessment": a.pk,
            "message": f"{why}：应为 0.00 元（已核准 {_y(was)} 元，差额 {_y(-was)} 元），请决定追回"}
    Claim.objects.filter(pk=claim.pk).update(risk=[*(claim.risk or []), note])
    event_record(action="claim.reassessed", actor=actor, obj=claim,
                 after={"setl_id": claim.setl_id, "payable_fen": 0, "was_fen": was,
                        "why": "refunded" if refund else "resettled"})


def _zero(claim: Claim, why: str, tag: str, *, was: int | None = None) -> Assessment:
    """An assessment of 0 for the claim; with ``was``, a correction waiting for 追回."""
    return Assessment.objects.create(
        claim=claim, settlement_id=claim.settlement_id,
        product_version_id=claim.product_version_id, payable_fen=0, lines=[],
        reasons=["SETTLEMENT_REFUNDED"], trace=[{"rule": "settlement_refunded", "zh": why}],
        usage={}, input_hash=hashlib.sha256(f"{tag}:{claim.pk}:{claim.setl_id}".encode())
        .hexdigest(), as_of=clock.today(), engine="scalar", correction_was_fen=was)


def _cancel_unpaid(claim: Claim, *, why: str, actor: Actor) -> bool:
    """Cancel the granted claim's payouts when none of its money has gone to the bank (each
    payout 待支付 or 支付失败, none in a batch, on its way or paid): the debt is reversed, the
    claim holds 0 from now on (its usage row too), and the member is told. False, changing
    nothing, when some of its money is in a batch or beyond (then 追回 decides)."""
    from huzhu.payouts.models import Payout, PayoutStatus
    from huzhu.payouts.status import payouts_move

    row = usage_lock(claim)  # the member-period lock first, as approvals take it
    payouts = list(Payout.objects.select_for_update().filter(claim=claim).order_by("pk"))
    unpaid = (PayoutStatus.PAYABLE, PayoutStatus.FAILED)
    live = [p for p in payouts if p.status != PayoutStatus.CANCELLED]
    if not live or any(p.status not in unpaid for p in live):
        return False
    if sum(p.amount_fen for p in live) != claim.payable_fen:
        return False  # not what the claim holds: leave it to a person (追回 decides)
    was, on = claim.payable_fen, clock.today()
    moved = payouts_move([p.pk for p in live], PayoutStatus.CANCELLED, frm=unpaid, actor=actor,
                         reason=why)
    if moved != len(live):
        raise RuntimeError("payout moved while locked")  # pragma: no cover - lock held
    for p in live:
        post_payout_cancelled(claim=claim, payout_id=p.pk, amount_fen=p.amount_fen, why=why,
                              on=on, actor=actor)
    a = _zero(claim, why, "cancelled")
    note = {"code": "PAYMENT_CANCELLED", "assessment": a.pk,
            "message": f"{why}：尚未支付的 {_y(was)} 元已作废，不再支付，无须追回"}
    Claim.objects.filter(pk=claim.pk).update(payable_fen=0, assessment=a,
                                             risk=[*(claim.risk or []), note])
    if row is not None:
        MemberPeriodUsage.objects.filter(pk=row.pk).update(granted_fen=F("granted_fen") - was)
    claim_notice(claim, "CLAIM_CANCELLED", f"claim-cancelled:{claim.pk}", amount=yuan_text(was))
    event_record(action="claim.reassessed", actor=actor, obj=claim,
                 after={"setl_id": claim.setl_id, "payable_fen": 0, "was_fen": was,
                        "why": "cancelled_unpaid", "payouts": [p.pk for p in live]})
    return True
