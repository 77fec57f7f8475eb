"""Claim money into the fund's ledger (only ledger services move money).

An approved claim is an expense of its product and period and a debt to the member:
Dr 5101 互助金支出 (product × period) / Cr 2202 应付互助金 (period), keyed by the claim, so
approving twice posts once. Payment moves the debt on (see ``huzhu/payouts/postings.py``).

A rule correction decided for a granted claim (``corrections.py``):

- 补发 top-up: Dr 5101 / Cr 2202 for the difference (``claim-topup:<claim>:<assessment>``),
  paid by its own payout;
A granted claim whose stay is refunded (or settled again under another claim) before anything
was sent to the bank: each unpaid payout is cancelled, Dr 2202 / Cr 5101 for its amount
(``payout-cancelled:<payout>``), and nothing is owed or recovered (``resettle.py``).

- 追回 recovery: Dr 1231 应收追回互助金 (period) / Cr 5101 (``claim-recovery:<claim>:<assessment>``);
  then 已追回: Dr 1002 基金专户存款 / Cr 1231 (``recovery-received:<recovery>``), or 核销:
  Dr 5101 / Cr 1231 (``recovery-written-off:<recovery>``).
"""

from __future__ import annotations

import datetime
from typing import Any

from huzhu.actors import Actor
from huzhu.ledger.models import AccountKind, Transaction
from huzhu.ledger.services import Source, account_open, ledger_post

from .models import Claim


def payable_key(claim_id: int) -> str:
    return f"claim-payable:{claim_id}"


def _period_code(claim: Claim) -> str:
    """The claim's period code, "" for a claim without a period (no query then)."""
    period = claim.period
    return period.code if period is not None else ""


def payable_accounts(claim: Claim, *, create: bool = True) -> tuple[Any, Any]:
    """The claim's expense and payable accounts, opened on first use (with ``create=False``,
    None for an account not open yet)."""
    period_code = _period_code(claim)
    expense = account_open(org=claim.fund_region, kind=AccountKind.BENEFIT_EXPENSE,
                           product_code=claim.product_code[:40], period_code=period_code,
                           create=create)
    payable = account_open(org=claim.fund_region, kind=AccountKind.BENEFIT_PAYABLE,
                           period_code=period_code, create=create)
    return expense, payable


def post_claim_payable(*, claim: Claim, on: datetime.date, actor: Actor) -> Transaction:
    expense, payable = payable_accounts(claim)
    return ledger_post(
        key=payable_key(claim.pk),
        legs=[(expense, claim.payable_fen), (payable, -claim.payable_fen)],
        memo=f"理赔 {claim.pk} 核准给付", business_date=on,
        source=Source("claims.claim", str(claim.pk)), actor=actor)


def topup_key(claim_id: int, assessment_id: int) -> str:
    return f"claim-topup:{claim_id}:{assessment_id}"


def recovery_key(claim_id: int, assessment_id: int) -> str:
    return f"claim-recovery:{claim_id}:{assessment_id}"


def _receivable(claim: Claim) -> Any:
    return account_open(org=claim.fund_region, kind=AccountKind.RECOVERY_RECEIVABLE,
                        period_code=_period_code(claim))


def post_claim_top_up(*, claim: Claim, assessment_id: int, amount_fen: int,
                      on: datetime.date, actor: Actor) -> Transaction:
    expense, payable = payable_accounts(claim)
    return ledger_post(
        key=topup_key(claim.pk, assessment_id), legs=[(expense, amount_fen), (payable, -amount_fen)],
        memo=f"理赔 {claim.pk} 规则更正补发", business_date=on,
        source=Source("claims.claim", str(claim.pk)), actor=actor)


def post_claim_recovery(*, claim: Claim, assessment_id: int, amount_fen: int,
                        on: datetime.date, actor: Actor) -> Transaction:
    expense, _payable = payable_accounts(claim)
    return ledger_post(
        key=recovery_key(claim.pk, assessment_id),
        legs=[(_receivable(claim), amount_fen), (expense, -amount_fen)],
        memo=f"理赔 {claim.pk} 规则更正应追回", business_date=on,
        source=Source("claims.claim", str(claim.pk)), actor=actor)


def post_recovery_received(*, recovery: Any, on: datetime.date, actor: Actor) -> Transaction:
    claim = recovery.claim
    bank = account_open(org=claim.fund_region, kind=AccountKind.BANK)
    return ledger_post(
        key=f"recovery-received:{recovery.pk}",
        legs=[(bank, recovery.amount_fen), (_receivable(claim), -recovery.amount_fen)],
        memo=f"理赔 {claim.pk} 追回互助金到账 {recovery.bank_ref}"[:200], business_date=on,
        source=Source("claims.recovery", str(recovery.pk)), actor=actor)


def post_recovery_written_off(*, recovery: Any, on: datetime.date, actor: Actor) -> Transaction:
    claim = recovery.claim
    expense, _payable = payable_accounts(claim)
    return ledger_post(
        key=f"recovery-written-off:{recovery.pk}",
        legs=[(expense, recovery.amount_fen), (_receivable(claim), -recovery.amount_fen)],
        memo=f"理赔 {claim.pk} 追回款核销：{recovery.write_off_reason}"[:200], business_date=on,
        source=Source("claims.recovery", str(recovery.pk)), actor=actor)


def cancelled_key(payout_id: int) -> str:
    return f"payout-cancelled:{payout_id}"


def post_payout_cancelled(*, claim: Claim, payout_id: int, amount_fen: int, why: str,
                          on: datetime.date, actor: Actor) -> Transaction:
    """The debt of an unpaid payout reversed: Dr 2202 应付互助金 / Cr 5101 互助金支出."""
    expense, payable = payable_accounts(claim)
    return ledger_post(
        key=cancelled_key(payout_id), legs=[(payable, amount_fen), (expense, -amount_fen)],
        memo=f"理赔 {claim.pk} 未支付的互助金作废：{why}"[:200], business_date=on,
        source=Source("claims.claim", str(claim.pk)), actor=actor)
