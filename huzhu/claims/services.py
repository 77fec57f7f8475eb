"""Claims: filed by a member, an agent or an agency point, or created automatically from a
matched settlement (免申即享); assessed, checked for risk, then approved at once or sent to
review (``review.py``). Approval owes the payable (``approval.py``); payouts pay it.
"""

from __future__ import annotations

import datetime

from django.db import IntegrityError, transaction

from huzhu.actors import Actor
from huzhu.audit.services import atomic_events
from huzhu.enrollment.models import Enrollment, EnrollmentStatus
from huzhu.errors import Conflict, DomainError
from huzhu.members.models import Member
from huzhu.settlements.models import DecisionKind, Settlement, SettlementDecision

from .assess import claim_assess
from .ingest import ImportReport, settlement_import_file, settlement_ingest, settlement_match_retry
from .models import Claim, ClaimSource

__all__ = ["settlement_import_file", "settlement_ingest", "settlement_match_retry",
           "claim_file", "claim_assess", "claims_create_auto", "ImportReport"]


def enrollment_for(member_id: int, product_code: str, day: datetime.date) -> Enrollment | None:
    """The member's active enrollment in the product whose period holds ``day``; else the
    latest one (so a claim outside cover is still assessed, and stopped)."""
    qs = (Enrollment.objects.filter(member_id=member_id, status=EnrollmentStatus.ACTIVE,
                                    product_version__code=product_code)
          .select_related("period", "product_version"))
    inside = qs.filter(period__coverage_start__lte=day, period__coverage_end__gte=day).first()
    return inside or qs.order_by("-period__coverage_end").first()


def _stay_counts(settlement: Settlement) -> None:
    """Refuse a filing on a refund, or on a settlement its stay no longer counts (settled
    again, or refunded: docs/adr/0015). Under the member's lock."""
    from huzhu.settlements.stays import effective, stays_of

    if settlement.medfee_sumamt_fen < 0:
        raise DomainError(f"结算记录 {settlement.setl_id} 是退费（撤销）结算，不能据此申请理赔",
                          code="settlement_refunded")
    rows = stays_of([settlement.pk]).get(settlement.pk)
    if rows is None:
        return
    counts = effective(rows)
    if counts is None:
        raise DomainError(f"结算记录 {settlement.setl_id} 已退费（撤销），不能据此申请理赔",
                          code="settlement_refunded")
    if counts != settlement.pk:
        other = Settlement.objects.filter(pk=counts).values_list("setl_id", flat=True).get()
        raise DomainError(f"同一就诊已重新结算（结算ID {other}），请按新的结算记录申请理赔",
                          code="settlement_superseded")


@atomic_events()
def claim_file(*, member: Member, settlement: Settlement, product_code: str, actor: Actor = None,
               source: str = ClaimSource.MEMBER, as_of: datetime.date | None = None) -> Claim:
    """File a claim on a settlement for one product; assess and screen it at once, on the
    road every new claim takes (:func:`huzhu.claims.bulk.file_many`, a plan of one)."""
    from collections import defaultdict

    from django.utils import timezone

    from huzhu import clock

    from .bulk import enrollments_of, file_many, lock_members
    from .facts import cover_of, setl_of

    if source not in ClaimSource.values:
        raise DomainError(f"未知的理赔来源：{source}")
    if settlement.member_id != member.pk:
        raise DomainError("该结算记录不属于此会员", code="not_members")
    if not settlement.is_current:
        settlement = Settlement.objects.get(setl_id=settlement.setl_id, is_current=True)
    # One member's filings in turn, then the member-period usage row: the order every path
    # takes these locks in (the event chain's head last), so filings and approvals can't
    # deadlock (docs/adr/0008).
    Member.objects.select_for_update(no_key=True).filter(pk=member.pk).first()
    existing = Claim.objects.filter(setl_id=settlement.setl_id, product_code=product_code).first()
    if existing is not None:
        raise already_claimed(existing)
    _stay_counts(settlement)
    enrollment = enrollment_for(member.pk, product_code, settlement.begndate)
    if enrollment is None:
        raise DomainError(f"该会员未参加产品 {product_code}，不能申请理赔", code="not_enrolled")
    usage_rows = lock_members([member.pk], [(member.pk, product_code, enrollment.period_id)])
    try:
        with transaction.atomic():
            made = file_many(
                [(setl_of(settlement), cover_of(enrollment))], member_ids=[member.pk],
                usage_rows=usage_rows, covers=enrollments_of([member.pk]), versions={},
                source=source, actor=actor, as_of=as_of or clock.today(),
                counts=defaultdict(int), now=timezone.now())
    except IntegrityError:  # claim_once: filed meanwhile by a path without the member lock
        raise already_claimed(Claim.objects.get(setl_id=settlement.setl_id,
                                                product_code=product_code)) from None
    return Claim.objects.select_related("assessment", "member").get(pk=made[0])


def already_claimed(existing: Claim) -> Conflict:
    """The refusal of a second claim on one settlement and product, naming the first."""
    from huzhu.payouts.shown import claim_state_label

    return Conflict(f"该次住院已有理赔（理赔编号 {existing.pk}，{claim_state_label(existing)}），"
                       "不能重复申请", code="already_claimed",
                       field_errors={"setl_id": ["该结算已有理赔"]})


def auto_products(fund_region_id: int | None = None) -> set[str]:
    """The products 免申即享 in a fund region (its own settings, else the products' defaults;
    without a region: by default)."""
    from .risk import PolicyBook

    book = PolicyBook.load()
    return {code for code in book.auto_codes() if book.get(code, fund_region_id).auto_claim}


def claims_create_auto(*, settlements: list[Settlement] | None = None, actor: Actor = None,
                       as_of: datetime.date | None = None) -> list[Claim]:
    """Decide the given settlements: their automatic claims (免申即享) made, through the one
    road (:func:`huzhu.claims.bulk.settlements_decide`). Without ``settlements``: every one
    still owed a decision, and those decided before as not covered by an automatic product
    are looked at again (a product made 免申即享 since). Returns the claims made."""
    from .bulk import settlements_decide, settlements_pending

    if settlements is None:
        SettlementDecision.objects.filter(decision=DecisionKind.NOT_COVERED,
                                          settlement__is_current=True).update(
            decided_at=None, decision="")
    ids = [s.pk for s in settlements] if settlements is not None else settlements_pending()
    before = Claim.objects.order_by("-id").values_list("id", flat=True).first() or 0
    settlements_decide(ids, actor=actor, as_of=as_of)
    return list(Claim.objects.filter(id__gt=before, source=ClaimSource.AUTO,
                                     settlement_id__in=ids).order_by("id"))


