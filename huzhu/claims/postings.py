"""Claim money into the fund's ledger (only ledger services move money).

An approved claim is an expense of its product and period and a debt to the member:
Dr 5101 互助金支出 (product × period) / Cr 2202 应付互助金 (period), keyed by the claim, so
approving twice posts once. Payment moves the debt on (see ``huzhu/payouts/postings.py``).
"""

from __future__ import annotations

import datetime
from typing import Any

from huzhu.ledger.models import AccountKind, Transaction
from huzhu.ledger.services import Source, account_open, ledger_post

from .models import Claim


def payable_key(claim_id: int) -> str:
    return f"claim-payable:{claim_id}"


def payable_accounts(claim: Claim, *, create: bool = True) -> tuple[Any, Any]:
    """The claim's expense and payable accounts, opened on first use (with ``create=False``,
    None for an account not open yet)."""
    period_code = claim.period.code if claim.period_id else ""
    expense = account_open(org=claim.fund_region, kind=AccountKind.BENEFIT_EXPENSE,
                           product_code=claim.product_code[:40], period_code=period_code,
                           create=create)
    payable = account_open(org=claim.fund_region, kind=AccountKind.BENEFIT_PAYABLE,
                           period_code=period_code, create=create)
    return expense, payable


def post_claim_payable(*, claim: Claim, on: datetime.date, actor: Any) -> Transaction:
    expense, payable = payable_accounts(claim)
    return ledger_post(
        key=payable_key(claim.pk),
        legs=[(expense, claim.payable_fen), (payable, -claim.payable_fen)],
        memo=f"理赔 {claim.pk} 核准给付", business_date=on,
        source=Source("claims.claim", str(claim.pk)), actor=actor)
