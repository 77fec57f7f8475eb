"""The database itself keeps the ledger balanced and append-only, whatever Python does.

Raw SQL bypasses the services on purpose. PostgreSQL-only cases are skipped on SQLite with the
reason; the SQLite equivalents follow them.
"""

from __future__ import annotations

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction

from huzhu.ledger.services import ledger_post
from huzhu.ledger.verify import ledger_problems

from .conftest import DAY

pg_only = pytest.mark.skipif(
    "connection.vendor != 'postgresql'",
    reason="deferred constraint triggers and DELETE refusal exist only on PostgreSQL",
)
sqlite_only = pytest.mark.skipif("connection.vendor != 'sqlite'",
                                 reason="the SQLite equivalent of a PostgreSQL-only check")


def raw_transaction(region_id: int, key: str, leg_count: int = 2) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO ledger_transaction (key, fund_region_id, memo, business_date,"
            " recorded_at, source_type, source_id, actor_id, actor_label, leg_count, legs_hash)"
            " VALUES (%s, %s, 'raw', %s, CURRENT_TIMESTAMP, 'raw', '1', NULL, 'sql', %s, 'x')"
            " RETURNING id",
            [key, region_id, DAY, leg_count],
        )
        return cursor.fetchone()[0]


def raw_legs(txn_id: int, *legs: tuple[int, int]) -> None:
    values = ", ".join(["(%s, %s, %s, %s)"] * len(legs))
    params: list[object] = []
    for account_id, amount in legs:
        params += [txn_id, account_id, amount, DAY]
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO ledger_leg (transaction_id, account_id, amount_fen,"
                       f" business_date) VALUES {values}", params)


def posted(books):
    return ledger_post(key="ok", legs=[(books.bank, 100), (books.member_income, -100)],
                       memo="", business_date=DAY, source=("t", "1"))


def test_database_refuses_an_unbalanced_transaction(books, world):
    with pytest.raises(IntegrityError, match="sum"), transaction.atomic():
        txn_id = raw_transaction(world.province.pk, "raw-unbalanced")
        raw_legs(txn_id, (books.bank.pk, 100), (books.member_income.pk, -99))


def test_database_refuses_a_leg_added_to_a_posted_transaction(books):
    txn = posted(books)
    with pytest.raises(IntegrityError, match="legs"), transaction.atomic():
        raw_legs(txn.pk, (books.bank.pk, 5))


def test_database_refuses_a_transaction_declaring_fewer_than_two_legs(world):
    with pytest.raises(IntegrityError), transaction.atomic():
        raw_transaction(world.province.pk, "raw-one", leg_count=1)


def test_database_refuses_a_zero_leg(books, world):
    with pytest.raises(IntegrityError), transaction.atomic():
        txn_id = raw_transaction(world.province.pk, "raw-zero")
        raw_legs(txn_id, (books.bank.pk, 0), (books.member_income.pk, 0))


@pg_only
def test_postgres_refuses_an_incomplete_transaction_at_commit(books, world):
    with pytest.raises(IntegrityError, match="declared 2 legs"), transaction.atomic():
        txn_id = raw_transaction(world.province.pk, "raw-half")
        raw_legs(txn_id, (books.bank.pk, 100))  # fine until the deferred check runs
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # what COMMIT would do


@pg_only
def test_postgres_refuses_a_transaction_without_legs_at_commit(world):
    with pytest.raises(IntegrityError, match="0 legs"), transaction.atomic():
        raw_transaction(world.province.pk, "raw-empty")
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


@pg_only
@pytest.mark.parametrize("sql", [
    "UPDATE ledger_leg SET amount_fen = amount_fen * 2",
    "DELETE FROM ledger_leg",
    "UPDATE ledger_transaction SET memo = 'changed'",
    "DELETE FROM ledger_transaction",
])
def test_postgres_refuses_update_and_delete_of_posted_rows(books, sql):
    posted(books)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(sql)


@sqlite_only
@pytest.mark.parametrize("sql", [
    "UPDATE ledger_leg SET amount_fen = amount_fen * 2",
    "UPDATE ledger_transaction SET memo = 'changed'",
])
def test_sqlite_refuses_update_of_posted_rows(books, sql):
    posted(books)
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(sql)


@sqlite_only
def test_sqlite_incomplete_transaction_is_caught_before_commit_and_by_verify(books, world):
    from huzhu.errors import DomainError
    from huzhu.ledger.services import assert_complete

    txn_id = raw_transaction(world.province.pk, "raw-half")
    raw_legs(txn_id, (books.bank.pk, 100))
    with pytest.raises(DomainError, match="raw-half"):
        assert_complete([txn_id])
    kinds = [p.kind for p in ledger_problems()]
    assert kinds[0] == "unbalanced" and "raw-half" in next(iter(ledger_problems())).subject


def test_verify_names_a_leg_altered_behind_the_triggers(books):
    txn = posted(books)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # A superuser switching triggers off, as an attacker with the database might.
            cursor.execute("SET LOCAL session_replication_role = replica")
        else:
            cursor.execute("DROP TRIGGER ledger_leg_no_update")
        # Still balanced, so only the hash (and the stored balances) can tell.
        cursor.execute("UPDATE ledger_leg SET amount_fen = amount_fen + 1 WHERE amount_fen > 0")
        cursor.execute("UPDATE ledger_leg SET amount_fen = amount_fen - 1 WHERE amount_fen < 0")
    problems = list(ledger_problems())
    assert any(p.kind == "hash" and txn.key in p.subject for p in problems)
    assert not any(p.kind == "unbalanced" for p in problems)


@pg_only
def test_postgres_checks_a_bulk_batch_at_commit(books, world):
    with pytest.raises(IntegrityError, match="declared 2 legs"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO ledger_batch (created_at) VALUES (now()) RETURNING id")
            batch_id = cursor.fetchone()[0]
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO ledger_transaction (key, fund_region_id, memo, business_date,"
                " recorded_at, source_type, source_id, actor_label, leg_count, legs_hash,"
                " batch_id) VALUES ('in-batch', %s, '', %s, now(), 'raw', '1', 'sql', 2, 'x', %s)"
                " RETURNING id", [world.province.pk, DAY, batch_id])
            raw_legs(cursor.fetchone()[0], (books.bank.pk, 100))
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


@pg_only
def test_postgres_refuses_joining_a_batch_of_another_database_transaction(world):
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute("INSERT INTO ledger_batch (created_at, created_txid) VALUES (now(), 1)"
                       " RETURNING id")
        old_batch = cursor.fetchone()[0]
        cursor.execute("SET LOCAL session_replication_role = origin")
    with pytest.raises(IntegrityError, match="batch"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO ledger_transaction (key, fund_region_id, memo, business_date,"
                " recorded_at, source_type, source_id, actor_label, leg_count, legs_hash,"
                " batch_id) VALUES ('sneak', %s, '', %s, now(), 'raw', '1', 'sql', 2, 'x', %s)",
                [world.province.pk, DAY, old_batch])


@pg_only
def test_postgres_batch_check_refuses_a_batch_transaction_without_legs(world):
    with pytest.raises(IntegrityError, match="0 legs"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO ledger_batch (created_at) VALUES (now()) RETURNING id")
            batch_id = cursor.fetchone()[0]
            cursor.execute(
                "INSERT INTO ledger_transaction (key, fund_region_id, memo, business_date,"
                " recorded_at, source_type, source_id, actor_label, leg_count, legs_hash,"
                " batch_id) VALUES ('empty-in-batch', %s, '', %s, now(), 'raw', '1', 'sql', 2,"
                " 'x', %s)", [world.province.pk, DAY, batch_id])
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
