"""我的保障: what covers a member, since and until when, the waiting period, and for each
benefit its limits with what is used and what is left, all read from the product's rules
(the catalog) and the claims already granted, never typed in anywhere else."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from huzhu import clock
from huzhu.claims.assess import usage_for
from huzhu.claims.models import Claim
from huzhu.enrollment.models import Enrollment, EnrollmentStatus
from huzhu.ledger.models import PayerKind
from huzhu.members.models import Member
from huzhu.products.services import product_rules
from huzhu.rules.model import Benefit, Product, Usage
from huzhu.rules.money import format_yuan

KIND_ZH = {"ratio": "按比例给付", "daily": "按住院天数给付", "lump": "一次性给付",
           "accident": "意外伤残或身故给付", "consolation": "慰问金"}


def yuan(fen: int) -> str:
    return format_yuan(fen, grouping=True) + " 元"


@dataclass
class Limit:
    label: str  # 本期给付上限 / 本期可申请次数 …
    total: str
    used: str
    left: str


@dataclass
class BenefitView:
    name: str
    how: str  # one sentence: how it is paid
    limits: list[Limit] = field(default_factory=list)


@dataclass
class CoverView:
    enrollment_id: int
    product: str
    period: str
    status: str
    since: datetime.date | None
    until: datetime.date
    waiting_until: datetime.date | None
    waiting_now: bool
    shares: int
    premium: str
    payers: list[str]
    gifted: bool
    benefits: list[BenefitView]
    product_limit: Limit | None
    deadline: str
    paid_total: str


def _how(b: Benefit) -> str:
    if b.kind == "ratio" and b.tiers is not None:
        parts = []
        for t in b.tiers.items:
            lower = format_yuan(t.lo_fen, grouping=True)
            parts.append(f"{lower}–{format_yuan(t.hi_fen, grouping=True)} 元部分按 {t.bp / 100:g}%"
                         if t.hi_fen is not None else f"{lower} 元以上部分按 {t.bp / 100:g}%")
        start = f"扣除起付线 {yuan(b.deductible_fen)}后，" if b.deductible_fen else ""
        items = b.tiers.items
        if len(items) == 1 and items[0].lo_fen == 0 and items[0].hi_fen is None:
            rule = f"按 {items[0].bp / 100:g}% 给付"
        else:
            how = "全额分档" if b.tiers.mode == "whole" else "分段累进"
            rule = f"{how}给付：{'；'.join(parts)}"
        cap = (f"，且不超过基本医保统筹基金支付额的 {b.share_cap.bp / 100:g}%"
               if b.share_cap is not None and b.share_cap.base.text == "hifp_pay" else "")
        return f"基本医保报销后您自己负担的部分，{start}{rule}{cap}。"
    if b.kind == "daily":
        days = f"住院满 {b.min_stay_days} 天起，" if b.min_stay_days else ""
        return f"{days}每住院一天给付 {yuan(b.per_day_fen)}。"
    if b.kind == "accident":
        bits = []
        if b.death_fen:
            bits.append(f"意外身故给付 {yuan(b.death_fen)}")
        if b.disability_max_fen:
            bits.append(f"意外伤残按伤残等级给付，最高 {yuan(b.disability_max_fen)}")
        return "；".join(bits) + "。"
    if b.kind == "lump" and b.amounts:
        return f"符合条件时一次性给付，最高 {yuan(max(a.amount_fen for a in b.amounts))}。"
    if b.kind == "consolation":
        return f"自付费用超过 {yuan(b.threshold_fen)}时给付慰问金 {yuan(b.amount_fen)}。"
    return KIND_ZH.get(b.kind, "按规则给付") + "。"


def _limits(b: Benefit, usage: Usage) -> list[Limit]:
    u = usage.of(b.id)
    out = []
    if b.period_cap_fen is not None:
        out.append(Limit("本期给付上限", yuan(b.period_cap_fen), yuan(u.paid_fen),
                         yuan(max(b.period_cap_fen - u.paid_fen, 0))))
    if b.per_claim_cap_fen is not None:
        out.append(Limit("每次给付上限", yuan(b.per_claim_cap_fen), "—", "—"))
    if b.claim_limit is not None:
        out.append(Limit("本期可给付次数", f"{b.claim_limit} 次", f"{u.claims} 次",
                         f"{max(b.claim_limit - u.claims, 0)} 次"))
    if b.lifetime_limit is not None:
        out.append(Limit("终身可给付次数", f"{b.lifetime_limit} 次", f"{u.lifetime_claims} 次",
                         f"{max(b.lifetime_limit - u.lifetime_claims, 0)} 次"))
    return out


def _deadline(product: Product) -> str:
    t = product.timing
    if t.deadline == "days_after_settlement":
        return f"请在出院结算后 {t.deadline_days} 天内申请。"
    if t.deadline == "days_after_period_end":
        return f"请在保障期结束后 {t.deadline_days} 天内申请。"
    if t.deadline == "next_year_date":
        return f"本期的住院请在次年 {t.deadline_month} 月 {t.deadline_day} 日前申请。"
    if t.deadline == "fixed_date" and t.deadline_date:
        return f"请在 {t.deadline_date:%Y年%m月%d日}前申请。"
    return "本产品没有规定申请期限，出院后请尽早申请。"


def member_covers(member: Member) -> list[CoverView]:
    """The member's enrollments of the current and coming periods (newest first), each with
    its benefits, limits and what is used and left of them in that period."""
    today = clock.today()
    rows = (Enrollment.objects.filter(member=member, period__coverage_end__gte=today
                                      - datetime.timedelta(days=366),
                                      status__in=[EnrollmentStatus.ACTIVE,
                                                  EnrollmentStatus.PENDING])
            .select_related("period", "product_version")
            .order_by("-period__coverage_start", "product_version__code"))
    out = []
    for e in rows:
        product = product_rules(e.product_version)
        usage = usage_for(Claim(member_id=member.pk, product_code=e.product_version.code,
                                period_id=e.period_id))
        cap = product.period_cap_fen
        payers = [f"{PayerKind(p['payer']).label} {yuan(p['fen'])}" for p in e.split
                  if p.get("fen")]
        out.append(CoverView(
            enrollment_id=e.pk, product=e.product_version.name, period=e.period.name,
            status=("已生效" if e.status == EnrollmentStatus.ACTIVE and e.coverage_start
                    and e.coverage_start <= today <= e.period.coverage_end
                    else "待生效" if e.status == EnrollmentStatus.ACTIVE
                    and e.coverage_start and e.coverage_start > today
                    else "已到期" if e.status == EnrollmentStatus.ACTIVE
                    else "待单位缴费"),
            since=e.coverage_start, until=e.period.coverage_end, waiting_until=e.waiting_until,
            waiting_now=bool(e.waiting_until and today <= e.waiting_until),
            shares=e.shares, premium=yuan(e.premium_fen), payers=payers, gifted=e.gifted,
            benefits=[BenefitView(b.name, _how(b), _limits(b, usage))
                      for b in product.benefits],
            product_limit=(Limit("本期全部给付上限", yuan(cap), yuan(usage.product_paid_fen),
                                 yuan(max(cap - usage.product_paid_fen, 0)))
                           if cap is not None else None),
            deadline=_deadline(product), paid_total=yuan(usage.product_paid_fen)))
    return out
