"""Monthly movement rows: equal to the replay of the legs, and as-of balances read through them."""

from __future__ import annotations

import datetime
from collections import defaultdict

import pytest

from huzhu.ledger.bulk import Posting, ledger_post_many
from huzhu.ledger.models import Account, Leg, MonthlyBalance
from huzhu.ledger.selectors import (
    accounts_with_balances,
    balance_as_of,
    later_movement_window,
    trial_balance,
)
from huzhu.ledger.services import ledger_post, ledger_reverse
from huzhu.ledger.verify import ledger_problems

D = datetime.date


def pay(books, key, fen, day, income=None):
    return ledger_post(key=key, legs=[(books.bank, fen), (income or books.member_income, -fen)],
                       memo="缴费", business_date=day, source=("test", key))


def replayed_months() -> dict[tuple[int, datetime.date], tuple[int, int]]:
    out: dict[tuple[int, datetime.date], list[int]] = defaultdict(lambda: [0, 0])
    for account_id, fen, day in Leg.objects.values_list("account_id", "amount_fen",
                                                        "business_date"):
        out[(account_id, day.replace(day=1))][0] += fen
        out[(account_id, day.replace(day=1))][1] += 1
    return {k: (v[0], v[1]) for k, v in out.items()}


def stored_months() -> dict[tuple[int, datetime.date], tuple[int, int]]:
    return {(a, m): (f, n) for a, m, f, n in
            MonthlyBalance.objects.values_list("account_id", "month", "delta_fen", "leg_count")}


def replayed_balance(account_ids: set[int], as_of: datetime.date) -> int:
    return sum(Leg.objects.filter(account_id__in=account_ids, business_date__lte=as_of)
               .values_list("amount_fen", flat=True))


@pytest.mark.parametrize("copy_min_rows", [0, 10**6], ids=["copy", "orm"])
def test_monthly_rows_equal_the_replay_after_back_dated_postings_and_reversals(
        books, monkeypatch, copy_min_rows):
    monkeypatch.setattr("huzhu.ledger.bulk.COPY_MIN_ROWS", copy_min_rows)
    # Given postings in March, then some back-dated into January and February,
    pay(books, "mar", 40_00, D(2025, 3, 20))
    feb = pay(books, "feb", 20_00, D(2025, 2, 28), income=books.employer_income)
    pay(books, "jan-late", 7_00, D(2025, 1, 31))
    ledger_post_many(postings=[
        Posting(key=f"bulk:{i}", legs=[(books.bank.pk, 1_00 + i), (books.nanning_income.pk,
                                                                   -(1_00 + i))],
                memo="批量", business_date=D(2025, 1, 1) + datetime.timedelta(days=9 * i),
                source=("test", str(i)))
        for i in range(12)
    ])
    # and reversals: February's in April, a March one back into January.
    ledger_reverse(key="undo:feb", transaction=feb, business_date=D(2025, 4, 2))
    mar2 = pay(books, "mar2", 3_00, D(2025, 3, 1))
    ledger_reverse(key="undo:mar2", transaction=mar2, business_date=D(2025, 1, 15))

    # Then every monthly row equals the legs of its account and month, both ways,
    assert stored_months() == replayed_months()
    assert stored_months()[(books.bank.pk, D(2025, 1, 1))] == (
        7_00 - 3_00 + sum(1_00 + i for i in range(4)), 6)
    assert list(ledger_problems()) == []
    # and balances as of every day, for an account, a group and the trial balance, equal the
    # replay of the legs up to that day.
    group = {books.bank.pk, books.employer_income.pk}
    day = D(2024, 12, 30)
    while day <= D(2025, 4, 5):
        assert balance_as_of(accounts=books.bank, as_of=day) == replayed_balance(
            {books.bank.pk}, day), day
        assert balance_as_of(accounts=Account.objects.filter(pk__in=group), as_of=day) == \
            replayed_balance(group, day), day
        day += datetime.timedelta(days=1)
    for as_of in (D(2025, 1, 14), D(2025, 1, 31), D(2025, 2, 16), D(2025, 3, 1)):
        lines = {line.account_id: line.debit_fen - line.credit_fen
                 for line in trial_balance(path=books.bank.org_path, as_of=as_of).lines}
        for account in books.all():
            assert lines.get(account.pk, 0) == replayed_balance({account.pk}, as_of), as_of
        annotated = {a.pk: a.balance_fen for a in accounts_with_balances(
            accounts=Account.objects.filter(pk__in=[a.pk for a in books.all()]), as_of=as_of)}
        assert annotated == {a.pk: replayed_balance({a.pk}, as_of) for a in books.all()}


def test_a_balance_as_of_a_date_is_one_query(books, django_assert_num_queries):
    pay(books, "a", 10_00, D(2025, 1, 20))
    pay(books, "b", 5_00, D(2025, 2, 3))
    with django_assert_num_queries(1):
        assert balance_as_of(accounts=books.bank, as_of=D(2025, 2, 2)) == 10_00
    with django_assert_num_queries(1):
        tb = trial_balance(path=books.bank.org_path, as_of=D(2025, 1, 25))
    assert {(line.account_id, line.debit_fen, line.credit_fen) for line in tb.lines} == {
        (books.bank.pk, 10_00, 0), (books.member_income.pk, 0, 10_00)}


@pytest.mark.parametrize("as_of, window", [
    # Early in a month: the whole month counts as later, its days up to as_of are taken back.
    (D(2025, 3, 1), (D(2025, 3, 1), D(2025, 3, 1), D(2025, 3, 1), -1)),
    (D(2025, 2, 15), (D(2025, 2, 1), D(2025, 2, 1), D(2025, 2, 15), -1)),
    # Late in a month: the months after it plus its remaining days.
    (D(2025, 2, 16), (D(2025, 3, 1), D(2025, 2, 17), D(2025, 2, 28), 1)),
    (D(2024, 2, 29), (D(2024, 3, 1), D(2024, 3, 1), D(2024, 2, 29), 1)),
    (D(2025, 12, 31), (D(2026, 1, 1), D(2026, 1, 1), D(2025, 12, 31), 1)),
])
def test_the_later_window_reads_at_most_half_a_month_of_days(as_of, window):
    w = later_movement_window(as_of)
    assert (w.month_from, w.day_from, w.day_to, w.day_sign) == window


def test_verify_names_a_tampered_missing_or_invented_monthly_row(books):
    pay(books, "a", 10_00, D(2025, 1, 20))
    pay(books, "b", 5_00, D(2025, 2, 3))
    assert list(ledger_problems()) == []
    # A changed amount,
    MonthlyBalance.objects.filter(account=books.bank, month=D(2025, 1, 1)).update(delta_fen=9_00)
    problems = list(ledger_problems())
    assert [(p.kind, p.subject) for p in problems] == [
        ("monthly_balance", f"科目 #{books.bank.pk} 2025-01")]
    assert "900 分" in problems[0].message and "1000 分" in problems[0].message
    # a missing row and an invented one are all named.
    MonthlyBalance.objects.filter(account=books.bank, month=D(2025, 1, 1)).update(delta_fen=10_00)
    MonthlyBalance.objects.filter(account=books.member_income, month=D(2025, 2, 1)).delete()
    MonthlyBalance.objects.create(account=books.fund, month=D(2025, 3, 1), delta_fen=1,
                                  leg_count=1)
    assert sorted(p.subject for p in ledger_problems()) == sorted([
        f"科目 #{books.member_income.pk} 2025-02", f"科目 #{books.fund.pk} 2025-03"])
