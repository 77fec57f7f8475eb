"""Review level by level, against deadlines in statutory working days.

A claim stopped by a risk check enters level 1 of its fund region's levels with a due date
``working_days`` after the day it arrived. At each level a reviewer approves (the claim moves
to the next level, or is granted when this level may decide it), returns it for documents,
rejects it with a reason code, or escalates it to the next level. A member may appeal a
rejection once: the appeal goes to the last level. One person acts at one level of a claim
only, so two levels are always two people. Every act is a :class:`ClaimReview` row and an
event; statuses move only through the transition table.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.db.models import Q, QuerySet

from huzhu import clock
from huzhu.accounts.roles import Perm
from huzhu.actors import Actor
from huzhu.audit.services import atomic_events, event_record
from huzhu.errors import DomainError, NotAllowed
from huzhu.organisations.models import Organisation

from .access import claims_visible_to
from .approval import claim_grant, claim_refuse, usage_lock
from .levels import REGION, Level, levels_of
from .models import Claim, ClaimReview, ReviewAction
from .notify import claim_notice
from .status import ClaimStatus, claim_transition
from .workdays import add_workdays

REJECT_REASONS = {
    "NOT_COVERED": "不属于保障范围",
    "OUTSIDE_PERIOD": "出险不在保障期内",
    "WAITING_PERIOD": "等待期内出险",
    "DUPLICATE": "重复申请",
    "DEADLINE": "超过申请期限",
    "FALSE_DOCUMENTS": "材料不真实",
    "NOT_INPATIENT": "非住院费用",
    "OTHER": "其他原因（见审核意见）",
}

def level_of(claim: Claim) -> Level:
    for lv in levels_of(claim.fund_region_id):
        if lv.level == claim.review_level:
            return lv
    raise DomainError("理赔不在审核中")


def _move_to_level(claim: Claim, lv: Level, *, actor: Actor, today: datetime.date,
                   why: str) -> None:
    due = add_workdays(today, lv.working_days)
    Claim.objects.filter(pk=claim.pk).update(review_level=lv.level, due_on=due, level_since=today)
    event_record(action="claim.level", actor=actor, obj=claim,
                 before={"level": claim.review_level},
                 after={"level": lv.level, "name": lv.name, "due_on": due.isoformat(),
                        "why": why})
    claim.review_level, claim.due_on, claim.level_since = lv.level, due, today


def review_enter(claim: Claim, *, actor: Actor = None, reason: str = "",
                 level: int = 1, today: datetime.date | None = None) -> Claim:
    """Send a SUBMITTED (or appealed REJECTED) claim to review at ``level``."""
    today = today or clock.today()
    lv = next(x for x in levels_of(claim.fund_region_id) if x.level == level)
    with atomic_events():
        claim_transition(claim, ClaimStatus.IN_REVIEW, actor=actor, reason=reason)
        _move_to_level(claim, lv, actor=actor, today=today, why=reason)
    return claim


def _ancestor_kinds(org_path: str) -> dict[int, str]:
    ids = [int(x) for x in org_path.strip("/").split("/") if x]
    return dict(Organisation.objects.filter(pk__in=ids).values_list("pk", "kind"))


def may_act_at(user: Any, claim: Claim, lv: Level) -> bool:
    """A reviewer acts at a level when their union is the claim's union of that level's kind
    (the fund region's own staff may act at any level, so no claim is stranded)."""
    if not user.is_authenticated or not user.can(Perm.REVIEW_CLAIMS):
        return False
    org = getattr(user, "organisation", None)
    if org is None or not claim.org_path.startswith(org.path):
        return False
    if org.pk == claim.fund_region_id or org.is_fund_region:
        return True
    if lv.org_kind == REGION:
        return False
    return org.kind == lv.org_kind


def _acted_elsewhere(user: Any, claim: Claim) -> bool:
    return ClaimReview.objects.filter(
        claim=claim, actor=user,
        action__in=[ReviewAction.APPROVE, ReviewAction.ESCALATE]).exclude(
        level=claim.review_level).exists()


@atomic_events()
def claim_review(claim: Claim, *, actor: Actor, action: str, reason_code: str = "",
                 note: str = "", today: datetime.date | None = None) -> Claim:
    """One reviewer's decision on a claim in review (see the module text)."""
    today = today or clock.today()
    # The member-period usage row first, as filings and grants take it (before the claim row
    # and the event chain's head): an approval here racing a filing must not deadlock.
    usage_lock(claim)
    locked = Claim.objects.select_for_update(no_key=True).get(pk=claim.pk)
    claim.status, claim.review_level, claim.due_on = (locked.status, locked.review_level,
                                                       locked.due_on)
    claim._loaded_status = locked.status
    if claim.status != ClaimStatus.IN_REVIEW:
        raise DomainError(f"理赔当前状态为“{ClaimStatus(claim.status).label}”，不能审核")
    levels = levels_of(claim.fund_region_id)
    lv = level_of(claim)
    if not may_act_at(actor, claim, lv):
        raise NotAllowed(f"您不能在“{lv.name}”审核此理赔")
    if _acted_elsewhere(actor, claim):
        raise NotAllowed("同一人不能在两个审核级次审核同一理赔")
    note = (note or "").strip()[:500]
    errors: dict[str, list[str]] = {}
    if action == ReviewAction.REJECT and reason_code not in REJECT_REASONS:
        errors["reason_code"] = ["请选择不予给付的原因"]
    if action == ReviewAction.REJECT and reason_code == "OTHER" and not note:
        errors["note"] = ["选择“其他原因”时请填写审核意见"]
    if action == ReviewAction.RETURN and not note:
        errors["note"] = ["请写明需要补充的材料"]
    higher = [x for x in levels if x.level > lv.level]
    if action == ReviewAction.ESCALATE and not higher:
        errors["action"] = ["已是最高审核级次，不能再提交上级"]
    if action not in (ReviewAction.APPROVE, ReviewAction.RETURN, ReviewAction.REJECT,
                      ReviewAction.ESCALATE):
        errors["action"] = ["未知的审核操作"]
    if errors:
        raise DomainError("审核未提交：" + "；".join(m for ms in errors.values() for m in ms),
                          field_errors=errors)
    review = ClaimReview.objects.create(
        claim=claim, level=lv.level, action=action, reason_code=reason_code, note=note,
        due_on=claim.due_on, overdue=bool(claim.due_on and today > claim.due_on), actor=actor)
    event_record(action="claim.reviewed", actor=actor, obj=claim,
                 after={"level": lv.level, "action": action, "reason_code": reason_code,
                        "overdue": review.overdue})
    if action == ReviewAction.APPROVE:
        final = not higher or (lv.final_limit_fen is not None
                               and claim.payable_fen <= lv.final_limit_fen)
        if final:
            return claim_grant(claim, actor=actor, reason=f"review:{lv.level}")
        _move_to_level(claim, higher[0], actor=actor, today=today, why="approved")
    elif action == ReviewAction.ESCALATE:
        _move_to_level(claim, higher[0], actor=actor, today=today, why="escalated")
    elif action == ReviewAction.RETURN:
        claim_transition(claim, ClaimStatus.RETURNED, actor=actor, reason=note)
        claim_notice(claim, "CLAIM_RETURNED", f"claim-returned:{review.pk}", reason=note[:60])
    else:
        zh = REJECT_REASONS[reason_code] + (f"（{note[:40]}）" if note else "")
        claim_refuse(claim, actor=actor, reason_code=reason_code, reason_zh=zh,
                     key=f"claim-rejected:{review.pk}")
    return claim


@atomic_events()
def claim_resubmit(claim: Claim, *, actor: Actor, note: str = "",
                   today: datetime.date | None = None) -> Claim:
    """After a return for documents: back to the level that returned it, with a new due date."""
    if claim.status != ClaimStatus.RETURNED:
        raise DomainError("只有退回补件的理赔可以重新提交")
    ClaimReview.objects.create(claim=claim, level=claim.review_level,
                               action=ReviewAction.RESUBMIT, note=note[:500], actor=actor)
    claim_transition(claim, ClaimStatus.SUBMITTED, actor=actor, reason="resubmitted")
    return review_enter(claim, actor=actor, reason="resubmitted",
                        level=claim.review_level or 1, today=today)


@atomic_events()
def claim_appeal(claim: Claim, *, actor: Actor, note: str,
                 today: datetime.date | None = None) -> Claim:
    """A member's appeal against a rejection, once per claim; heard at the last level."""
    if claim.status != ClaimStatus.REJECTED:
        raise DomainError("只有不予给付的理赔可以申诉")
    if not (note or "").strip():
        raise DomainError("请写明申诉理由", field_errors={"note": ["请写明申诉理由"]})
    if ClaimReview.objects.filter(claim=claim, action=ReviewAction.APPEAL).exists():
        raise DomainError("每笔理赔只能申诉一次", code="appealed")
    last = levels_of(claim.fund_region_id)[-1]
    ClaimReview.objects.create(claim=claim, level=last.level, action=ReviewAction.APPEAL,
                               note=note.strip()[:500], actor=actor)
    return review_enter(claim, actor=actor, reason="appeal", level=last.level, today=today)


def review_queue(user: Any) -> QuerySet[Claim]:
    """The claims this reviewer may act on now, the most urgent (overdue) first."""
    if not user.is_authenticated or not user.can(Perm.REVIEW_CLAIMS):
        return Claim.objects.none()
    org = getattr(user, "organisation", None)
    if org is None:
        return Claim.objects.none()
    qs = claims_visible_to(user).filter(status=ClaimStatus.IN_REVIEW)
    if not (org.is_fund_region or org.fund_region_id is None):
        region = org.fund_region_id
        mine = [lv.level for lv in levels_of(region) if lv.org_kind == org.kind]
        qs = qs.filter(Q(review_level__in=mine) if mine else Q(pk__in=[]))
    return qs.order_by("due_on", "id")
