"""Consolation payments (慰问金): discretionary money for a member, outside the products'
rules (docs/adr/0016).

Staff with :data:`Perm.CONSOLATION` propose an amount and a reason for a member in their
scope, at most the limit of their union's level (:data:`LIMITS_FEN`); another person, whose
own limit covers the amount, approves or refuses it (four eyes: a database constraint, and
the proposer is refused here first). Approval posts Dr 5104 慰问金支出 / Cr 2202 应付互助金
(key ``consolation-payable:<id>``) and creates the one payout of kind 慰问金, which the
ordinary batches pay to the member's card (2202 → 2204 → 1002 as for every payout). Approval
locks the row: two approvers racing grant it once.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from huzhu import clock
from huzhu.accounts.roles import Perm
from huzhu.actors import Actor
from huzhu.audit.services import atomic_events, event_record
from huzhu.claims.models import Consolation, ConsolationStatus
from huzhu.claims.notify import card_tail, yuan_text
from huzhu.errors import DomainError, NotAllowed
from huzhu.ledger.models import AccountKind
from huzhu.ledger.services import Source, account_open, ledger_post
from huzhu.members.access import members_visible_to
from huzhu.members.models import Member
from huzhu.notices.services import notice_enqueue
from huzhu.organisations.models import Organisation, OrgKind

from .models import Payout, PayoutKind

# The most one person may propose or approve, by the level of their union (fen).
LIMITS_FEN: dict[str, int] = {
    OrgKind.COUNTY: 100_000,  # 1,000 元
    OrgKind.CITY: 300_000,  # 3,000 元
    OrgKind.PROVINCE: 1_000_000,  # 10,000 元
}


def limit_of(user: Any) -> int:
    """The largest consolation ``user`` may propose or approve (0: none)."""
    org = getattr(user, "organisation", None)
    if org is None or not user.can(Perm.CONSOLATION):
        return 0
    return LIMITS_FEN.get(org.kind, 0)


def _yuan(fen: int) -> str:
    return f"{fen // 100:,}.{fen % 100:02d}"


def _need(actor: Actor) -> Any:
    if actor is None or not getattr(actor, "is_authenticated", False) \
            or not actor.can(Perm.CONSOLATION):
        raise NotAllowed("无权办理慰问金")
    return actor


@atomic_events()
def consolation_propose(*, member: Member, amount_fen: int, reason: str,
                        actor: Actor) -> Consolation:
    """Propose a consolation payment; refused (naming the field) above the proposer's limit,
    without a reason, or for a member outside their scope."""
    user = _need(actor)
    if not members_visible_to(user).filter(pk=member.pk).exists():
        raise NotAllowed("该会员不在您的管理范围内")
    if not isinstance(amount_fen, int) or amount_fen <= 0:
        raise DomainError("慰问金金额必须大于 0", field_errors={"amount": ["金额必须大于 0"]})
    limit = limit_of(user)
    if amount_fen > limit:
        msg = (f"慰问金 {_yuan(amount_fen)} 元超过您的审批权限（{user.organisation.get_kind_display()}"
               f"最多 {_yuan(limit)} 元）")
        raise DomainError(msg, field_errors={"amount": [msg]})
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("请填写慰问事由", field_errors={"reason": ["请填写慰问事由"]})
    if member.fund_region_id is None:
        raise DomainError("该会员不属于任何统筹区，不能发放慰问金")
    row = Consolation.objects.create(
        member=member, amount_fen=amount_fen, reason=reason[:300], org_path=member.org_path,
        fund_region_id=member.fund_region_id, proposed_by=user)
    event_record(action="consolation.proposed", actor=user, obj=row, org_path=row.org_path,
                 after={"member": member.pk, "amount_fen": amount_fen, "reason": reason[:100]})
    return row


def payable_key(consolation_id: int) -> str:
    return f"consolation-payable:{consolation_id}"


@atomic_events()
def consolation_decide(*, consolation: Consolation, approve: bool, actor: Actor,
                       note: str = "") -> Consolation:
    """Approve (owe and pay) or refuse a proposed consolation payment: once, by someone
    other than the proposer whose limit covers the amount."""
    user = _need(actor)
    row = Consolation.objects.select_for_update().select_related("member").get(
        pk=consolation.pk)
    if not members_visible_to(user).filter(pk=row.member_id).exists():
        raise NotAllowed("该会员不在您的管理范围内")
    if row.status != ConsolationStatus.PROPOSED:
        raise DomainError(f"该慰问金已{row.get_status_display()}，不能再次审批",
                          code="already_decided")
    if row.proposed_by_id == user.pk:
        raise NotAllowed("提出人不能审批自己提出的慰问金（须由另一人审批）")
    if approve and row.amount_fen > limit_of(user):
        raise NotAllowed(f"慰问金 {_yuan(row.amount_fen)} 元超过您的审批权限"
                         f"（最多 {_yuan(limit_of(user))} 元）")
    if not approve and not note.strip():
        raise DomainError("不予批准请填写理由", field_errors={"note": ["请填写理由"]})
    now = timezone.now()
    status = ConsolationStatus.APPROVED if approve else ConsolationStatus.REFUSED
    Consolation.objects.filter(pk=row.pk).update(status=status, decided_by=user, decided_at=now,
                                                 decision_note=note.strip()[:300])
    row.status, row.decided_by, row.decided_at = status, user, now
    if approve:
        region = Organisation.objects.get(pk=row.fund_region_id)
        expense = account_open(org=region, kind=AccountKind.CONSOLATION_EXPENSE)
        payable = account_open(org=region, kind=AccountKind.BENEFIT_PAYABLE, period_code="")
        ledger_post(key=payable_key(row.pk), legs=[(expense, row.amount_fen),
                                                   (payable, -row.amount_fen)],
                    memo=f"慰问金 {row.pk}：{row.reason}"[:200], business_date=clock.today(),
                    source=Source("claims.consolation", str(row.pk)), actor=user)
        Payout.objects.create(claim=None, consolation=row, kind=PayoutKind.CONSOLATION,
                              member_id=row.member_id, amount_fen=row.amount_fen,
                              org_path=row.org_path, fund_region_id=row.fund_region_id)
        m = row.member
        notice_enqueue(key=f"consolation-approved:{row.pk}", template="CONSOLATION_APPROVED",
                       phone=m.phone or "",
                       params={"name": m.name, "amount": yuan_text(row.amount_fen),
                               "card": card_tail(m.bank_card)},
                       member_id=m.pk, org_path=row.org_path)
    event_record(action="consolation.decided", actor=user, obj=row, org_path=row.org_path,
                 after={"status": status, "amount_fen": row.amount_fen,
                        "note": note.strip()[:100]})
    return row
