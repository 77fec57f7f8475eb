"""Risk checks before approval. Each finding is a reason code with a Chinese message; a claim
with any finding goes to review, a clean claim with something to pay is approved at once, and
a clean claim the rules pay nothing on is refused with the rules' reasons.

The random sample is deterministic: claim ``pk`` is hashed, so a test (or an audit) can
recompute which claims were drawn.
"""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from huzhu import clock

from .models import DEFAULT_POLICY, Claim, ClaimPolicy
from .status import GRANTED, ClaimStatus

ZH = {
    "DUPLICATE_SETTLEMENT": "同一结算记录已有理赔",
    "OVERLAPPING_STAY": "住院时间与其他理赔重叠",
    "OUTSIDE_COVERAGE": "事件日期不在保障期内",
    "WAITING_PERIOD": "事件日期在等待期内",
    "DEADLINE_PASSED": "已超过申请期限",
    "OVER_THRESHOLD": "给付金额超过人工审核金额",
    "FREQUENT_CLAIMS": "短期内理赔次数异常",
    "RANDOM_SAMPLE": "随机抽检",
    "SETTLEMENT_CORRECTED": "结算记录已更正，已重新核算",
}
REASONS_ZH = {
    "NOT_ELIGIBLE": "不符合参保条件", "NOT_YET_COVERED": "事件早于保障开始",
    "COVERAGE_ENDED": "保障已结束", "DEADLINE_PASSED": "超过申请期限",
    "WAITING_PERIOD": "等待期内", "WAITING_CONSOLATION": "等待期内减额给付",
    "HOSPITAL_LEVEL": "医院等级不符", "STAY_TOO_SHORT": "住院天数不足",
    "DISEASE_NOT_LISTED": "病种不在目录内", "NO_COST": "费用基数为零",
    "DEDUCTIBLE_NOT_MET": "未达起付线", "DEDUCTIBLE": "扣除起付线",
    "RATIO_SHARE_CAP": "按统筹基金支付比例封顶", "MIN_BENEFIT": "按最低给付",
    "PER_CLAIM_CAP": "单次封顶", "CLAIM_COUNT_EXCEEDED": "超过本期理赔次数",
    "LIFETIME_LIMIT": "超过终身次数", "PERIOD_CAP": "本期封顶",
    "PRODUCT_PERIOD_CAP": "产品本期总封顶", "BELOW_THRESHOLD": "未达给付标准",
    "NO_PRIOR_PAYMENT": "上期未有给付", "SHARES_LIMITED": "份数按上限计",
}


def rules_reasons_zh(codes: list[str]) -> str:
    """The rules engine's reason codes as one Chinese phrase, for a member's SMS."""
    names = [REASONS_ZH.get(c, c) for c in codes if c != "NOT_APPLICABLE"]
    return "、".join(names) or "按保障规则无可给付金额"


ENGINE_COVERAGE = {"NOT_YET_COVERED", "COVERAGE_ENDED"}
ENGINE_WAITING = {"WAITING_PERIOD", "WAITING_CONSOLATION"}
LIVE = (ClaimStatus.SUBMITTED, ClaimStatus.IN_REVIEW, ClaimStatus.RETURNED, *GRANTED)


def policy_for(product_code: str, fund_region_id: int | None = None) -> ClaimPolicy:
    """The claim settings of a product in a fund region: the region's own row, else the
    product's default row (no region), else :data:`DEFAULT_POLICY`. One query."""
    return PolicyBook.load([product_code]).get(product_code, fund_region_id)


class PolicyBook:
    """Claim settings loaded at once (every region's rows and the defaults of some products),
    so a part of thousands of claims picks each one's settings without a query."""

    def __init__(self, rows: list[ClaimPolicy]) -> None:
        self.rows = {(p.fund_region_id, p.product_code): p for p in rows}

    @classmethod
    def load(cls, codes: Iterable[str] | None = None) -> PolicyBook:
        qs = ClaimPolicy.objects.all()
        if codes is not None:
            qs = qs.filter(product_code__in=sorted(set(codes)))
        return cls(list(qs))

    def get(self, product_code: str, fund_region_id: int | None) -> ClaimPolicy:
        return (self.rows.get((fund_region_id, product_code))
                or self.rows.get((None, product_code)) or DEFAULT_POLICY)

    def auto_codes(self) -> set[str]:
        """The products 免申即享 in at least one region (or by default)."""
        return {p.product_code for p in self.rows.values() if p.auto_claim}


STAMPED = ("review_threshold_fen", "sample_percent", "frequent_claims", "frequent_days",
           "deadline_days", "auto_claim")


def policy_stamp(policy: ClaimPolicy) -> dict[str, Any]:
    """What a claim records of the settings it was filed under: the row (``id``, none for the
    built-in default), its region and its values."""
    return {"id": policy.pk, "region": policy.fund_region_id,
            **{name: getattr(policy, name) for name in STAMPED}}


def policy_of(claim: Claim) -> ClaimPolicy:
    """The settings a claim was filed under (its stamp); a claim filed before claims were
    stamped: its region's current settings."""
    stamp = claim.policy or {}
    if not stamp:
        return policy_for(claim.product_code, claim.fund_region_id)
    return ClaimPolicy(product_code=claim.product_code, fund_region_id=stamp.get("region"),
                       **{name: stamp[name] for name in STAMPED if name in stamp})


def sampled(claim_id: int, percent: int) -> bool:
    if percent <= 0:
        return False
    digest = hashlib.sha256(f"huzhu-claim-sample:{claim_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % 100 < percent


def _y(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


@dataclass(frozen=True)
class Stay:
    """What the checks need of a claim (this one or another live one of the member)."""

    pk: int
    product_code: str
    setl_id: str
    mdtrt_id: str
    begndate: datetime.date
    enddate: datetime.date
    event_date: datetime.date


@dataclass(frozen=True)
class Cover:
    coverage_start: datetime.date | None
    period_end: datetime.date | None
    waiting_until: datetime.date | None


def findings(c: Stay, *, payable_fen: int, reasons: list[str], setl_date: datetime.date,
             cover: Cover | None, others: list[Stay], policy: ClaimPolicy,
             as_of: datetime.date) -> list[dict[str, Any]]:
    """The risk findings of one assessed claim, given the member's other live claims."""
    codes = set(reasons)
    out: list[dict[str, Any]] = []

    def flag(code: str, detail: str = "") -> None:
        out.append({"code": code, "message": ZH[code] + (f"：{detail}" if detail else "")})

    same = [o for o in others if o.product_code == c.product_code and o.pk != c.pk]
    dup = next((o.pk for o in same if o.setl_id == c.setl_id
                or (c.mdtrt_id and o.mdtrt_id == c.mdtrt_id)), None)
    if dup is not None:
        flag("DUPLICATE_SETTLEMENT", f"理赔 {dup}")
    overlap = next((o.pk for o in same if o.setl_id != c.setl_id
                    and o.begndate < c.enddate and o.enddate > c.begndate), None)
    if overlap is not None:
        flag("OVERLAPPING_STAY", f"理赔 {overlap}")
    if (cover is None or cover.coverage_start is None or cover.period_end is None
            or not cover.coverage_start <= c.event_date <= cover.period_end
            or codes & ENGINE_COVERAGE):
        start = cover.coverage_start if cover else None
        flag("OUTSIDE_COVERAGE", f"事件日期 {c.event_date}，保障自 {start or '（未生效）'}")
    elif (cover.waiting_until and c.event_date <= cover.waiting_until) or codes & ENGINE_WAITING:
        flag("WAITING_PERIOD", f"等待期至 {cover.waiting_until}")
    if "DEADLINE_PASSED" in codes:
        flag("DEADLINE_PASSED")
    elif policy.deadline_days is not None:
        last = setl_date + datetime.timedelta(days=policy.deadline_days)
        if as_of > last:
            flag("DEADLINE_PASSED", f"结算后 {policy.deadline_days} 天内（至 {last}）")
    if payable_fen > policy.review_threshold_fen:
        flag("OVER_THRESHOLD", f"{_y(payable_fen)} 元 > {_y(policy.review_threshold_fen)} 元")
    window = c.event_date - datetime.timedelta(days=policy.frequent_days - 1)
    recent = len({o.setl_id for o in others if o.pk != c.pk and o.setl_id != c.setl_id
                  and window <= o.event_date <= c.event_date}) + 1
    if recent > policy.frequent_claims:
        flag("FREQUENT_CLAIMS", f"{policy.frequent_days} 天内 {recent} 次（上限 {policy.frequent_claims}）")
    if not out and payable_fen > 0 and sampled(c.pk, policy.sample_percent):
        flag("RANDOM_SAMPLE", f"抽检比例 {policy.sample_percent}%")
    return out


def risk_checks(claim: Claim, *, as_of: datetime.date, policy: ClaimPolicy | None = None
                ) -> list[dict[str, Any]]:
    """Return the findings for a claim already assessed (``claim.assessment``), under the
    settings it was filed under (:func:`policy_of`) unless ``policy`` is given."""
    policy = policy or policy_of(claim)
    s = claim.settlement
    others = [Stay(pk, code, setl_id, mdtrt or "", begn or ev, end or ev, ev)
              for pk, code, setl_id, mdtrt, begn, end, ev in Claim.objects.filter(
        member_id=claim.member_id, status__in=LIVE).exclude(pk=claim.pk).values_list(
        "pk", "product_code", "setl_id", "settlement__mdtrt_id", "settlement__begndate",
        "settlement__enddate", "event_date")]
    if s is None:  # an event claim: its day is the event's, filed when it was made
        me = Stay(claim.pk, claim.product_code, claim.setl_id, "", claim.event_date,
                  claim.event_date, claim.event_date)
        setl_day = clock.today(claim.created_at)
    else:
        me = Stay(claim.pk, claim.product_code, claim.setl_id, s.mdtrt_id, s.begndate,
                  s.enddate, claim.event_date)
        setl_day = clock.today(s.setl_time)
    e = claim.enrollment
    cover = Cover(e.coverage_start, e.period.coverage_end, e.waiting_until) if e else None
    return findings(me, payable_fen=claim.payable_fen,
                    reasons=list(claim.assessment.reasons if claim.assessment else []),
                    setl_date=setl_day, cover=cover, others=others, policy=policy,
                    as_of=as_of)


def decision(claim: Claim, findings: list[dict[str, Any]]) -> str:
    """in_review with findings; approved with something to pay; else rejected."""
    if findings:
        return ClaimStatus.IN_REVIEW
    return ClaimStatus.APPROVED if claim.payable_fen > 0 else ClaimStatus.REJECTED
