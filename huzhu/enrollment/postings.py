"""Premium money into the fund's ledger. Only ledger services move money; these functions
say what enrollment's events mean in accounts, each with an idempotency key from our rows.

- A unit's payment arrives: Dr 基金专户存款 / Cr 预收互助金 (the unit's money is held until its
  invoice is settled; an over-payment stays there, owed back).
- The invoice is settled (coverage starts): the premium becomes income by payer kind, product
  and period: Dr 预收互助金 for the unit's part, Dr 应收补贴款 for the parts unions, government
  or donors pay directly; Cr 互助金收入 per (payer, product).
"""

from __future__ import annotations

import datetime
from collections import defaultdict

from huzhu.actors import Actor
from huzhu.ledger.models import AccountKind
from huzhu.ledger.services import LegInput, Source, account_open, ledger_post

from .models import UNIT_PAYERS, Enrollment, Invoice, Payment


def post_payment_received(*, payment: Payment, invoice: Invoice, actor: Actor) -> None:
    region = invoice.fund_region
    period_code = invoice.period.code
    bank = account_open(org=region, kind=AccountKind.BANK)
    held = account_open(org=region, kind=AccountKind.ADVANCE_RECEIVED, period_code=period_code)
    ledger_post(
        key=f"premium-payment:{payment.pk}",
        legs=[(bank, payment.amount_fen), (held, -payment.amount_fen)],
        memo=f"{invoice.number} 到账 {payment.bank_ref}",
        business_date=payment.paid_on, source=Source("enrollment.payment", str(payment.pk)),
        actor=actor)


def post_premium_income(*, invoice: Invoice, settled_on: datetime.date, actor: Actor) -> None:
    region = invoice.fund_region
    period_code = invoice.period.code
    income: dict[tuple[str, str], int] = defaultdict(int)
    unit_part = other_part = 0
    rows = Enrollment.objects.filter(invoice=invoice).values_list(
        "product_version__code", "split")
    for product_code, split in rows:
        for part in split:
            income[(part["payer"], product_code)] += part["fen"]
            if part["payer"] in UNIT_PAYERS:
                unit_part += part["fen"]
            else:
                other_part += part["fen"]
    legs: list[LegInput] = []
    if unit_part:
        legs.append((account_open(org=region, kind=AccountKind.ADVANCE_RECEIVED,
                                  period_code=period_code), unit_part))
    if other_part:
        legs.append((account_open(org=region, kind=AccountKind.SUBSIDY_RECEIVABLE,
                                  period_code=period_code), other_part))
    for (payer, product_code), fen in sorted(income.items()):
        if fen:
            legs.append((account_open(org=region, kind=AccountKind.PREMIUM_INCOME,
                                      payer_kind=payer, product_code=product_code,
                                      period_code=period_code), -fen))
    if len(legs) < 2:
        return
    ledger_post(key=f"premium-income:{invoice.pk}", legs=legs,
                memo=f"{invoice.number} 参保生效，确认互助金收入", business_date=settled_on,
                source=Source("enrollment.invoice", str(invoice.pk)), actor=actor)


def post_refund(*, enrollment: Enrollment, on: datetime.date, actor: Actor) -> None:
    """Take back one member's premium from income: the mirror of his share of the invoice's
    income entry. The unit's part becomes owed back (预收互助金), the subsidies no longer due."""
    invoice = enrollment.invoice
    if invoice is None:
        return
    region, period_code = invoice.fund_region, invoice.period.code
    code = enrollment.product_version.code
    legs: list[LegInput] = []
    unit_part = sum(p["fen"] for p in enrollment.split if p["payer"] in UNIT_PAYERS)
    other_part = sum(p["fen"] for p in enrollment.split if p["payer"] not in UNIT_PAYERS)
    for part in enrollment.split:
        if part["fen"]:
            legs.append((account_open(org=region, kind=AccountKind.PREMIUM_INCOME,
                                      payer_kind=part["payer"], product_code=code,
                                      period_code=period_code), part["fen"]))
    if unit_part:
        legs.append((account_open(org=region, kind=AccountKind.ADVANCE_RECEIVED,
                                  period_code=period_code), -unit_part))
    if other_part:
        legs.append((account_open(org=region, kind=AccountKind.SUBSIDY_RECEIVABLE,
                                  period_code=period_code), -other_part))
    if len(legs) < 2:
        return
    ledger_post(key=f"premium-refund:{enrollment.pk}", legs=legs,
                memo=f"{invoice.number} 退费：会员 #{enrollment.member_id}", business_date=on,
                source=Source("enrollment.enrollment", str(enrollment.pk)), actor=actor)
