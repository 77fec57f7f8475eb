"""Concurrent posters on real PostgreSQL: one transaction per key, no deadlocks, exact balances."""

from __future__ import annotations

import pytest
from django.db import connection, connections  # noqa: F401 - connection: skipif

from huzhu.ledger.models import Leg, Transaction
from huzhu.ledger.selectors import balance_as_of
from huzhu.ledger.verify import ledger_problems
from tests.concurrency import run_together

from ..conftest import build_world
from .conftest import DAY, open_books

pytestmark = [
    pytest.mark.skipif("connection.vendor != 'postgresql'",
                       reason="SQLite serialises every writer; the race needs PostgreSQL"),
    pytest.mark.django_db(transaction=True),
]




def test_the_same_key_from_many_threads_posts_exactly_once():
    from huzhu.ledger.services import ledger_post

    books = open_books(build_world())

    def post() -> int:
        return ledger_post(key="enroll:race", legs=[(books.bank.pk, 30_00),
                                                    (books.member_income.pk, -30_00)],
                           memo="并发缴费", business_date=DAY, source=("enrollment", "race")).pk

    results = run_together([post] * 8)
    assert all(isinstance(r, int) for r in results), results
    assert len(set(results)) == 1
    assert Transaction.objects.count() == 1 and Leg.objects.count() == 2
    assert balance_as_of(accounts=books.bank) == 30_00
    assert list(ledger_problems()) == []


def test_crossing_postings_do_not_deadlock_and_balances_stay_exact():
    from huzhu.ledger.services import ledger_post

    books = open_books(build_world())
    pairs = [(books.bank, books.member_income), (books.member_income, books.bank),
             (books.benefit_expense, books.bank), (books.bank, books.benefit_expense)]

    def worker(n: int) -> int:
        debit, credit = pairs[n % len(pairs)]
        for i in range(15):
            ledger_post(key=f"cross:{n}:{i}", legs=[(credit.pk, -1_00), (debit.pk, 1_00)],
                        memo="", business_date=DAY, source=("t", f"{n}:{i}"))
        return n

    results = run_together([lambda n=n: worker(n) for n in range(8)])
    assert results == list(range(8)), results
    assert Transaction.objects.count() == 120
    assert list(ledger_problems()) == []
