"""Prove the ledger is whole: balanced transactions, balances equal to the replay, unaltered legs.

Replayed: running balances per account, daily movements per (account, day) and monthly
movements per (account, month), each in both directions (stored rows the legs don't explain,
and leg groups with no stored row).

Each check is one set-based query (the hash check streams transactions with their legs), so it
runs nightly over tens of millions of legs (TRUST R-03).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from django.db import connection

from .models import Transaction
from .services import Source, legs_hash


@dataclass(frozen=True)
class Problem:
    kind: str
    subject: str
    message: str

    def __str__(self) -> str:
        return f"[{self.kind}] {self.subject}: {self.message}"


_UNBALANCED = """
SELECT t.key, t.leg_count, coalesce(a.n, 0), coalesce(a.total, 0)
  FROM ledger_transaction t
  LEFT JOIN (SELECT transaction_id, count(*) AS n, sum(amount_fen) AS total
               FROM ledger_leg GROUP BY transaction_id) a ON a.transaction_id = t.id
 WHERE coalesce(a.n, 0) <> t.leg_count OR coalesce(a.n, 0) < 2 OR coalesce(a.total, 0) <> 0
 LIMIT 1000
"""

_ORPHAN_LEGS = """
SELECT l.id FROM ledger_leg l LEFT JOIN ledger_transaction t ON t.id = l.transaction_id
 WHERE t.id IS NULL OR l.business_date <> t.business_date LIMIT 1000
"""

_ACCOUNT_DRIFT = """
SELECT a.id, a.code, coalesce(b.balance_fen, 0), coalesce(b.leg_count, 0),
       coalesce(r.total, 0), coalesce(r.n, 0)
  FROM ledger_account a
  LEFT JOIN ledger_accountbalance b ON b.account_id = a.id
  LEFT JOIN (SELECT account_id, sum(amount_fen) AS total, count(*) AS n
               FROM ledger_leg GROUP BY account_id) r ON r.account_id = a.id
 WHERE b.account_id IS NULL OR b.balance_fen <> coalesce(r.total, 0)
    OR b.leg_count <> coalesce(r.n, 0)
 LIMIT 1000
"""

# Both directions: stored days that the legs don't explain, and leg days with no stored row.
_DAILY_DRIFT = """
SELECT d.account_id, d.day, d.delta_fen, d.leg_count, coalesce(r.total, 0), coalesce(r.n, 0)
  FROM ledger_dailybalance d
  LEFT JOIN (SELECT account_id, business_date, sum(amount_fen) AS total, count(*) AS n
               FROM ledger_leg GROUP BY account_id, business_date) r
    ON r.account_id = d.account_id AND r.business_date = d.day
 WHERE d.delta_fen <> coalesce(r.total, 0) OR d.leg_count <> coalesce(r.n, 0)
UNION ALL
SELECT r.account_id, r.business_date, 0, 0, r.total, r.n
  FROM (SELECT account_id, business_date, sum(amount_fen) AS total, count(*) AS n
          FROM ledger_leg GROUP BY account_id, business_date) r
  LEFT JOIN ledger_dailybalance d ON d.account_id = r.account_id AND d.day = r.business_date
 WHERE d.account_id IS NULL
 LIMIT 1000
"""


# The same for the monthly rows, against the legs grouped by the month of their date.
_MONTHLY_DRIFT = """
SELECT m.account_id, m.month, m.delta_fen, m.leg_count, coalesce(r.total, 0), coalesce(r.n, 0)
  FROM ledger_monthlybalance m
  LEFT JOIN (SELECT account_id, {month} AS month, sum(amount_fen) AS total, count(*) AS n
               FROM ledger_leg GROUP BY account_id, {month}) r
    ON r.account_id = m.account_id AND r.month = m.month
 WHERE m.delta_fen <> coalesce(r.total, 0) OR m.leg_count <> coalesce(r.n, 0)
UNION ALL
SELECT r.account_id, r.month, 0, 0, r.total, r.n
  FROM (SELECT account_id, {month} AS month, sum(amount_fen) AS total, count(*) AS n
          FROM ledger_leg GROUP BY account_id, {month}) r
  LEFT JOIN ledger_monthlybalance m ON m.account_id = r.account_id AND m.month = r.month
 WHERE m.account_id IS NULL
 LIMIT 1000
"""

MONTH_OF_DATE = {
    "postgresql": "date_trunc('month', business_date)::date",
    "sqlite": "date(business_date, 'start of month')",
}


def _rows(sql: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall()


def check_transactions_balanced() -> Iterator[Problem]:
    for key, declared, n, total in _rows(_UNBALANCED):
        yield Problem("unbalanced", f"凭证 {key}",
                      f"{n} 条分录（声明 {declared} 条），合计 {total} 分，应为 0")
    for (leg_id,) in _rows(_ORPHAN_LEGS):
        yield Problem("orphan_leg", f"分录 #{leg_id}", "没有所属凭证，或业务日期与凭证不一致")


def check_balances_replay() -> Iterator[Problem]:
    for _id, code, stored, stored_n, replay, n in _rows(_ACCOUNT_DRIFT):
        yield Problem("balance", f"科目 {code} (#{_id})",
                      f"记录余额 {stored} 分/{stored_n} 条，分录重算 {replay} 分/{n} 条")
    for account_id, day, stored, stored_n, replay, n in _rows(_DAILY_DRIFT):
        yield Problem("daily_balance", f"科目 #{account_id} {day}",
                      f"记录发生额 {stored} 分/{stored_n} 条，分录重算 {replay} 分/{n} 条")
    month = MONTH_OF_DATE[connection.vendor]
    for account_id, first, stored, stored_n, replay, n in _rows(_MONTHLY_DRIFT.format(month=month)):
        yield Problem("monthly_balance", f"科目 #{account_id} {str(first)[:7]}",
                      f"记录月发生额 {stored} 分/{stored_n} 条，分录重算 {replay} 分/{n} 条")


def check_hashes(batch_size: int = 5000) -> Iterator[Problem]:
    """Recompute every transaction's hash from its stored legs."""
    last_id = 0
    while True:
        txns = list(Transaction.objects.filter(pk__gt=last_id).order_by("pk")
                    .only("pk", "key", "business_date", "source_type", "source_id",
                          "reverses_id", "legs_hash")[:batch_size])
        if not txns:
            return
        legs: dict[int, list[tuple[int, int]]] = {t.pk: [] for t in txns}
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT transaction_id, account_id, amount_fen FROM ledger_leg"
                " WHERE transaction_id BETWEEN %s AND %s",
                [txns[0].pk, txns[-1].pk],
            )
            for txn_id, account_id, amount in cursor.fetchall():
                if txn_id in legs:
                    legs[txn_id].append((account_id, amount))
        for t in txns:
            digest = legs_hash(key=t.key, business_date=t.business_date,
                               source=Source(t.source_type, t.source_id),
                               reverses_id=t.reverses_id, legs=legs[t.pk])
            if digest != t.legs_hash:
                yield Problem("hash", f"凭证 {t.key} (#{t.pk})", "分录与记账时的哈希不符：已被篡改")
        last_id = txns[-1].pk


def ledger_problems(*, hashes: bool = True) -> Iterator[Problem]:
    yield from check_transactions_balanced()
    yield from check_balances_replay()
    if hashes:
        yield from check_hashes()
