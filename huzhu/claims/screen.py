"""Screening an assessed claim (risk checks, then approve, review or refuse), and a corrected
settlement's claims assessed and screened again."""

from __future__ import annotations

import datetime

from huzhu.actors import Actor
from huzhu.audit.services import atomic_events, event_record
from huzhu.settlements.models import Settlement

from .approval import claim_grant, claim_refuse
from .assess import claim_assess, claim_day
from .models import Assessment, Claim
from .reserve import reserve_sync
from .review import review_enter
from .risk import ZH, decision, risk_checks, rules_reasons_zh
from .status import GRANTED, OPEN, ClaimStatus


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
def claims_on_corrected_settlement(settlement: Settlement, *, actor: Actor = None,
                                   only: list[int] | None = None) -> list[Claim]:
    """A new version of a settlement (or the stay's new settlement, ``only`` its claims moved
    to it): every claim on it is assessed again (old assessments stay); open claims carry the
    new figure and are screened again. A granted claim keeps what was granted: when the new
    figure differs, the new assessment records the granted one (``correction_was_fen``) and
    waits for the correction decision, 追回 or 补发 (huzhu.claims.corrections)."""
    out = []
    claims = Claim.objects.filter(setl_id=settlement.setl_id).select_related("member")
    if only is not None:
        claims = claims.filter(pk__in=only)
    for claim in claims:
        Claim.objects.filter(pk=claim.pk).update(settlement=settlement)
        claim.settlement = settlement
        was, was_assessment = claim.payable_fen, claim.assessment_id
        granted = claim.status in GRANTED
        row = claim_assess(claim)
        risk = [*(claim.risk or []), {
            "code": "SETTLEMENT_CORRECTED",
            "message": f"{ZH['SETTLEMENT_CORRECTED']}（第 {settlement.version} 版）"}]
        if claim.status in OPEN:
            claim_screen(claim, actor=actor)
        if granted:
            Claim.objects.filter(pk=claim.pk).update(payable_fen=was, assessment_id=was_assessment)
            claim.payable_fen, claim.assessment_id = was, was_assessment
            if row.payable_fen != was:
                Assessment.objects.filter(pk=row.pk).update(correction_was_fen=was)
                risk.append({"code": "RULE_CORRECTED", "assessment": row.pk, "message": (
                    f"结算更正后应为 {_y(row.payable_fen)} 元（已核准 {_y(was)} 元，"
                    f"差额 {_y(row.payable_fen - was)} 元），请决定补发或追回")})
        if claim.status not in OPEN:
            Claim.objects.filter(pk=claim.pk).update(risk=risk)
            claim.risk = risk
        event_record(action="claim.reassessed", actor=actor, obj=claim,
                     after={"setl_id": settlement.setl_id, "version": settlement.version,
                            "payable_fen": row.payable_fen})
        out.append(claim)
    return out


def _y(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100:,}.{abs(fen) % 100:02d}"
