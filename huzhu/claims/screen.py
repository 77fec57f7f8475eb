"""Screening an assessed claim (risk checks, then approve, review or refuse), and a corrected
settlement's claims assessed and screened again."""

from __future__ import annotations

import datetime

from huzhu.actors import Actor
from huzhu.audit.services import atomic_events, event_record
from huzhu.settlements.models import Settlement

from .approval import claim_grant, claim_refuse
from .assess import claim_assess, claim_day
from .models import Claim
from .reserve import reserve_sync
from .review import review_enter
from .risk import ZH, decision, risk_checks, rules_reasons_zh
from .status import OPEN, ClaimStatus


def claim_screen(claim: Claim, *, actor: Actor = None, as_of: datetime.date | None = None) -> Claim:
    """Run the risk checks on an assessed claim and decide: approve, review or refuse."""
    findings = risk_checks(claim, as_of=as_of or claim_day(claim))
    claim.risk = findings
    Claim.objects.filter(pk=claim.pk).update(risk=findings)
    if claim.status != ClaimStatus.SUBMITTED:
        reserve_sync(claim, actor=actor)  # reassessed in review: the reserve holds the new figure
        return claim
    to = decision(claim, findings)
    if to == ClaimStatus.APPROVED:
        return claim_grant(claim, actor=actor, reason="straight_through", as_of=as_of)
    if to == ClaimStatus.IN_REVIEW:
        return review_enter(claim, actor=actor, reason=", ".join(f["code"] for f in findings))
    reasons = list(claim.assessment.reasons) if claim.assessment else []
    return claim_refuse(claim, actor=actor, reason_code=", ".join(reasons) or "nothing_payable",
                        reason_zh=rules_reasons_zh(reasons), key=f"claim-rejected:{claim.pk}:screen")


@atomic_events()
def claims_on_corrected_settlement(settlement: Settlement, *, actor: Actor = None) -> list[Claim]:
    """A new version of a settlement: every claim on it is assessed again (old assessments
    stay); open claims are screened again, decided ones are marked for a second look."""
    out = []
    for claim in Claim.objects.filter(setl_id=settlement.setl_id).select_related("member"):
        Claim.objects.filter(pk=claim.pk).update(settlement=settlement)
        claim.settlement = settlement
        claim_assess(claim)
        if claim.status in OPEN:
            claim_screen(claim, actor=actor)
        else:
            risk = [*claim.risk, {"code": "SETTLEMENT_CORRECTED",
                                  "message": f"{ZH['SETTLEMENT_CORRECTED']}（第 {settlement.version} 版）"}]
            Claim.objects.filter(pk=claim.pk).update(risk=risk)
            claim.risk = risk
        event_record(action="claim.reassessed", actor=actor, obj=claim,
                     after={"setl_id": settlement.setl_id, "version": settlement.version,
                            "payable_fen": claim.payable_fen})
        out.append(claim)
    return out

