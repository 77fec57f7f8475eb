"""Granting a claim: the one place an approval becomes money owed.

Under the member-period lock (:func:`usage_lock`, a ``select_for_update`` of the member's
usage row for the product and period), the claim is assessed again if anything was granted to
the member since its assessment, so caps and claim counts hold however approvals race
(TRUST R-07); then it moves to 已核准, the payable is posted to the ledger, its one
payout is created (a unique constraint, R-04) and the member is told the amount.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.utils import timezone

from huzhu import clock
from huzhu.actors import Actor
from huzhu.audit.services import atomic_events
from huzhu.members.models import Member

from .assess import claim_assess, usage_doc, usage_for
from .grants import Granted, approved_notice, grant_many
from .models import Claim, ClaimEvent, ClaimKind, MemberPeriodUsage
from .notify import claim_notice, what_of
from .status import ClaimStatus, claim_transition


def usage_lock(claim: Claim) -> MemberPeriodUsage | None:
    """Lock (creating once) the usage row of the claim's member, product and period.

    The member's row is locked first, as :func:`~huzhu.claims.services.claim_file` does: the
    holder of the usage row inserts rows referencing the member (its SMS, its payout), and
    must not wait on a filer who holds the member row and waits for the usage row."""
    Member.objects.select_for_update(no_key=True).filter(pk=claim.member_id).first()
    if not claim.period_id:
        return None
    keys: dict[str, Any] = {"member_id": claim.member_id, "product_code": claim.product_code,
            "period_id": claim.period_id}
    MemberPeriodUsage.objects.get_or_create(**keys)
    return MemberPeriodUsage.objects.select_for_update(no_key=True).get(**keys)


def claim_refuse(claim: Claim, *, actor: Actor, reason_code: str, reason_zh: str,
                 key: str) -> Claim:
    claim_transition(claim, ClaimStatus.REJECTED, actor=actor, reason=reason_code)
    claim_notice(claim, "CLAIM_REJECTED", key, reason=reason_zh)
    return claim


@atomic_events()
def claim_grant(claim: Claim, *, actor: Actor = None, reason: str = "",
                as_of: datetime.date | None = None, on: datetime.date | None = None) -> Claim:
    """Approve ``claim`` (SUBMITTED or IN_REVIEW) and owe its payable; see the module text.
    What is owed is written by :func:`huzhu.claims.grants.grant_many`, as for every grant."""
    from .risk import rules_reasons_zh

    row = usage_lock(claim)
    claim.refresh_from_db(fields=["status", "payable_fen", "assessment"])
    assessment = claim.assessment
    if assessment is None or assessment.usage != usage_doc(usage_for(claim)):
        # granted meanwhile: the new figure, kept beside the old (and now the claim's)
        assessment = claim_assess(claim, as_of=as_of)
    if claim.payable_fen <= 0:
        return claim_refuse(claim, actor=actor, reason_code=",".join(assessment.reasons),
                            reason_zh=rules_reasons_zh(assessment.reasons),
                            key=f"claim-rejected:{claim.pk}:grant")
    claim_transition(claim, ClaimStatus.APPROVED, actor=actor, reason=reason)
    member = claim.member
    base: dict[str, Any] = {"name": member.name, "claim": claim.pk,
                            "product": claim.product_version.name}
    phone, card = member.phone, member.bank_card
    if claim.kind != ClaimKind.HOSPITAL:  # an event claim: its words, and its payee's card
        ev = ClaimEvent.objects.get(claim_id=claim.pk)
        base["what"] = what_of(claim.kind, ev.relation)
        if ev.pays_person:
            base["payee"], phone, card = ev.person_name, ev.person_phone, ev.payee_card
    grant_many([Granted(claim.pk, member.pk, claim.payable_fen, claim.org_path,
                        claim.fund_region_id, claim.product_code, claim.period,
                        row.pk if row is not None else None,
                        approved_notice(base, member.pk, phone, claim.org_path,
                                        claim.payable_fen, card, claim.kind))],
               today=on or clock.today(), actor=actor, now=timezone.now())
    return claim
