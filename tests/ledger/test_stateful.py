"""Random postings, reversals, duplicate keys and bulk batches against a model of the books.

After every step: each transaction sums to zero, every stored balance (running, daily, monthly,
and as of dates on both halves of a month) equals the replay, and ``ledger verify`` finds
nothing (TRUST R-01, R-03).
"""

from __future__ import annotations

import datetime
from collections import defaultdict

import pytest
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    rule,
    run_state_machine_as_test,
)

from huzhu.errors import DomainError
from huzhu.ledger.bulk import Posting, ledger_post_many
from huzhu.ledger.models import Account, Transaction
from huzhu.ledger.selectors import balance_as_of, trial_balance
from huzhu.ledger.services import IdempotencyConflict, ledger_post, ledger_reverse
from huzhu.ledger.verify import ledger_problems

START = datetime.date(2025, 1, 1)
days = st.integers(0, 70).map(lambda n: START + datetime.timedelta(days=n))
amounts = st.integers(1, 10**9)


def make_machine(accounts: list[Account], region_path: str) -> type[RuleBasedStateMachine]:
    ids = [a.pk for a in accounts]

    class Ledger(RuleBasedStateMachine):
        posted = Bundle("posted")

        def __init__(self) -> None:
            super().__init__()
            # Each run starts from empty books: everything happens inside a savepoint that
            # teardown rolls back.
            self.atomic = transaction.atomic()
            self.atomic.__enter__()
            self.legs: list[tuple[int, int, datetime.date]] = []
            self.bodies: dict[str, tuple] = {}
            self.counter = 0

        def teardown(self) -> None:
            transaction.set_rollback(True)
            self.atomic.__exit__(None, None, None)

        def _key(self) -> str:
            self.counter += 1
            return f"k{self.counter}"

        def _record(self, legs: list[tuple[int, int]], day: datetime.date) -> None:
            self.legs.extend((a, f, day) for a, f in legs)

        @rule(target=posted, data=st.data(), day=days)
        def post(self, data: st.DataObject, day: datetime.date) -> str:
            n = data.draw(st.integers(2, 4))
            chosen = data.draw(st.lists(st.sampled_from(ids), min_size=n, max_size=n))
            debits = data.draw(st.lists(amounts, min_size=n - 1, max_size=n - 1))
            legs = list(zip(chosen, [*debits, -sum(debits)], strict=True))
            key = self._key()
            ledger_post(key=key, legs=legs, memo="随机", business_date=day, source=("t", key))
            self.bodies[key] = (legs, day)
            self._record(legs, day)
            return key

        @rule(key=posted)
        def post_again(self, key: str) -> None:
            legs, day = self.bodies[key]
            before = Transaction.objects.count()
            txn = ledger_post(key=key, legs=legs, memo="重复", business_date=day,
                              source=("t", key))
            assert txn.key == key and Transaction.objects.count() == before

        @rule(key=posted, extra=amounts)
        def post_again_with_other_legs(self, key: str, extra: int) -> None:
            legs, day = self.bodies[key]
            # The first leg is a debit and the last the balancing credit: neither can hit zero.
            changed = [(legs[0][0], legs[0][1] + extra), *legs[1:-1],
                       (legs[-1][0], legs[-1][1] - extra)]
            with pytest.raises(IdempotencyConflict):
                ledger_post(key=key, legs=changed, memo="", business_date=day, source=("t", key))

        @rule(key=consumes(posted), day=days)
        def reverse(self, key: str, day: datetime.date) -> None:
            original = Transaction.objects.get(key=key)
            if Transaction.objects.filter(reverses=original).exists():
                with pytest.raises(DomainError):
                    ledger_reverse(key=self._key(), transaction=original, business_date=day)
                return
            ledger_reverse(key=f"undo:{key}", transaction=original, business_date=day)
            legs, _ = self.bodies[key]
            self._record([(a, -f) for a, f in legs], day)

        @rule(data=st.data(), day=days, size=st.integers(1, 5))
        def bulk(self, data: st.DataObject, day: datetime.date, size: int) -> None:
            postings = []
            for _ in range(size):
                a, b = data.draw(st.lists(st.sampled_from(ids), min_size=2, max_size=2))
                fen = data.draw(amounts)
                key = self._key()
                postings.append(Posting(key=key, legs=[(a, fen), (b, -fen)], memo="批量",
                                        business_date=day, source=("t", key)))
                self._record([(a, fen), (b, -fen)], day)
            # Send the batch twice: the second time posts nothing.
            assert ledger_post_many(postings=postings).posted == size
            assert ledger_post_many(postings=postings).skipped == size

        @invariant()
        def everything_balances_and_equals_the_replay(self) -> None:
            assert list(ledger_problems()) == []
            replay: dict[int, int] = defaultdict(int)
            for a, f, _ in self.legs:
                replay[a] += f
            for a in ids:
                assert balance_as_of(accounts=Account.objects.filter(pk=a)) == replay[a]
            assert trial_balance(path=region_path).difference == 0

        @invariant()
        def balances_as_of_a_date_equal_the_replay(self) -> None:
            # Both halves of a month and its edges: the as-of query reads monthly rows for
            # later months and daily rows for the rest of the date's month.
            for as_of in (START + datetime.timedelta(days=n) for n in (0, 14, 20, 30, 31, 58)):
                expected = sum(f for a, f, d in self.legs if a == ids[0] and d <= as_of)
                assert balance_as_of(accounts=Account.objects.filter(pk=ids[0]),
                                     as_of=as_of) == expected
                lines = {line.account_id: line.debit_fen - line.credit_fen
                         for line in trial_balance(path=region_path, as_of=as_of).lines}
                for a in ids:
                    assert lines.get(a, 0) == sum(f for b, f, d in self.legs
                                                  if b == a and d <= as_of)

    return Ledger


def test_random_postings_reversals_and_duplicates_keep_the_books_whole(books, world):
    machine = make_machine(books.all()[:5], world.province.path)
    run_state_machine_as_test(machine, settings=settings(
        max_examples=25, stateful_step_count=12, deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    ))
