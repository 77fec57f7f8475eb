"""Open follow-ups by the region's rule, and record each touch. Every write is an event.

``followups_scan`` may run as often as anyone likes (from the page, the command, the worker):
a member is followed up once a year (a unique constraint, not a check), so a second run, or
two at once, opens nothing more."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Sum

from huzhu import clock
from huzhu.audit.models import Action
from huzhu.audit.services import event_record
from huzhu.claims.models import Claim
from huzhu.claims.notify import yuan_text
from huzhu.claims.status import GRANTED
from huzhu.claims.workdays import add_workdays
from huzhu.errors import DomainError
from huzhu.notices.services import notice_enqueue
from huzhu.organisations.models import Organisation, OrgKind

from .models import CareRule, CareTask, FollowUp, Touch

MAX_NOTE = 1000
_ICD_PREFIX = re.compile(r"[A-Z][0-9A-Z.]{0,6}")


class CareError(DomainError):
    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message, field_errors={field: [message]} if field else None)


@dataclass
class ScanResult:
    opened: int
    checked: int


def rule_for(fund_region: Organisation) -> CareRule:
    """The region's rule (the default one, not yet saved, when nobody has set it)."""
    return (CareRule.objects.filter(fund_region=fund_region).first()
            or CareRule(fund_region=fund_region))


def _county_of(org_path: str) -> Organisation:
    """The county union above a unit's place (or the nearest union above it)."""
    ids = [int(p) for p in org_path.strip("/").split("/") if p]
    orgs = {o.pk: o for o in Organisation.objects.filter(pk__in=ids)}
    chain = [orgs[i] for i in ids if i in orgs]
    for org in reversed(chain):
        if org.kind == OrgKind.COUNTY:
            return org
    unions = [o for o in chain if o.kind != OrgKind.GRASSROOTS]
    return (unions or chain)[-1]


def followups_scan(*, fund_region: Organisation, as_of: datetime.date | None = None,
                   actor: Any = None) -> ScanResult:
    """Open a follow-up for each member of the region that the rule names this year."""
    as_of = as_of or clock.today()
    rule = rule_for(fund_region)
    if not rule.enabled:
        return ScanResult(0, 0)
    granted = Claim.objects.filter(fund_region=fund_region, status__in=GRANTED,
                                   event_date__year=as_of.year)
    already = FollowUp.objects.filter(year=as_of.year, fund_region=fund_region).values("member_id")
    reasons: dict[int, tuple[str, int]] = {}
    totals = (granted.exclude(member_id__in=already).values("member_id")
              .annotate(total=Sum("payable_fen")).filter(total__gte=rule.min_benefit_fen))
    for row in totals:
        last = granted.filter(member_id=row["member_id"]).order_by("-id").values_list(
            "id", flat=True).first()
        reasons[row["member_id"]] = (
            f"本年度已获给付 {yuan_text(row['total'])} 元，达到 {yuan_text(rule.min_benefit_fen)} 元",
            last or 0)
    prefixes = tuple(rule.prefixes())
    checked = len(reasons)
    if prefixes:
        # Diagnoses are stored encrypted: read each granted claim's settlement and compare.
        # (A claim without a settlement — a lump sum on a diagnosis — counts by its amount.)
        for claim in (granted.exclude(member_id__in=already).exclude(member_id__in=reasons)
                      .filter(settlement__isnull=False)
                      .select_related("settlement").only("id", "member_id",
                                                         "settlement__diag_code")):
            checked += 1
            code = ((claim.settlement.diag_code if claim.settlement else "") or "").upper()
            if claim.member_id not in reasons and code.startswith(prefixes):
                reasons[claim.member_id] = ("诊断属于本统筹区的重病关怀病种", claim.pk)
    opened = 0
    for member_id, (reason, claim_id) in reasons.items():
        if _open(member_id=member_id, year=as_of.year, fund_region=fund_region, reason=reason,
                 claim_id=claim_id, as_of=as_of, days=rule.working_days, actor=actor):
            opened += 1
    return ScanResult(opened, checked)


def _open(*, member_id: int, year: int, fund_region: Organisation, reason: str, claim_id: int,
          as_of: datetime.date, days: int, actor: Any) -> bool:
    from huzhu.members.models import Member

    member = Member.objects.only("id", "org_path").get(pk=member_id)
    due = add_workdays(as_of, days)
    try:
        with transaction.atomic():
            followup = FollowUp.objects.create(
                member_id=member_id, year=year, fund_region=fund_region,
                county=_county_of(member.org_path), org_path=member.org_path, reason=reason,
                claim_id=claim_id or None, opened_on=as_of)
            CareTask.objects.bulk_create(
                [CareTask(followup=followup, kind=k, due_on=due) for k in Touch.values])
            event_record(action=Action.CARE_OPENED, actor=actor, obj=followup,
                         after={"member": member_id, "year": year, "reason": reason,
                                "due_on": due.isoformat()})
    except IntegrityError:
        return False  # opened by an earlier or a concurrent run
    return True


@transaction.atomic
def task_record(*, task: CareTask, actor: Any, note: str = "", amount_fen: int | None = None,
                consent: bool | None = None, skip: bool = False,
                as_of: datetime.date | None = None) -> CareTask:
    """Record one touch as done (or as not to be done, with the reason in ``note``)."""
    task = CareTask.objects.select_for_update().select_related("followup__member").get(
        pk=task.pk)
    if task.done_on is not None:
        raise CareError("该事项已办结，不能重复办理")
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise CareError(f"办理记录不能超过 {MAX_NOTE} 字", field="note")
    if skip and not note:
        raise CareError("不予办理时请写明原因", field="note")
    if task.kind in (Touch.CALL, Touch.GIFT) and not skip and not note:
        raise CareError("请填写办理记录（通话要点或慰问品内容）", field="note")
    if task.kind == Touch.MONEY and not skip:
        if amount_fen is None or amount_fen <= 0:
            raise CareError("请填写慰问金金额", field="amount")
    if task.kind == Touch.STORY and not skip and consent is not True:
        raise CareError("宣传报道须经本人同意：未获同意请选择“不予办理”并写明", field="consent")
    member = task.followup.member
    if task.kind == Touch.SMS and not skip:
        if not member.phone:
            raise CareError("会员未登记手机号，无法发送短信；请选择“不予办理”并写明", field="note")
        notice_enqueue(key=f"care-sms:{task.followup_id}", template="CARE_GREETING",
                       phone=member.phone, params={"name": member.name},
                       member_id=member.pk, org_path=task.followup.org_path)
    task.done_on = as_of or clock.today()
    task.done_by = actor
    task.note = note or None
    task.amount_fen = amount_fen if task.kind == Touch.MONEY and not skip else None
    task.consent = consent if task.kind == Touch.STORY else None
    task.skipped = skip
    task.save()
    event_record(action=Action.CARE_TOUCHED, actor=actor, obj=task.followup,
                 after={"kind": task.get_kind_display(), "skipped": skip,
                        "amount_fen": task.amount_fen})
    followup = task.followup
    if not followup.tasks.filter(done_on__isnull=True).exists():
        followup.closed_on = task.done_on
        followup.save(update_fields=["closed_on"])
    return task


@transaction.atomic
def rule_save(*, fund_region: Organisation, actor: Any, enabled: bool, min_benefit_fen: int,
              diseases: str, working_days: int) -> CareRule:
    if min_benefit_fen <= 0:
        raise CareError("年度给付金额须大于 0", field="min_benefit")
    if not 1 <= working_days <= 60:
        raise CareError("办理时限须在 1 至 60 个工作日之间", field="working_days")
    cleaned = ",".join(p.strip().upper() for p in diseases.replace("，", ",").split(",")
                       if p.strip())
    for p in cleaned.split(",") if cleaned else []:
        if not _ICD_PREFIX.fullmatch(p):
            raise CareError(f"病种编码“{p}”不是 ICD-10 编码或其前缀（如 C、I21、N18.5）",
                            field="diseases")
    if len(cleaned) > 500:
        raise CareError("病种编码过多（最多 500 个字符）", field="diseases")
    rule = CareRule.objects.select_for_update().filter(fund_region=fund_region).first()
    before = None
    if rule is None:
        rule = CareRule(fund_region=fund_region)
    else:
        before = _rule_dict(rule)
    rule.enabled, rule.min_benefit_fen = enabled, min_benefit_fen
    rule.diseases, rule.working_days = cleaned, working_days
    rule.save()
    event_record(action=Action.SETTING_CHANGED if before else Action.SETTING_CREATED,
                 actor=actor, obj=rule, org_path=fund_region.path, before=before,
                 after=_rule_dict(rule))
    return rule


def _rule_dict(rule: CareRule) -> dict[str, Any]:
    return {"enabled": rule.enabled, "min_benefit_fen": rule.min_benefit_fen,
            "diseases": rule.diseases, "working_days": rule.working_days}


def phone_for_call(*, actor: Any, followup: FollowUp) -> str:
    """The member's full phone number for the greeting call, recorded as seen: a reveal
    allowed by the care right, for this purpose only."""
    from huzhu.accounts.roles import Perm
    from huzhu.members.models import Member
    from huzhu.members.services import member_reveal

    member = Member.objects.get(pk=followup.member_id)
    return member_reveal(actor=actor, member=member, field_name="phone",
                         purpose="重病关怀问候电话", right=Perm.MANAGE_CARE,
                         context={"followup": followup.pk})
