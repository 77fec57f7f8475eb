"""The fund's balance carried over from before the platform (期初基金余额).

A union that starts on the platform has money in its fund account already: finance records it
once per fund region, Dr 1002 基金专户存款 / Cr 3101 基金结余, dated the day the books start.
The same amount again is the same transaction (key ``opening:<region>``); another amount is
refused — a wrong opening balance is corrected by reversing it, in the books, like any entry.
Without it the fund balance guard (:mod:`huzhu.payouts.balance`) sees only what came in through
the platform."""

from __future__ import annotations

import datetime

from django.db import transaction

from huzhu.accounts.roles import Perm
from huzhu.actors import Actor
from huzhu.errors import DomainError, NotAllowed
from huzhu.organisations.models import Organisation

from .models import AccountKind, Transaction
from .services import account_open, ledger_post


@transaction.atomic
def fund_opening_record(*, region: Organisation, amount_fen: int, on: datetime.date,
                        actor: Actor) -> Transaction:
    if not region.is_fund_region:
        raise DomainError(f"{region.name} 不是统筹区，期初余额记在统筹区的基金专户")
    if not isinstance(amount_fen, int) or isinstance(amount_fen, bool) or amount_fen <= 0:
        raise DomainError("期初余额必须是大于零的金额（分）")
    if actor is not None and getattr(actor, "pk", None):
        org = getattr(actor, "organisation", None)
        own = None if org is None else (org.pk if org.is_fund_region else org.fund_region_id)
        if not actor.can(Perm.POST_LEDGER) or own != region.pk:
            raise NotAllowed("只有本统筹区的财务人员可以录入期初余额")
    bank = account_open(org=region, kind=AccountKind.BANK)
    fund = account_open(org=region, kind=AccountKind.FUND_BALANCE)
    return ledger_post(key=f"opening:{region.pk}", legs=[(bank, amount_fen), (fund, -amount_fen)],
                       memo="期初基金余额", business_date=on,
                       source=("organisations.organisation", str(region.pk)), actor=actor)
