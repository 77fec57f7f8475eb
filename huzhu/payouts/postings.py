"""Payout money in the ledger (only ledger services move money).

- A line goes to the bank: Dr 2202 应付互助金 / Cr 2204 在途代付款 (``payout-sent:<line>``).
- The bank paid it: Dr 2204 在途代付款 / Cr 1002 基金专户存款 (``payout-paid:<line>``).
- The bank failed it: the reversal of the sent entry (``payout-failed:<line>``), so the
  amount is owed to the member again.

So at any moment 在途代付款 holds exactly the lines in flight, and Σ sent = Σ paid + Σ failed +
Σ in flight can be read off the books (TRUST R-11).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any

from huzhu.actors import Actor
from huzhu.ledger.bulk import Posting, ledger_post_many
from huzhu.ledger.models import AccountKind, Transaction
from huzhu.ledger.services import Source, account_open, ledger_reverse
from huzhu.organisations.models import Organisation

from .models import PayoutLine

SOURCE = "payouts.line"


def _accounts(region: Organisation, kinds: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Any]:
    return {(k, p): account_open(org=region, kind=k, period_code=p) for k, p in set(kinds)}


def post_lines_sent(*, region: Organisation, lines: list[tuple[PayoutLine, str]],
                    on: datetime.date, actor: Actor) -> None:
    """``lines``: (line, the claim's period code)."""
    acc = _accounts(region, [(AccountKind.BENEFIT_PAYABLE, p) for _, p in lines]
                    + [(AccountKind.PAYOUT_IN_TRANSIT, "")])
    transit = acc[(AccountKind.PAYOUT_IN_TRANSIT, "")]
    ledger_post_many(postings=[
        Posting(key=f"payout-sent:{ln.pk}",
                legs=[(acc[(AccountKind.BENEFIT_PAYABLE, p)], ln.amount_fen),
                      (transit, -ln.amount_fen)],
                memo=f"代付 {ln.out_detail_no} 发送银行", business_date=on,
                source=Source(SOURCE, str(ln.pk)))
        for ln, p in lines], actor=actor)


def post_lines_paid(*, region: Organisation, lines: list[PayoutLine], on: datetime.date,
                    actor: Actor) -> None:
    acc = _accounts(region, [(AccountKind.PAYOUT_IN_TRANSIT, ""), (AccountKind.BANK, "")])
    ledger_post_many(postings=[
        Posting(key=f"payout-paid:{ln.pk}",
                legs=[(acc[(AccountKind.PAYOUT_IN_TRANSIT, "")], ln.amount_fen),
                      (acc[(AccountKind.BANK, "")], -ln.amount_fen)],
                memo=f"代付 {ln.out_detail_no} 银行已支付 {ln.bank_ref}"[:200], business_date=on,
                source=Source(SOURCE, str(ln.pk)))
        for ln in lines], actor=actor)


def post_line_failed(*, line: PayoutLine, on: datetime.date, actor: Actor) -> None:
    sent = Transaction.objects.get(key=f"payout-sent:{line.pk}")
    ledger_reverse(key=f"payout-failed:{line.pk}", transaction=sent, business_date=on,
                   memo=f"代付 {line.out_detail_no} 失败退回应付：{line.fail_reason}"[:200],
                   actor=actor)
