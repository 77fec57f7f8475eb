"""Posting, idempotency, reversal and the bulk path, on whichever database the suite runs."""

from __future__ import annotations

import datetime

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from huzhu.errors import DomainError
from huzhu.ledger.bulk import Posting, ledger_post_many
from huzhu.ledger.models import AccountBalance, AccountKind, DailyBalance, Leg, Transaction
from huzhu.ledger.selectors import balance_as_of, movement_between, trial_balance
from huzhu.ledger.services import IdempotencyConflict, account_open, ledger_post, ledger_reverse
from huzhu.ledger.verify import ledger_problems

from .conftest import DAY


def premium(books, key="enroll:1", fen=30_00, day=DAY):
    return ledger_post(key=key, legs=[(books.bank, fen), (books.member_income, -fen)],
                       memo="会员缴费", business_date=day, source=("enrollment", key))


def test_it_posts_a_balanced_transaction_with_its_source_and_actor(books, world):
    txn = ledger_post(key="k", legs=[(books.bank, 50_00), (books.member_income, -50_00)],
                      memo="缴费", business_date=DAY, source=("enrollment.enrollment", "7"),
                      actor=world.qianjiu)
    assert (txn.source_type, txn.source_id) == ("enrollment.enrollment", "7")
    assert (txn.actor_id, txn.actor_label) == (world.qianjiu.pk, "qianjiu")
    assert txn.recorded_at is not None and len(txn.legs_hash) == 64
    assert balance_as_of(accounts=books.bank) == 50_00
    assert balance_as_of(accounts=books.member_income) == -50_00


def test_the_same_key_twice_returns_the_first_and_posts_nothing(books):
    first = premium(books)
    again = premium(books)
    assert again.pk == first.pk
    assert Transaction.objects.count() == 1 and Leg.objects.count() == 2
    assert balance_as_of(accounts=books.bank) == 30_00


def test_the_same_key_with_other_legs_is_a_conflict(books):
    premium(books)
    with pytest.raises(IdempotencyConflict):
        premium(books, fen=31_00)
    assert balance_as_of(accounts=books.bank) == 30_00


@pytest.mark.parametrize("legs, message", [
    ([("bank", 100)], "至少要有两条"),
    ([("bank", 100), ("member_income", -99)], "借贷不平衡"),
    ([("bank", 0), ("member_income", 0)], "不能为零"),
    ([("bank", 1.5), ("member_income", -1.5)], "整数分"),
])
def test_it_refuses_entries_that_are_not_balanced_integer_fen(books, legs, message):
    with pytest.raises(DomainError, match=message):
        ledger_post(key="bad", legs=[(getattr(books, a), f) for a, f in legs], memo="",
                    business_date=DAY, source=("t", "1"))
    assert Transaction.objects.count() == 0


def test_it_refuses_accounts_of_two_fund_regions(books, world):
    from huzhu.organisations.services import org_create

    other = org_create(actor=None, name="另一统筹区", kind="city", parent=None,
                       is_fund_region=True)
    foreign = account_open(org=other, kind=AccountKind.BANK)
    with pytest.raises(DomainError, match="同一统筹区"):
        ledger_post(key="x", legs=[(books.bank, 1), (foreign, -1)], memo="",
                    business_date=DAY, source=("t", "1"))


def test_reversal_mirrors_the_original_and_points_at_it(books):
    original = premium(books)
    reversal = ledger_reverse(key="undo:1", transaction=original, business_date=DAY)
    assert reversal.reverses_id == original.pk
    assert sorted(reversal.legs.values_list("amount_fen", flat=True)) == [-30_00, 30_00]
    assert balance_as_of(accounts=books.bank) == 0
    assert ledger_reverse(key="undo:1", transaction=original).pk == reversal.pk
    with pytest.raises(DomainError, match="已由"):
        ledger_reverse(key="undo:again", transaction=original)


def test_balances_as_of_a_date_and_movements(books):
    premium(books, key="a", fen=10_00, day=datetime.date(2025, 1, 10))
    premium(books, key="b", fen=20_00, day=datetime.date(2025, 2, 10))
    premium(books, key="c", fen=40_00, day=datetime.date(2025, 3, 10))
    assert balance_as_of(accounts=books.bank, as_of=datetime.date(2025, 1, 9)) == 0
    assert balance_as_of(accounts=books.bank, as_of=datetime.date(2025, 2, 10)) == 30_00
    group = books.bank.__class__.objects.filter(pk__in=[books.bank.pk, books.member_income.pk])
    assert balance_as_of(accounts=group, as_of=datetime.date(2025, 3, 31)) == 0
    assert movement_between(accounts=group.filter(pk=books.bank.pk),
                            start=datetime.date(2025, 2, 1),
                            end=datetime.date(2025, 3, 31)) == 60_00
    assert DailyBalance.objects.filter(account=books.bank).count() == 3


def test_trial_balance_of_the_region_agrees(books, world):
    premium(books, key="a", fen=10_00)
    ledger_post(key="claim", legs=[(books.benefit_expense, 7_00), (books.benefit_payable, -7_00)],
                memo="核定互助金", business_date=DAY, source=("claims.claim", "1"))
    tb = trial_balance(path=world.province.path)
    assert tb.debit_total == tb.credit_total == 17_00
    assert {line.kind for line in tb.lines} == {
        AccountKind.BANK, AccountKind.PREMIUM_INCOME, AccountKind.BENEFIT_EXPENSE,
        AccountKind.BENEFIT_PAYABLE}


@pytest.mark.parametrize("copy_min_rows", [0, 10**6], ids=["copy", "orm"])
def test_bulk_path_posts_new_keys_and_skips_known_ones(books, monkeypatch, copy_min_rows):
    monkeypatch.setattr("huzhu.ledger.bulk.COPY_MIN_ROWS", copy_min_rows)
    ledger_post(key="bulk:0", legs=[(books.bank, 1_00), (books.member_income, -1_00)],
                memo="单笔", business_date=DAY, source=("test", "0"))
    postings = [Posting(key=f"bulk:{i}", legs=[(books.bank.pk, 1_00),
                                               (books.member_income.pk, -1_00)],
                        memo="批量", business_date=DAY, source=("test", str(i)))
                for i in range(50)]
    result = ledger_post_many(postings=postings + postings[:5], chunk_size=20)
    assert (result.posted, result.skipped) == (49, 6)
    assert balance_as_of(accounts=books.bank) == 50_00
    assert list(ledger_problems()) == []


@pytest.mark.parametrize("as_list", [True, False], ids=["list", "generator"])
def test_bulk_path_posts_the_chunks_before_a_bad_one_and_stops_there(books, as_list):
    """A list on PostgreSQL is prepared a chunk ahead in a thread; the outcome is the same as
    preparing in turn: chunks before the bad posting land, its own chunk and later ones do not."""
    def make(i: int) -> Posting:
        fen = 0 if i == 45 else 1_00  # posting 45, in the third chunk of 20, has a zero leg
        return Posting(key=f"ahead:{i}", legs=[(books.bank.pk, fen), (books.member_income.pk, -fen)],
                       memo="批量", business_date=DAY, source=("test", str(i)))

    postings = [make(i) for i in range(70)]
    with pytest.raises(DomainError, match="分录金额不能为零"):
        ledger_post_many(postings=postings if as_list else iter(postings), chunk_size=20)
    assert Transaction.objects.count() == 40
    assert balance_as_of(accounts=books.bank) == 40_00
    assert list(ledger_problems()) == []


@pytest.mark.parametrize("copy_min_rows", [0, 10**6], ids=["copy", "orm"])
def test_bulk_path_keeps_tabs_line_breaks_and_backslashes_in_text(books, monkeypatch,
                                                                  copy_min_rows):
    monkeypatch.setattr("huzhu.ledger.bulk.COPY_MIN_ROWS", copy_min_rows)
    awkward = ["制表\t符", "换\n行\r", "反斜杠\\N", "\\.", "{1,2}", "普通"]
    postings = [Posting(key=f"k{i}:{text}", legs=[(books.bank.pk, 1_00 + i),
                                                  (books.member_income.pk, -1_00 - i),
                                                  (books.fund.pk, 0 + 5), (books.bank.pk, -5)],
                        memo=text, business_date=DAY, source=(f"src{text}", text))
                for i, text in enumerate(awkward)]
    assert ledger_post_many(postings=postings).posted == len(awkward)
    stored = {t.key: (t.memo, t.source_type, t.source_id, t.leg_count)
              for t in Transaction.objects.all()}
    assert stored == {p.key: (p.memo, p.source[0], p.source[1], 4) for p in postings}
    assert sorted(Leg.objects.filter(transaction__key=postings[2].key)
                  .values_list("amount_fen", flat=True)) == [-1_02, -5, 5, 1_02]
    assert list(ledger_problems()) == []  # hashes recomputed from the stored text and legs
    assert ledger_post_many(postings=postings).skipped == len(awkward)


@pytest.mark.parametrize("copy_min_rows", [0, 10**6], ids=["copy", "orm"])
def test_bulk_path_refuses_a_known_key_with_other_legs(books, monkeypatch, copy_min_rows):
    monkeypatch.setattr("huzhu.ledger.bulk.COPY_MIN_ROWS", copy_min_rows)
    premium(books, key="bulk:0", fen=1_00)
    with pytest.raises(IdempotencyConflict):
        ledger_post_many(postings=[Posting(key="bulk:0", legs=[(books.bank.pk, 2_00),
                                                               (books.member_income.pk, -2_00)],
                                           memo="", business_date=DAY, source=("t", "0"))])


def test_verify_passes_on_a_whole_ledger(books, capsys):
    premium(books)
    call_command("ledger_verify")
    assert "核对通过" in capsys.readouterr().out


def test_verify_names_a_drifted_balance(books):
    premium(books)
    AccountBalance.objects.filter(pk=books.bank.pk).update(balance_fen=1)
    DailyBalance.objects.filter(account=books.bank).update(delta_fen=5)
    with pytest.raises(CommandError, match="未通过"):
        call_command("ledger_verify")
    kinds = {p.kind for p in ledger_problems()}
    assert kinds == {"balance", "daily_balance"}
    assert any(books.bank.code in p.subject for p in ledger_problems())
