"""Claims: filed by a member, an agent or an agency point, or created automatically from a
matched settlement (免申即享); assessed, checked for risk, then approved at once or sent to
review (``review.py``). Approval owes the payable (``approval.py``); payouts pay it.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef

from huzhu.audit.services import event_record
from huzhu.enrollment.models import Enrollment, EnrollmentStatus
from huzhu.errors import DomainError
from huzhu.members.models import Member

from .approval import claim_grant, claim_refuse, usage_lock
from .assess import claim_assess, claim_day
from .ingest import (  # noqa: F401  (re-exported service API)
    ImportReport,
    settlement_import_file,
    settlement_ingest,
    settlement_match_retry,
)
from .models import Claim, ClaimPolicy, ClaimSource, Settlement
from .notify import claim_notice
from .review import review_enter
from .risk import ZH, decision, risk_checks, rules_reasons_zh
from .status import OPEN, ClaimStatus

__all__ = ["settlement_import_file", "settlement_ingest", "settlement_match_retry",
           "claim_file", "claim_assess", "claim_screen", "claims_create_auto", "ImportReport"]


def enrollment_for(member_id: int, product_code: str, day: datetime.date) -> Enrollment | None:
    """The member's active enrollment in the product whose period holds ``day``; else the
    latest one (so a claim outside cover is still assessed, and stopped)."""
    qs = (Enrollment.objects.filter(member_id=member_id, status=EnrollmentStatus.ACTIVE,
                                    product_version__code=product_code)
          .select_related("period", "product_version"))
    inside = qs.filter(period__coverage_start__lte=day, period__coverage_end__gte=day).first()
    return inside or qs.order_by("-period__coverage_end").first()


def claim_screen(claim: Claim, *, actor: Any = None, as_of: datetime.date | None = None) -> Claim:
    """Run the risk checks on an assessed claim and decide: approve, review or refuse."""
    findings = risk_checks(claim, as_of=as_of or claim_day(claim))
    claim.risk = findings
    Claim.objects.filter(pk=claim.pk).update(risk=findings)
    if claim.status != ClaimStatus.SUBMITTED:
        return claim
    to = decision(claim, findings)
    if to == ClaimStatus.APPROVED:
        return claim_grant(claim, actor=actor, reason="straight_through", as_of=as_of)
    if to == ClaimStatus.IN_REVIEW:
        return review_enter(claim, actor=actor, reason=", ".join(f["code"] for f in findings))
    reasons = list(claim.assessment.reasons)
    return claim_refuse(claim, actor=actor, reason_code=", ".join(reasons) or "nothing_payable",
                        reason_zh=rules_reasons_zh(reasons), key=f"claim-rejected:{claim.pk}:screen")


@transaction.atomic
def claim_file(*, member: Member, settlement: Settlement, product_code: str, actor: Any = None,
               source: str = ClaimSource.MEMBER, as_of: datetime.date | None = None) -> Claim:
    """File a claim on a settlement for one product; assess and screen it at once."""
    if source not in ClaimSource.values:
        raise DomainError(f"未知的理赔来源：{source}")
    if settlement.member_id != member.pk:
        raise DomainError("该结算记录不属于此会员", code="not_members")
    if not settlement.is_current:
        settlement = Settlement.objects.get(setl_id=settlement.setl_id, is_current=True)
    # One member's filings in turn, then the member-period usage row: the order every path
    # takes these locks in (before the event chain's head), so filings and approvals can't
    # deadlock.
    Member.objects.select_for_update().filter(pk=member.pk).first()
    event_day = settlement.begndate
    enrollment = enrollment_for(member.pk, product_code, event_day)
    if enrollment is None:
        raise DomainError(f"该会员未参加产品 {product_code}，不能申请理赔", code="not_enrolled")
    claim = Claim(
        member=member, settlement=settlement, setl_id=settlement.setl_id,
        product_code=product_code, product_version=enrollment.product_version,
        enrollment=enrollment, period=enrollment.period, event_date=event_day, source=source,
        org_path=member.org_path, fund_region_id=member.fund_region_id,
        created_by=actor if getattr(actor, "pk", None) else None)
    usage_lock(claim)
    claim.save(force_insert=True)
    event_record(action="claim.filed", actor=actor, obj=claim,
                 after={"setl_id": claim.setl_id, "product": product_code, "source": source})
    if source != ClaimSource.AUTO:
        claim_notice(claim, "CLAIM_SUBMITTED", f"claim-submitted:{claim.pk}")
    claim_assess(claim, as_of=as_of)
    return claim_screen(claim, actor=actor, as_of=as_of)


def auto_products() -> set[str]:
    return set(ClaimPolicy.objects.filter(auto_claim=True).values_list("product_code", flat=True))


def claims_create_auto(*, settlements: list[Settlement] | None = None, actor: Any = None,
                       as_of: datetime.date | None = None) -> list[Claim]:
    """Create the claims of products that pay without an application (免申即享) for matched
    current settlements that have none yet for that product."""
    codes = auto_products()
    if not codes:
        return []
    if settlements is None:
        settlements = list(Settlement.objects.filter(is_current=True, member__isnull=False)
                           .exclude(Exists(Claim.objects.filter(setl_id=OuterRef("setl_id"),
                                                                product_code__in=codes)))
                           .select_related("member"))
    made = []
    for s in settlements:
        if not s.is_current or s.member_id is None:
            continue
        held = set(Enrollment.objects.filter(
            member_id=s.member_id, status=EnrollmentStatus.ACTIVE,
            product_version__code__in=codes, period__coverage_start__lte=s.begndate,
            period__coverage_end__gte=s.begndate).values_list("product_version__code", flat=True))
        done = set(Claim.objects.filter(setl_id=s.setl_id, product_code__in=held)
                   .values_list("product_code", flat=True))
        for code in sorted(held - done):
            made.append(claim_file(member=s.member, settlement=s, product_code=code, actor=actor,
                                   source=ClaimSource.AUTO, as_of=as_of))
    return made


@transaction.atomic
def claims_on_corrected_settlement(settlement: Settlement, *, actor: Any = None) -> list[Claim]:
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
