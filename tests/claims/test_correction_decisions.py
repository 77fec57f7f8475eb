"""A rule correction of a granted claim, decided: 补发 (a second payout through the usual
batches), 追回 (a receivable finance records received or two people write off), or 不调整
with a reason; once per corrected assessment, with caps holding."""

from __future__ import annotations

import hashlib

import pytest

from huzhu import clock
from huzhu.claims.corrections import (
    AlreadyDecided,
    correction_decide,
    corrections_pending,
    recovery_received,
    recovery_write_off_approve,
    recovery_write_off_propose,
)
from huzhu.claims.models import (
    Claim,
    CorrectionDecision,
    MemberPeriodUsage,
    Recovery,
    RecoveryStatus,
)
from huzhu.claims.reassess import claims_reassess_rule
from huzhu.errors import DomainError, NotAllowed
from huzhu.ledger.models import AccountKind
from huzhu.notices.models import OutboxMessage
from huzhu.notices.templates import TEMPLATES, render
from huzhu.payouts.channels import FileDropChannel
from huzhu.payouts.models import Payout, PayoutKind, PayoutStatus
from huzhu.payouts.services import (
    batch_approve,
    batch_build,
    batch_send,
    payouts_reconcile,
    result_import,
)
from huzhu.payouts.shown import ClaimState, claim_state
from huzhu.products.models import ProductVersion

from .conftest import MEDICAL, ledger_clean
from .test_money import approved_claim as money_claim
from .test_money import balance, result_for


def approved_claim(w, setl_id="S1", **kw):
    """700.00 under the 70% rule (base 1,000.00; the 20% share cap, 1,800.00, does not bind)."""
    return money_claim(w, setl_id, inscp=1_000_000, hifp=900_000, **kw)


def usage(w) -> int:
    return MemberPeriodUsage.objects.get(member=w.zhangsan, product_code=MEDICAL).granted_fen


def corrected(rate: str, caps: str = "") -> ProductVersion:
    """The next version of the medical rules, paying ``rate`` (with a product ``caps``)."""
    old = ProductVersion.objects.get(code=MEDICAL, version="2015.1")
    n = ProductVersion.objects.filter(code=MEDICAL).count() + 1
    doc = old.document.replace('rate = "70%"', f'rate = "{rate}"').replace(
        'version = "2015.1"', f'version = "2015.{n}"')
    if caps:
        doc = doc.replace("[[benefits]]", f'[caps]\nperiod = "{caps}"\n\n[[benefits]]', 1)
    return ProductVersion.objects.create(code=MEDICAL, version=f"2015.{n}", name=old.name,
                                         document=doc, lists_document=old.lists_document,
                                         digest=hashlib.sha256(doc.encode()).hexdigest())


def flagged(w, rate, caps, *claims):
    """Correct the rules and re-assess the period; the corrections now awaiting a decision."""
    claims_reassess_rule(version=corrected(rate, caps), period=w.period, actor=w.wangwu)
    return [corrections_pending(Claim.objects.filter(pk=c.pk)).get() for c in claims]


def paid_claim(w, tmp_path, setl_id="S1", **kw):
    claim = approved_claim(w, setl_id, **kw)
    batch = batch_build(fund_region=w.province, actor=w.qianjiu).batch
    batch = batch_approve(batch=batch, actor=w.checker)
    batch = batch_send(batch=batch, actor=w.qianjiu, channel=FileDropChannel(tmp_path))
    result_import(batch=batch, data=result_for(batch, {}), file_name=f"{setl_id}.csv",
                  actor=w.qianjiu)
    claim.refresh_from_db()
    assert claim_state(claim) == ClaimState.PAID
    return claim


def test_templates_take_exactly_their_parameters():
    text = render("CLAIM_TOP_UP", {"name": "张三", "product": "住院医疗", "claim": "7",
                                   "amount": "100.00", "card": "3029"})
    assert "补发互助金100.00元" in text and "尾号3029" in text
    text = render("CLAIM_RECOVERY", {"name": "张三", "product": "住院医疗", "claim": "7",
                                     "amount": "50.00"})
    assert "50.00元" in text and "请联系所在工会" in text
    assert TEMPLATES["CLAIM_RECOVERY"][1] == ("name", "product", "claim", "amount")


def test_top_up_is_owed_batched_and_paid_with_the_books_clean_at_each_step(money_world, tmp_path):
    w = money_world
    claim = paid_claim(w, tmp_path)
    assert claim.payable_fen == 70_000 and usage(w) == 70_000
    (a,) = flagged(w, "80%", "", claim)
    assert (a.correction_was_fen, a.payable_fen) == (70_000, 80_000)
    assert ledger_clean() == []

    decision = correction_decide(claim=claim, assessment=a, actor=w.wangwu, kind="top_up")
    assert (decision.amount_fen, decision.limited) == (10_000, False)
    assert ledger_clean() == []
    claim.refresh_from_db()
    assert claim.payable_fen == 80_000 and claim_state(claim) == ClaimState.PAID
    assert usage(w) == 80_000
    assert balance(AccountKind.BENEFIT_EXPENSE) == 80_000
    assert balance(AccountKind.BENEFIT_PAYABLE) == -10_000
    top = Payout.objects.get(claim=claim, kind=PayoutKind.TOP_UP)
    assert (top.amount_fen, top.status, top.assessment_id) == (10_000, PayoutStatus.PAYABLE, a.pk)
    sms = OutboxMessage.objects.filter(template="CLAIM_TOP_UP")
    assert sms.count() == 1 and sms.get().params["amount"] == "100.00"
    assert next(r for r in claim.risk if r["code"] == "RULE_CORRECTED")["decided"] == "补发"
    assert not corrections_pending(Claim.objects.all()).exists()
    assert payouts_reconcile(fund_region=w.province).ok

    batch = batch_build(fund_region=w.province, actor=w.qianjiu).batch
    assert batch.total_fen == 10_000
    batch = batch_approve(batch=batch, actor=w.checker)
    batch = batch_send(batch=batch, actor=w.qianjiu, channel=FileDropChannel(tmp_path))
    assert ledger_clean() == [] and payouts_reconcile(fund_region=w.province).ok
    result_import(batch=batch, data=result_for(batch, {}), file_name="top.csv", actor=w.qianjiu)
    assert ledger_clean() == []
    top.refresh_from_db()
    claim.refresh_from_db()
    assert top.status == PayoutStatus.PAID and claim_state(claim) == ClaimState.PAID
    rec = payouts_reconcile(fund_region=w.province)
    assert rec.ok and (rec.paid_fen, rec.owed_fen) == (80_000, 0)
    assert payouts_reconcile(fund_region=w.province, as_of=clock.today()).ok
    assert OutboxMessage.objects.get(key=f"topup-paid:{top.pk}").params["amount"] == "100.00"

    with pytest.raises(AlreadyDecided):
        correction_decide(claim=claim, assessment=a, actor=w.top_reviewer, kind="no_change",
                          reason="再来一次")
    assert CorrectionDecision.objects.count() == 1 and OutboxMessage.objects.filter(
        template="CLAIM_TOP_UP").count() == 1


def test_a_claim_corrected_twice_is_topped_up_twice(money_world):
    w = money_world
    claim = approved_claim(w)
    (a,) = flagged(w, "80%", "", claim)
    correction_decide(claim=claim, assessment=a, actor=w.wangwu, kind="top_up")
    claim.refresh_from_db()
    (b,) = flagged(w, "90%", "", claim)
    assert (b.correction_was_fen, b.payable_fen) == (80_000, 90_000)
    correction_decide(claim=claim, assessment=b, actor=w.wangwu, kind="top_up")
    assert list(Payout.objects.filter(claim=claim).order_by("id")
                .values_list("kind", "amount_fen")) == [
        ("benefit", 70_000), ("top_up", 10_000), ("top_up", 10_000)]
    assert usage(w) == 90_000 and ledger_clean() == []
    assert payouts_reconcile(fund_region=w.province).ok


def test_top_up_is_limited_by_the_period_cap_given_other_claims(money_world):
    w = money_world
    first = approved_claim(w, "S1", begin="2026-02-01", end="2026-02-05")
    second = approved_claim(w, "S2", begin="2026-03-01", end="2026-03-05")
    assert (first.payable_fen, second.payable_fen) == (70_000, 70_000)
    # 80% with a product cap of 1,500.00: replayed, the first pays 800.00, the second 700.00.
    (a,) = flagged(w, "80%", "1500.00", first)
    assert a.payable_fen == 80_000
    assert not corrections_pending(Claim.objects.filter(pk=second.pk)).exists()
    # Before anyone decides, the cap is lowered again to 1,450.00: both are flagged.
    a2, b2 = flagged(w, "80%", "1450.00", first, second)
    assert (a2.payable_fen, b2.payable_fen) == (80_000, 65_000)
    # The second keeps its 700.00 (decided: no change), so the first may only reach 750.00.
    correction_decide(claim=second, assessment=b2, actor=w.wangwu, kind="no_change",
                      reason="已与会员当面结清")
    d = correction_decide(claim=first, assessment=a2, actor=w.wangwu, kind="top_up")
    assert (d.amount_fen, d.limited) == (5_000, True)
    assert usage(w) == 145_000 and ledger_clean() == []
    assert Payout.objects.get(kind=PayoutKind.TOP_UP).amount_fen == 5_000


def test_recovery_is_a_receivable_until_received(money_world, tmp_path):
    w = money_world
    claim = paid_claim(w, tmp_path)
    (a,) = flagged(w, "60%", "", claim)
    assert a.payable_fen == 60_000
    with pytest.raises(DomainError):
        correction_decide(claim=claim, assessment=a, actor=w.wangwu, kind="top_up")
    d = correction_decide(claim=claim, assessment=a, actor=w.wangwu, kind="recovery")
    assert d.amount_fen == 10_000 and ledger_clean() == []
    assert balance(AccountKind.RECOVERY_RECEIVABLE) == 10_000
    assert balance(AccountKind.BENEFIT_EXPENSE) == 60_000
    assert usage(w) == 60_000
    claim.refresh_from_db()
    assert claim.payable_fen == 60_000 and claim_state(claim) == ClaimState.PAID
    r = Recovery.objects.get()
    assert (r.amount_fen, r.status) == (10_000, RecoveryStatus.PENDING)
    sms = OutboxMessage.objects.get(key=f"claim-recovery:{claim.pk}:{a.pk}")
    assert sms.template == "CLAIM_RECOVERY" and sms.params["amount"] == "100.00"

    with pytest.raises(NotAllowed):
        recovery_received(recovery=r, actor=w.wangwu, received_on=clock.today(),
                          bank_ref="BK1")
    with pytest.raises(DomainError):
        recovery_received(recovery=r, actor=w.qianjiu, received_on=clock.today(),
                          bank_ref=" ")
    before_bank = balance(AccountKind.BANK)
    r = recovery_received(recovery=r, actor=w.qianjiu, received_on=clock.today(),
                          bank_ref="BK1")
    assert r.status == RecoveryStatus.RECOVERED and ledger_clean() == []
    assert balance(AccountKind.RECOVERY_RECEIVABLE) == 0
    assert balance(AccountKind.BANK) - before_bank == 10_000
    with pytest.raises(DomainError):
        recovery_write_off_propose(recovery=r, actor=w.qianjiu, reason="x")


def test_write_off_needs_a_second_finance_officer(money_world):
    w = money_world
    claim = approved_claim(w)
    (a,) = flagged(w, "60%", "", claim)
    correction_decide(claim=claim, assessment=a, actor=w.wangwu, kind="recovery")
    r = Recovery.objects.get()
    with pytest.raises(DomainError):
        recovery_write_off_propose(recovery=r, actor=w.qianjiu, reason="")
    r = recovery_write_off_propose(recovery=r, actor=w.qianjiu, reason="会员已故，无法追回")
    assert r.status == RecoveryStatus.WRITE_OFF_PROPOSED
    with pytest.raises(NotAllowed):
        recovery_write_off_approve(recovery=r, actor=w.qianjiu)
    assert balance(AccountKind.RECOVERY_RECEIVABLE) == 10_000
    r = recovery_write_off_approve(recovery=r, actor=w.checker)
    assert r.status == RecoveryStatus.WRITTEN_OFF and ledger_clean() == []
    assert balance(AccountKind.RECOVERY_RECEIVABLE) == 0
    assert balance(AccountKind.BENEFIT_EXPENSE) == 70_000  # the member keeps it after all


def test_no_change_needs_a_reason_and_moves_nothing(money_world):
    w = money_world
    claim = approved_claim(w)
    (a,) = flagged(w, "80%", "", claim)
    for bad in ("", "   "):
        with pytest.raises(DomainError, match="理由"):
            correction_decide(claim=claim, assessment=a, actor=w.wangwu, kind="no_change",
                              reason=bad)
    with pytest.raises(DomainError):
        correction_decide(claim=claim, assessment=a, actor=w.wangwu, kind="bogus")
    with pytest.raises(NotAllowed):
        correction_decide(claim=claim, assessment=a, actor=w.qianjiu, kind="top_up")
    assert not CorrectionDecision.objects.exists()
    d = correction_decide(claim=claim, assessment=a, actor=w.wangwu, kind="no_change",
                          reason="已由其他途径结清")
    assert d.amount_fen == 0 and usage(w) == 70_000
    assert Payout.objects.count() == 1 and ledger_clean() == []
    assert not corrections_pending(Claim.objects.all()).exists()
