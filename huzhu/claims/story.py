"""A claim told to its member: a timeline with dates, the amount in plain sentences, and —
for a claim returned or refused — why, and what to do next. Read from the claim, its review
acts, its assessment and its benefit payout; nothing here is stored."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from huzhu import clock
from huzhu.rules.money import format_yuan

from .levels import levels_of
from .models import Claim, ClaimSource, ReviewAction
from .review import REJECT_REASONS
from .risk import REASONS_ZH
from .status import ClaimStatus

# What a member can do about each refusal reason.
REJECT_ADVICE = {
    "NOT_COVERED": "如认为这次住院属于保障范围，可以提出申诉，并附上诊断证明等材料。",
    "OUTSIDE_PERIOD": "请核对住院日期和您的保障期（见“我的保障”）；如日期有误，可以提出申诉。",
    "WAITING_PERIOD": "等待期内住院不予给付；等待期结束后的住院可以正常申请。",
    "DUPLICATE": "这次住院已经申请过，请在“我的理赔”中查看先前那笔理赔。",
    "DEADLINE": "如因特殊原因未能按时申请，可以提出申诉并说明原因。",
    "FALSE_DOCUMENTS": "请联系所在工会核实材料。",
    "NOT_INPATIENT": "门诊费用不属于住院互助；如确为住院，请提出申诉并附出院小结。",
    "OTHER": "请看审核意见；如有异议，可以提出申诉。",
}


@dataclass
class Step:
    when: datetime.datetime | datetime.date | None
    title: str
    text: str = ""
    tone: str = "done"  # done | now | bad | todo


@dataclass
class Story:
    steps: list[Step] = field(default_factory=list)
    amount: list[str] = field(default_factory=list)  # plain sentences
    problem: str = ""  # why returned or refused
    todo: str = ""  # what the member should do now


def _yuan(fen: int) -> str:
    return format_yuan(fen, grouping=True) + " 元"


def _level_names(claim: Claim) -> dict[int, str]:
    return {lv.level: lv.name for lv in levels_of(claim.fund_region_id)}


def _amount(claim: Claim) -> list[str]:
    s, a = claim.settlement, claim.assessment
    out = []
    if s is not None:
        out.append(f"这次住院（{s.begndate:%Y年%m月%d日}至{s.enddate:%Y年%m月%d日}，"
                   f"{s.fixmedins_name}）医疗费共 {_yuan(s.medfee_sumamt_fen)}，"
                   f"基本医保等基金支付了 {_yuan(s.fund_pay_sumamt_fen)}，"
                   f"您个人负担 {_yuan(s.psn_part_amt_fen)}。")
    if a is None:
        out.append("互助金还在核算中。")
        return out
    paid = [ln for ln in a.lines if ln["payable_fen"] > 0]
    if paid:
        parts = "，".join(f"{ln['name']} {_yuan(ln['payable_fen'])}" for ln in paid)
        out.append(f"按{claim.product_version.name}的规则，核算互助金共 {_yuan(a.payable_fen)}："
                   f"{parts}。")
    else:
        out.append(f"按{claim.product_version.name}的规则，这次住院没有可给付的互助金。")
    for ln in a.lines:
        why = [REASONS_ZH[r["code"]] for r in ln["reasons"] if r["code"] in REASONS_ZH]
        if why:
            out.append(f"{ln['name']}：{'、'.join(why)}。")
    if claim.status == ClaimStatus.REJECTED:
        out.append("这笔理赔不予给付，上面核算的金额不会支付。")
    return out


def claim_story(claim: Claim) -> Story:
    story = Story(amount=_amount(claim))
    names = _level_names(claim)
    who = {ClaimSource.MEMBER.value: "您本人", ClaimSource.AGENT.value: "单位经办人"}.get(
        str(claim.source), "工会代办点")
    story.steps.append(Step(clock.local(claim.created_at), "提交申请",
                            f"{who}提交了{claim.product_version.name}理赔申请（编号 {claim.pk}）。"))
    last_reject = None
    for r in claim.reviews.order_by("id"):
        level = names.get(r.level, f"第 {r.level} 级审核")
        when = clock.local(r.created_at)
        note = f"审核意见：{r.note}" if r.note else ""
        if r.action == ReviewAction.APPROVE:
            story.steps.append(Step(when, f"{level}审核通过", note))
        elif r.action == ReviewAction.ESCALATE:
            story.steps.append(Step(when, f"{level}审核后提交上级", note))
        elif r.action == ReviewAction.RETURN:
            story.steps.append(Step(when, "退回补充材料", note or "需要补充材料。", "bad"))
            story.problem = note or "审核人员需要您补充材料。"
        elif r.action == ReviewAction.REJECT:
            reason = REJECT_REASONS.get(r.reason_code, "其他原因")
            story.steps.append(Step(when, "不予给付", f"原因：{reason}。{note}", "bad"))
            last_reject = r
        elif r.action == ReviewAction.RESUBMIT:
            story.steps.append(Step(when, "补充材料后重新提交", note))
        elif r.action == ReviewAction.APPEAL:
            story.steps.append(Step(when, "提出申诉", note))
    status = claim.status
    if status == ClaimStatus.SUBMITTED:
        story.steps.append(Step(None, "等待核算", "系统正在核对医保结算数据。", "now"))
    elif status == ClaimStatus.IN_REVIEW:
        level = names.get(claim.review_level, "审核")
        due = f"，预计 {claim.due_on:%Y年%m月%d日}前办结" if claim.due_on else ""
        story.steps.append(Step(None, f"{level}中", f"正在审核{due}。", "now"))
    elif status == ClaimStatus.RETURNED:
        story.todo = ("请在本页“申请材料”处拍照上传补充的材料，然后点“上传并重新提交审核”；"
                      "也可以把材料交给单位经办人代为提交。")
    elif status == ClaimStatus.REJECTED and last_reject is not None:
        story.problem = (f"不予给付的原因：{REJECT_REASONS.get(last_reject.reason_code, '其他原因')}"
                         + (f"（{last_reject.note}）" if last_reject.note else "") + "。")
        appealed = claim.reviews.filter(action=ReviewAction.APPEAL).exists()
        story.todo = (REJECT_ADVICE.get(last_reject.reason_code, REJECT_ADVICE["OTHER"])
                      + ("（您已申诉过一次，结果以这次审核为准。）" if appealed
                         else "申诉可以在本页下方提交一次，由上级审核。"))
    elif status == ClaimStatus.WITHDRAWN:
        story.steps.append(Step(None, "已撤回", "这笔理赔已撤回。", "bad"))
    if status == ClaimStatus.APPROVED:
        _payment(claim, story)
    return story


def _payment(claim: Claim, story: Story) -> None:
    from huzhu.payouts.models import LineStatus, PayoutKind, PayoutStatus

    if claim.decided_at:
        story.steps.append(Step(clock.local(claim.decided_at), "核准给付",
                                f"核准互助金 {_yuan(claim.payable_fen)}。"))
    payout = (claim.payouts.filter(kind=PayoutKind.BENEFIT)
              .prefetch_related("lines__batch").first())
    if payout is not None and payout.status == PayoutStatus.CANCELLED:
        story.steps.append(Step(None, "撤销给付", "这次住院的医保结算已退费或重新结算，"
                                "尚未支付的互助金不再支付。", "bad"))
        story.problem = "这次住院的医保结算已退费或重新结算，原核准的互助金不再支付。"
        story.todo = "如重新结算的住院需要申请互助金，会另有一笔理赔；有疑问请联系所在工会。"
        return
    if payout is None or payout.status in (PayoutStatus.PAYABLE, PayoutStatus.BATCHED):
        story.steps.append(Step(None, "等待支付", "互助金将按批次支付到您登记的银行卡。", "now"))
        return
    for ln in payout.lines.all():
        sent = getattr(ln.batch, "sent_at", None)
        if sent:
            story.steps.append(Step(clock.local(sent), "银行支付中",
                                    f"已发送银行，收款卡尾号 {ln.account_no[-4:]}。"))
        if ln.status == LineStatus.PAID:
            story.steps.append(Step(clock.local(ln.result_at) if ln.result_at else None,
                                    "已到账", f"互助金 {_yuan(ln.amount_fen)}已支付到尾号"
                                    f" {ln.account_no[-4:]} 的银行卡。"))
        elif ln.status == LineStatus.FAILED:
            story.steps.append(Step(clock.local(ln.result_at) if ln.result_at else None,
                                    "支付未成功", f"银行退回：{ln.fail_reason or '原因未说明'}。",
                                    "bad"))
    if payout.status == PayoutStatus.FAILED:
        story.problem = "互助金没能付到您的银行卡。"
        story.todo = "请在“银行卡”页面用短信验证码更换银行卡，更换后会自动重新支付。"
    elif payout.status == PayoutStatus.SENT:
        story.steps.append(Step(None, "等待银行回执", "银行处理一般需要 1–3 个工作日。", "now"))
