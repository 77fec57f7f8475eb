"""Ledger fixtures: the persona world's province fund with a small chart of accounts."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

import pytest

from huzhu.ledger.models import AccountKind, PayerKind
from huzhu.ledger.services import account_open

DAY = datetime.date(2025, 3, 1)


@dataclass
class Books:
    bank: Any
    member_income: Any
    employer_income: Any
    benefit_expense: Any
    benefit_payable: Any
    nanning_income: Any
    liuzhou_income: Any
    fund: Any

    def all(self) -> list[Any]:
        return list(vars(self).values())


def open_books(world: Any) -> Books:
    p = world.province
    return Books(
        bank=account_open(org=p, kind=AccountKind.BANK),
        member_income=account_open(org=p, kind=AccountKind.PREMIUM_INCOME,
                                   payer_kind=PayerKind.MEMBER, product_code="HZ1"),
        employer_income=account_open(org=p, kind=AccountKind.PREMIUM_INCOME,
                                     payer_kind=PayerKind.EMPLOYER, product_code="HZ1"),
        benefit_expense=account_open(org=p, kind=AccountKind.BENEFIT_EXPENSE, product_code="HZ1"),
        benefit_payable=account_open(org=p, kind=AccountKind.BENEFIT_PAYABLE),
        nanning_income=account_open(org=world.city_a, kind=AccountKind.PREMIUM_INCOME,
                                    payer_kind=PayerKind.MEMBER, product_code="HZ1"),
        liuzhou_income=account_open(org=world.city_b, kind=AccountKind.PREMIUM_INCOME,
                                    payer_kind=PayerKind.MEMBER, product_code="HZ1"),
        fund=account_open(org=p, kind=AccountKind.FUND_BALANCE),
    )


@pytest.fixture
def books(world: Any) -> Books:
    return open_books(world)
