"""Risk checks before approval. Each finding is a reason code with a Chinese message; a claim
with any finding goes to review, a clean claim with something to pay is approved at once, and
a clean claim the rules pay nothing on is refused with the rules' reasons.

The random sample is deterministic: claim ``pk`` is hashed, so a test (or an audit) can
recompute which claims were drawn.
"""

from __future__ import annotations

import datetime
import hashlib
from typing import Any

from .models import DEFAULT_POLICY, Claim, ClaimPolicy
from .status import ClaimStatus

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
ENGINE_COVERAGE = {"NOT_YET_COVERED", "COVERAGE_ENDED"}
ENGINE_WAITING = {"WAITING_PERIOD", "WAITING_CONSOLATION"}
LIVE = (ClaimStatus.SUBMITTED, ClaimStatus.IN_REVIEW, ClaimStatus.RETURNED, ClaimStatus.APPROVED)


def policy_for(product_code: str) -> ClaimPolicy:
    return ClaimPolicy.objects.filter(product_code=product_code).first() or DEFAULT_POLICY


def sampled(claim_id: int, percent: int) -> bool:
    if percent <= 0:
        return False
    digest = hashlib.sha256(f"huzhu-claim-sample:{claim_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % 100 < percent


def _y(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def risk_checks(claim: Claim, *, as_of: datetime.date, policy: ClaimPolicy | None = None
                ) -> list[dict[str, Any]]:
    """Return the findings for a claim already assessed (``claim.assessment``)."""
    policy = policy or policy_for(claim.product_code)
    s = claim.settlement
    a = claim.assessment
    codes = set(a.reasons if a else [])
    out: list[dict[str, Any]] = []

    def flag(code: str, detail: str = "") -> None:
        out.append({"code": code, "message": ZH[code] + (f"：{detail}" if detail else "")})

    others = Claim.objects.filter(member_id=claim.member_id, status__in=LIVE).exclude(pk=claim.pk)
    same = others.filter(product_code=claim.product_code)
    dup = same.filter(setl_id=claim.setl_id).values_list("pk", flat=True).first()
    if dup is None and s.mdtrt_id:
        dup = same.filter(settlement__mdtrt_id=s.mdtrt_id).values_list("pk", flat=True).first()
    if dup is not None:
        flag("DUPLICATE_SETTLEMENT", f"理赔 {dup}")
    overlap = (same.exclude(setl_id=claim.setl_id)
               .filter(settlement__begndate__lt=s.enddate, settlement__enddate__gt=s.begndate)
               .values_list("pk", flat=True).first())
    if overlap is not None:
        flag("OVERLAPPING_STAY", f"理赔 {overlap}")
    enrollment = claim.enrollment
    if (enrollment is None or enrollment.coverage_start is None
            or not enrollment.coverage_start <= claim.event_date <= enrollment.period.coverage_end
            or codes & ENGINE_COVERAGE):
        start = enrollment.coverage_start if enrollment else None
        flag("OUTSIDE_COVERAGE", f"事件日期 {claim.event_date}，保障自 {start or '（未生效）'}")
    elif (enrollment.waiting_until and claim.event_date <= enrollment.waiting_until) \
            or codes & ENGINE_WAITING:
        flag("WAITING_PERIOD", f"等待期至 {enrollment.waiting_until}")
    if "DEADLINE_PASSED" in codes:
        flag("DEADLINE_PASSED")
    elif policy.deadline_days is not None:
        last = s.setl_time.date() + datetime.timedelta(days=policy.deadline_days)
        if as_of > last:
            flag("DEADLINE_PASSED", f"结算后 {policy.deadline_days} 天内（至 {last}）")
    if claim.payable_fen > policy.review_threshold_fen:
        flag("OVER_THRESHOLD", f"{_y(claim.payable_fen)} 元 > {_y(policy.review_threshold_fen)} 元")
    window = claim.event_date - datetime.timedelta(days=policy.frequent_days - 1)
    recent = (others.filter(event_date__gte=window, event_date__lte=claim.event_date)
              .exclude(setl_id=claim.setl_id).values("setl_id").distinct().count() + 1)
    if recent > policy.frequent_claims:
        flag("FREQUENT_CLAIMS", f"{policy.frequent_days} 天内 {recent} 次（上限 {policy.frequent_claims}）")
    if not out and claim.payable_fen > 0 and sampled(claim.pk, policy.sample_percent):
        flag("RANDOM_SAMPLE", f"抽检比例 {policy.sample_percent}%")
    return out


def decision(claim: Claim, findings: list[dict[str, Any]]) -> str:
    """in_review with findings; approved with something to pay; else rejected."""
    if findings:
        return ClaimStatus.IN_REVIEW
    return ClaimStatus.APPROVED if claim.payable_fen > 0 else ClaimStatus.REJECTED
