"""The step-by-step explanation, in Chinese with English alongside.

Every step names the rule (``benefit.step``) and shows the arithmetic in yuan. Assumed
values from the catalog are flagged at the top of every explanation.
"""

from __future__ import annotations

from huzhu.rules.model import Assessment, Reason, TraceStep
from huzhu.rules.money import capitals, format_ratio, format_yuan

REASON_TEXT: dict[Reason, tuple[str, str]] = {
    Reason.NOT_APPLICABLE: ("不适用于本次理赔", "does not apply to this claim"),
    Reason.NOT_ELIGIBLE: ("不符合参保条件", "member not eligible"),
    Reason.SHARES_LIMITED: ("份数超过上限，按上限计", "shares above the maximum, counted at the maximum"),
    Reason.NOT_YET_COVERED: ("事故发生在保障生效之前", "event before cover started"),
    Reason.COVERAGE_ENDED: ("保障已终止或已过保障期", "cover ended or period over"),
    Reason.DEADLINE_PASSED: ("已过申领期限", "claim deadline passed"),
    Reason.WAITING_PERIOD: ("处于等待期（免责期），不予给付", "inside the waiting period: nothing paid"),
    Reason.WAITING_CONSOLATION: ("处于等待期，只给付慰问金", "inside the waiting period: consolation only"),
    Reason.HOSPITAL_LEVEL: ("医院等级不足", "hospital level too low"),
    Reason.STAY_TOO_SHORT: ("住院天数不足", "stay too short"),
    Reason.DISEASE_NOT_LISTED: ("疾病不在保障清单内", "disease not on the list"),
    Reason.NO_PRIOR_PAYMENT: ("上期未获给付", "no payment in the previous period"),
    Reason.NO_COST: ("费用基数为零", "cost base is zero"),
    Reason.DEDUCTIBLE_NOT_MET: ("未达起付线", "deductible not met"),
    Reason.DEDUCTIBLE: ("扣除起付线", "deductible taken off"),
    Reason.BELOW_FIRST_TIER: ("未达最低给付档", "below the first bracket"),
    Reason.TIER_GAP: ("金额落在分档之间的空隙", "amount falls in a gap between brackets"),
    Reason.BELOW_THRESHOLD: ("未达慰问金门槛", "below the consolation threshold"),
    Reason.RATIO_SHARE_CAP: ("不超过另一费用的一定比例", "capped at a share of another field"),
    Reason.MIN_BENEFIT: ("提高到最低给付额", "raised to the minimum benefit"),
    Reason.PER_CLAIM_CAP: ("超过单次上限", "per-claim cap"),
    Reason.CLAIM_COUNT_EXCEEDED: ("超过本期理赔次数", "claim count for the period exceeded"),
    Reason.LIFETIME_LIMIT: ("已达终身给付次数", "lifetime limit reached"),
    Reason.PERIOD_CAP: ("达到本期责任上限", "period cap of the benefit reached"),
    Reason.PRODUCT_PERIOD_CAP: ("达到本期产品总上限", "period cap of the product reached"),
}


def y(fen: int) -> str:
    """Return fen as yuan text for explanations."""
    return format_yuan(fen, grouping=True)


def pct(bp: int) -> str:
    return format_ratio(bp)


class Trace:
    """Collects steps; the engine passes ``None`` instead when the trace is turned off."""

    def __init__(self) -> None:
        self.steps: list[TraceStep] = []

    def add(self, rule: str, zh: str, en: str) -> None:
        self.steps.append(TraceStep(rule, zh, en))


def render(a: Assessment, lang: str = "zh") -> str:
    """Return the explanation of an assessment as text in ``lang`` ("zh" or "en")."""
    zh = lang != "en"
    out = [f"{'产品' if zh else 'Product'} {a.product_id} v{a.product_version}"
           f" · {'理赔' if zh else 'claim'} {a.claim_id or '-'} · {'计算日' if zh else 'as of'} {a.as_of}"]
    for flag in a.flags:
        out.append(("⚠ 假设值（未公布，仅供运行）: " if zh else "⚠ assumed value (unpublished): ") + flag)
    for i, s in enumerate(a.trace, 1):
        out.append(f"{i:>2}. [{s.rule}] {s.zh if zh else s.en}")
    for ln in a.lines:
        codes = ",".join(r.code.value for r in ln.reasons)
        out.append(f"  - {ln.name} ({ln.benefit_id}): {y(ln.payable_fen)}" + (f"  [{codes}]" if codes else ""))
    total = y(a.payable_fen)
    out.append(f"{'合计应付' if zh else 'Total payable'}: {total} "
               + (f"（{capitals(a.payable_fen)}）" if zh else "yuan"))
    out.append(f"{'输入摘要' if zh else 'input hash'}: {a.input_hash}")
    return "\n".join(out)
