"""Deciding what happens to a granted claim after a rule correction (see ADR 0007).

:func:`~huzhu.claims.reassess.claims_reassess_rule` leaves a granted claim's money alone and
adds an assessment carrying ``correction_was_fen``. A reviewer then decides, once per such
assessment (a unique constraint):

- 补发 (top-up) when the correction pays more: the difference is owed (Dr 5101 / Cr 2202) and
  paid by a second payout of kind 补发 through the usual batches;
- 追回 (recovery) when it pays less: the difference becomes a receivable (Dr 1231 / Cr 5101)
  that finance later records received (已追回) or two finance officers write off (核销);
- 不调整 (no change), with a reason.

Each decision takes the member-period lock first, as :func:`~huzhu.claims.approval.claim_grant`
does (member row, usage row, then the claim), so caps hold against approvals and other
decisions racing it (TRUST R-07): a top-up is what the corrected rules would pay given what the
member's other claims hold now, and no more. The claim's ``payable_fen`` then says what is
granted in all, and its usage row moves by the difference.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError
from django.db.models import Exists, OuterRef, QuerySet
from django.db.models import F as Field
from django.utils import timezone

from huzhu import clock
from huzhu.accounts.roles import Perm
from huzhu.actors import Actor
from huzhu.audit.services import atomic_events, event_record
from huzhu.enrollment.models import Enrollment
from huzhu.errors import DomainError, NotAllowed
from huzhu.products.services import product_rules
from huzhu.rules import scalar

from .approval import usage_lock
from .assess import claim_facts, usage_for
from .models import (
    Assessment,
    Claim,
    CorrectionDecision,
    CorrectionKind,
    MemberPeriodUsage,
    Recovery,
    RecoveryStatus,
)
from .notify import card_tail, claim_notice, yuan_text
from .postings import (
    post_claim_recovery,
    post_claim_top_up,
    post_recovery_received,
    post_recovery_written_off,
)
from .status import GRANTED

if TYPE_CHECKING:
    from huzhu.accounts.models import User


class AlreadyDecided(DomainError):
    code = "correction_decided"


def corrections_pending(claims: QuerySet[Claim]) -> QuerySet[Assessment]:
    """Rule corrections of ``claims`` awaiting a decision: the latest correction of each
    granted claim not yet decided (an earlier one is superseded by it)."""
    later = Assessment.objects.filter(claim_id=OuterRef("claim_id"), pk__gt=OuterRef("pk"),
                                      correction_was_fen__isnull=False)
    decided = CorrectionDecision.objects.filter(assessment_id=OuterRef("pk"))
    return (Assessment.objects.filter(claim__in=claims, correction_was_fen__isnull=False,
                                      claim__status__in=GRANTED)
            .exclude(Exists(later)).exclude(Exists(decided)))


def cap_room(claim: Claim, assessment: Assessment) -> int:
    """What the corrected rules pay this claim given what the member's other granted claims
    hold now (their caps, counts and product caps), under the caller's member-period lock."""
    held = tuple(Enrollment.objects.filter(
        member_id=claim.member_id, status="active", period_id=claim.period_id)
        .values_list("product_version__code", flat=True)) if claim.period_id else ()
    facts = claim_facts(claim, assessment.settlement, claim.enrollment, held, assessment.as_of)
    product = product_rules(assessment.product_version)
    return scalar.assess(facts, product, usage_for(claim), assessment.as_of).payable_fen


def _need(actor: Actor, perm: Perm, what: str) -> User:
    """The user ``actor`` is, who has ``perm``; refuses anyone else (and the system)."""
    if actor is None or not getattr(actor, "is_authenticated", False) or not actor.can(perm):
        raise NotAllowed(f"无权{what}")
    return actor


def _reason(text: str, message: str) -> str:
    text = (text or "").strip()
    if not text:
        raise DomainError(message, field_errors={"reason": [message]})
    return text[:300]


@atomic_events()
def correction_decide(*, claim: Claim, assessment: Assessment, actor: Actor, kind: str,
                      reason: str = "", on: datetime.date | None = None) -> CorrectionDecision:
    """Decide one rule correction of a granted claim (see the module text). Validates its
    input: the kind must fit the difference, 不调整 needs a reason."""
    actor = _need(actor, Perm.REVIEW_CLAIMS, "处理规则更正")
    if kind not in CorrectionKind.values:
        raise DomainError("请选择处理决定：补发、追回或不调整")
    row = usage_lock(claim)
    claim = (Claim.objects.select_for_update(of=("self",))
             .select_related("member", "product_version", "period", "fund_region",
                             "enrollment__period")
             .get(pk=claim.pk))
    a = (Assessment.objects.select_related("settlement", "product_version")
         .filter(pk=assessment.pk, claim=claim, correction_was_fen__isnull=False).first())
    if a is None or claim.status not in GRANTED:
        raise DomainError("该理赔没有待处理的规则更正")
    if CorrectionDecision.objects.filter(assessment=a).exists():
        raise AlreadyDecided("该规则更正已经处理过，不能重复处理")
    if Assessment.objects.filter(claim=claim, pk__gt=a.pk,
                                 correction_was_fen__isnull=False).exists():
        raise DomainError("该规则更正已被之后的更正取代，请处理最新的一次")
    was, diff = claim.payable_fen, a.payable_fen - claim.payable_fen
    amount, limited = 0, False
    if kind == CorrectionKind.TOP_UP:
        if diff <= 0:
            raise DomainError("更正后给付不高于已给付，不能补发")
        allowed = min(a.payable_fen, cap_room(claim, a))
        amount, limited = allowed - was, allowed < a.payable_fen
        if amount <= 0:
            raise DomainError("本期给付上限或次数已用尽，不能补发（可先处理本期其他理赔的追回，"
                              "或选择不调整并说明理由）", code="cap_reached")
    elif kind == CorrectionKind.RECOVERY:
        if diff >= 0:
            raise DomainError("更正后给付不低于已给付，不能追回")
        amount = -diff
    else:
        reason = _reason(reason, "不调整须填写理由")
    decision = _record(claim, a, actor, kind=kind, was=was, amount=amount, limited=limited,
                       reason=reason)
    on = on or clock.today()
    if kind == CorrectionKind.TOP_UP:
        _top_up(claim, a, row, amount, on=on, actor=actor)
    elif kind == CorrectionKind.RECOVERY:
        _recover(claim, a, row, decision, amount, on=on, actor=actor)
    event_record(action="claim.correction_decided", actor=actor, obj=claim,
                 after={"assessment": a.pk, "kind": kind, "was_fen": was, "new_fen": a.payable_fen,
                        "amount_fen": amount, "limited": limited, "reason": reason[:100]})
    return decision


def _record(claim: Claim, a: Assessment, actor: User, **fields: Any) -> CorrectionDecision:
    risk = [{**r, "decided": CorrectionKind(fields["kind"]).label}
            if r.get("code") == "RULE_CORRECTED" and r.get("assessment") == a.pk else r
            for r in (claim.risk or [])]
    Claim.objects.filter(pk=claim.pk).update(risk=risk)
    try:
        with atomic_events():
            return CorrectionDecision.objects.create(
                claim=claim, assessment=a, was_fen=fields["was"], new_fen=a.payable_fen,
                amount_fen=fields["amount"], kind=fields["kind"], limited=fields["limited"],
                reason=(fields["reason"] or "").strip()[:300], org_path=claim.org_path,
                decided_by=actor)
    except IntegrityError as exc:  # decided meanwhile (the member lock makes this rare)
        raise AlreadyDecided("该规则更正已经处理过，不能重复处理") from exc


def _move(claim: Claim, a: Assessment, row: MemberPeriodUsage | None, delta: int) -> None:
    """The claim now holds ``delta`` more (or less), and so does its member-period usage."""
    Claim.objects.filter(pk=claim.pk).update(payable_fen=Field("payable_fen") + delta,
                                             assessment=a)
    if row is not None:
        MemberPeriodUsage.objects.filter(pk=row.pk).update(granted_fen=Field("granted_fen") + delta)


def _top_up(claim: Claim, a: Assessment, row: MemberPeriodUsage | None, amount: int, *,
            on: datetime.date, actor: Actor) -> None:
    from huzhu.payouts.services import payout_top_up_create

    _move(claim, a, row, amount)
    post_claim_top_up(claim=claim, assessment_id=a.pk, amount_fen=amount, on=on, actor=actor)
    payout_top_up_create(claim=claim, assessment=a, amount_fen=amount)
    claim_notice(claim, "CLAIM_TOP_UP", f"claim-topup:{claim.pk}:{a.pk}",
                 amount=yuan_text(amount), card=card_tail(claim.member.bank_card))


def _recover(claim: Claim, a: Assessment, row: MemberPeriodUsage | None,
             decision: CorrectionDecision, amount: int, *, on: datetime.date, actor: Actor) -> None:
    _move(claim, a, row, -amount)
    post_claim_recovery(claim=claim, assessment_id=a.pk, amount_fen=amount, on=on, actor=actor)
    Recovery.objects.create(claim=claim, decision=decision, member_id=claim.member_id,
                            amount_fen=amount, org_path=claim.org_path,
                            fund_region_id=claim.fund_region_id)
    claim_notice(claim, "CLAIM_RECOVERY", f"claim-recovery:{claim.pk}:{a.pk}",
                 amount=yuan_text(amount))


# --------------------------------------------------------------------------- recoveries


def _locked(recovery: Recovery) -> Recovery:
    return (Recovery.objects.select_for_update(of=("self",))
            .select_related("claim__fund_region", "claim__period").get(pk=recovery.pk))


@atomic_events()
def recovery_received(*, recovery: Recovery, actor: Actor, received_on: datetime.date,
                      bank_ref: str) -> Recovery:
    """Finance records the money back in the fund's account (已追回): Dr 1002 / Cr 1231."""
    _need(actor, Perm.MANAGE_PAYOUTS, "登记追回款")
    r = _locked(recovery)
    if r.status != RecoveryStatus.PENDING:
        raise DomainError(f"追回状态为“{r.get_status_display()}”，不能登记到账")
    bank_ref = _reason(bank_ref, "请填写银行流水号")[:60]
    if received_on > clock.today():
        raise DomainError("到账日期不能晚于今天", field_errors={"received_on": ["到账日期不能晚于今天"]})
    if received_on < clock.today(r.created_at):
        raise DomainError("到账日期不能早于追回决定之日",
                          field_errors={"received_on": ["到账日期不能早于追回决定之日"]})
    r.received_on, r.bank_ref = received_on, bank_ref
    post_recovery_received(recovery=r, on=received_on, actor=actor)
    Recovery.objects.filter(pk=r.pk).update(status=RecoveryStatus.RECOVERED, received_on=received_on,
                                            bank_ref=bank_ref, closed_by=actor,
                                            closed_at=timezone.now())
    event_record(action="claim.recovery_received", actor=actor, obj=r, org_path=r.org_path,
                 after={"claim": r.claim_id, "amount_fen": r.amount_fen, "bank_ref": bank_ref,
                        "received_on": received_on.isoformat()})
    r.refresh_from_db()
    return r


@atomic_events()
def recovery_write_off_propose(*, recovery: Recovery, actor: Actor, reason: str) -> Recovery:
    """The maker's step of a write-off (核销): a finance officer proposes it with a reason."""
    _need(actor, Perm.MANAGE_PAYOUTS, "申请核销")
    r = _locked(recovery)
    if r.status != RecoveryStatus.PENDING:
        raise DomainError(f"追回状态为“{r.get_status_display()}”，不能申请核销")
    reason = _reason(reason, "请填写核销原因")
    Recovery.objects.filter(pk=r.pk).update(status=RecoveryStatus.WRITE_OFF_PROPOSED,
                                            write_off_reason=reason, proposed_by=actor)
    event_record(action="claim.recovery_write_off_proposed", actor=actor, obj=r,
                 org_path=r.org_path, after={"claim": r.claim_id, "reason": reason[:100]})
    r.refresh_from_db()
    return r


@atomic_events()
def recovery_write_off_approve(*, recovery: Recovery, actor: Actor,
                               on: datetime.date | None = None) -> Recovery:
    """The checker's step: another finance officer approves the write-off: Dr 5101 / Cr 1231."""
    actor = _need(actor, Perm.MANAGE_PAYOUTS, "复核核销")
    r = _locked(recovery)
    if r.status != RecoveryStatus.WRITE_OFF_PROPOSED:
        raise DomainError(f"追回状态为“{r.get_status_display()}”，不能复核核销")
    if r.proposed_by_id == actor.pk:
        raise NotAllowed("申请核销的人不能复核自己的申请（须由另一人复核）")
    post_recovery_written_off(recovery=r, on=on or clock.today(), actor=actor)
    Recovery.objects.filter(pk=r.pk).update(status=RecoveryStatus.WRITTEN_OFF, closed_by=actor,
                                            closed_at=timezone.now())
    event_record(action="claim.recovery_written_off", actor=actor, obj=r, org_path=r.org_path,
                 after={"claim": r.claim_id, "amount_fen": r.amount_fen,
                        "reason": r.write_off_reason[:100]})
    r.refresh_from_db()
    return r
