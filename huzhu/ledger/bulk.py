"""The bulk path: post hundreds of thousands of transactions with the same guarantees.

Same meaning as calling ``ledger_post`` for each posting: keys already posted are skipped
(a different body under a known key is a conflict), every transaction is balanced (checked here
and by the database triggers), balances are maintained. On PostgreSQL the rows travel by COPY
into temporary tables and land with two set-based INSERTs per chunk; elsewhere through
``bulk_create``.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import NamedTuple

from django.db import connection, transaction
from django.utils import timezone

from huzhu.actors import Actor
from huzhu.errors import DomainError

from .models import Account, Batch, Leg, Transaction
from .services import (
    IdempotencyConflict,
    LegInput,
    Source,
    _actor_fields,
    apply_balances,
    assert_complete,
    deltas_of,
    hash_body,
    normalise_legs,
)

CHUNK = 50_000
# Below this many postings the temporary tables of the COPY path cost more than they save.
COPY_MIN_ROWS = 500


@dataclass(frozen=True)
class Posting:
    key: str
    legs: Sequence[LegInput]
    memo: str
    business_date: datetime.date
    source: Source | tuple[str, str]


@dataclass
class BulkResult:
    posted: int = 0
    skipped: int = 0


class _Row(NamedTuple):
    key: str
    legs: list[tuple[int, int]]
    memo: str
    business_date: datetime.date
    day: str  # business_date.isoformat(), formatted once a date
    source_type: str
    source_id: str
    digest: str


def _prepare(postings: Sequence[Posting]) -> list[_Row]:
    rows: dict[str, _Row] = {}
    days: dict[datetime.date, str] = {}
    for p in postings:
        key = p.key
        if not key or len(key) > 200:
            raise DomainError("幂等键不能为空，且不超过 200 个字符")
        legs = normalise_legs(p.legs)
        src = p.source
        source_type, source_id = ((src.type, src.id) if isinstance(src, Source)
                                  else (str(src[0]), str(src[1])))
        day = days.get(p.business_date)
        if day is None:
            day = days[p.business_date] = p.business_date.isoformat()
        digest = hash_body(key, day, source_type, source_id, "", legs)
        seen = rows.get(key)
        if seen is not None:
            if seen.digest != digest:
                raise IdempotencyConflict(f"同一批次中幂等键 {key} 对应不同内容")
            continue
        rows[key] = _Row(key, legs, p.memo[:200], p.business_date, day, source_type, source_id,
                         digest)
    return list(rows.values())


def _regions(rows: Sequence[_Row]) -> dict[int, int]:
    ids = {a for r in rows for a, _ in r.legs}
    regions = dict(Account.objects.filter(pk__in=ids).values_list("pk", "fund_region_id"))
    missing = ids - set(regions)
    if missing:
        raise DomainError(f"科目不存在：{sorted(missing)[:10]}")
    return regions


def _region_of_row(row: _Row, regions: dict[int, int]) -> int:
    found = {regions[a] for a, _ in row.legs}
    if len(found) != 1:
        raise DomainError(f"凭证 {row.key} 的科目跨越多个统筹区")
    return found.pop()


def ledger_post_many(
    *, postings: Iterable[Posting], actor: Actor = None, chunk_size: int = CHUNK,
    before_balances: Callable[[], None] | None = None,
) -> BulkResult:
    """Post many transactions, each chunk atomically; return how many were new and skipped.

    Given a list on PostgreSQL, the next chunk is checked and hashed in a worker thread while
    the database writes the current one (``_prepared_ahead``); a chunk still commits before
    the next one's error is raised, as when they are prepared in turn.

    ``before_balances`` is called in each chunk after its transactions and legs are written
    and before the first balance row is locked (the rows every poster shares): a bulk caller
    running beside another checks its own deferred constraints there (ADR 0008, 0009).
    """
    result = BulkResult()
    if (isinstance(postings, (list, tuple)) and len(postings) > chunk_size
            and connection.vendor == "postgresql"):
        chunks = _prepared_ahead(postings, chunk_size)
    else:
        chunks = _prepared_in_turn(postings, chunk_size)
    for size, rows in chunks:
        _post_chunk(size, rows, actor, result, before_balances)
    return result


def _prepared_in_turn(postings: Iterable[Posting], size: int) -> Iterator[tuple[int, list[_Row]]]:
    chunk: list[Posting] = []
    for posting in postings:
        chunk.append(posting)
        if len(chunk) >= size:
            yield len(chunk), _prepare(chunk)
            chunk = []
    if chunk:
        yield len(chunk), _prepare(chunk)


def _prepared_ahead(postings: Sequence[Posting], size: int) -> Iterator[tuple[int, list[_Row]]]:
    """Yield prepared chunks, preparing chunk n+1 in a thread while the caller posts chunk n.

    Pure Python work on postings already in memory: the thread touches no database, so it
    needs no connection and cannot see (or miss) the caller's uncommitted rows. The database
    waits release the GIL, so on two cores the preparation is hidden behind the writes.
    """
    total = len(postings)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ledger-prepare") as pool:
        ahead = pool.submit(_prepare, postings[0:size])
        for start in range(0, total, size):
            rows = ahead.result()  # re-raises the chunk's own error, in order
            if start + size < total:
                ahead = pool.submit(_prepare, postings[start + size:start + 2 * size])
            yield min(size, total - start), rows


@transaction.atomic
def _post_chunk(size: int, rows: list[_Row], actor: Actor, result: BulkResult,
                before_balances: Callable[[], None] | None = None) -> None:
    regions = _regions(rows)
    region_of = {r.key: _region_of_row(r, regions) for r in rows}
    if connection.vendor == "postgresql" and len(rows) >= COPY_MIN_ROWS:
        posted = _copy_chunk(rows, region_of, actor, before_balances)
    else:
        posted = _orm_chunk(rows, region_of, actor, before_balances)
    result.posted += posted
    result.skipped += size - posted


def _orm_chunk(rows: Sequence[_Row], region_of: dict[str, int], actor: Actor,
               before_balances: Callable[[], None] | None = None) -> int:
    existing: dict[str, str] = {}
    keys = [r.key for r in rows]
    for start in range(0, len(keys), 2000):
        existing.update(Transaction.objects.filter(key__in=keys[start:start + 2000])
                        .values_list("key", "legs_hash"))
    conflicts = [r.key for r in rows if r.key in existing and existing[r.key] != r.digest]
    if conflicts:
        raise IdempotencyConflict(f"幂等键已用于内容不同的凭证：{', '.join(conflicts[:5])}")
    new = [r for r in rows if r.key not in existing]
    now = timezone.now()
    actor_fields = _actor_fields(actor)
    txns = Transaction.objects.bulk_create([
        Transaction(key=r.key, fund_region_id=region_of[r.key], memo=r.memo,
                    business_date=r.business_date, recorded_at=now, source_type=r.source_type,
                    source_id=r.source_id, leg_count=len(r.legs), legs_hash=r.digest,
                    **actor_fields)
        for r in new
    ], batch_size=2000)
    legs: list[Leg] = []
    deltas: dict[tuple[int, datetime.date], tuple[int, int]] = {}
    for txn, r in zip(txns, new, strict=True):
        legs.extend(Leg(transaction_id=txn.pk, account_id=a, amount_fen=f,
                        business_date=r.business_date) for a, f in r.legs)
        deltas_of(r.legs, r.business_date, into=deltas)
    Leg.objects.bulk_create(legs, batch_size=2000)
    if before_balances is not None:
        before_balances()
    apply_balances(deltas)
    assert_complete([t.pk for t in txns])
    return len(txns)


# COPY text format: a backslash, tab or line break inside a value must be escaped.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(rows: Sequence[_Row], region_of: dict[str, int]) -> Iterator[str]:
    """One COPY line a transaction with its legs as two arrays: a third of the lines of one
    line per leg, and each leg meets its transaction in the same row (no key join per leg)."""
    esc = _COPY_ESCAPES
    lines: list[str] = []
    for r in rows:
        accounts = ",".join([str(a) for a, _ in r.legs])
        amounts = ",".join([str(f) for _, f in r.legs])
        lines.append(
            f"{r.key.translate(esc)}\t{region_of[r.key]}\t{r.memo.translate(esc)}\t{r.day}\t"
            f"{r.source_type.translate(esc)}\t{r.source_id.translate(esc)}\t{r.digest}\t"
            f"{{{accounts}}}\t{{{amounts}}}\n"
        )
        if len(lines) >= 5000:
            yield "".join(lines)
            lines = []
    if lines:
        yield "".join(lines)


def _copy_chunk(rows: Sequence[_Row], region_of: dict[str, int], actor: Actor,
                before_balances: Callable[[], None] | None = None) -> int:
    actor_fields = _actor_fields(actor)
    batch = Batch.objects.create()  # its deferred trigger checks the whole chunk at commit
    with connection.cursor() as cursor:
        raw = cursor.cursor  # the psycopg cursor, for COPY
        raw.execute(
            "CREATE TEMP TABLE ledger_tmp_txn (key varchar(200), fund_region_id bigint,"
            " memo varchar(200), business_date date, source_type varchar(60),"
            " source_id varchar(64), legs_hash varchar(64), account_ids bigint[],"
            " amounts bigint[]) ON COMMIT DROP;"
            "CREATE TEMP TABLE ledger_tmp_ins (id bigint, key varchar(200)) ON COMMIT DROP;"
            "CREATE TEMP TABLE ledger_tmp_delta (account_id bigint, day date, total bigint,"
            " n bigint) ON COMMIT DROP;"
        )
        with raw.copy("COPY ledger_tmp_txn FROM STDIN") as copy:
            for block in _copy_text(rows, region_of):
                copy.write(block)
        # Insert in key order so concurrent bulk posters meet the unique index in one order.
        raw.execute(
            "WITH ins AS (INSERT INTO ledger_transaction (key, fund_region_id, memo,"
            " business_date, recorded_at, source_type, source_id, actor_id, actor_label,"
            " leg_count, legs_hash, batch_id)"
            " SELECT key, fund_region_id, memo, business_date, %s::timestamptz, source_type,"
            " source_id, %s::bigint, %s::varchar, cardinality(account_ids), legs_hash, %s::bigint"
            " FROM ledger_tmp_txn ORDER BY key"
            " ON CONFLICT (key) DO NOTHING RETURNING id, key)"
            " INSERT INTO ledger_tmp_ins SELECT id, key FROM ins",
            [timezone.now(), actor_fields["actor_id"], actor_fields["actor_label"], batch.pk],
        )
        posted = raw.rowcount
        if posted < len(rows):  # some keys were known: their bodies must be the same
            raw.execute(
                "SELECT x.key FROM ledger_tmp_txn x JOIN ledger_transaction t ON t.key = x.key"
                " WHERE t.legs_hash <> x.legs_hash LIMIT 5"
            )
            conflicts = [row[0] for row in raw.fetchall()]
            if conflicts:
                raise IdempotencyConflict(f"幂等键已用于内容不同的凭证：{', '.join(conflicts)}")
        # One statement for all legs: the statement trigger checks them as one set.
        raw.execute(
            "WITH legs AS (INSERT INTO ledger_leg (transaction_id, account_id, amount_fen,"
            " business_date) SELECT i.id, u.account_id, u.amount_fen, x.business_date"
            " FROM ledger_tmp_ins i JOIN ledger_tmp_txn x ON x.key = i.key"
            " CROSS JOIN LATERAL unnest(x.account_ids, x.amounts) AS u(account_id, amount_fen)"
            " RETURNING account_id, business_date, amount_fen)"
            " INSERT INTO ledger_tmp_delta SELECT account_id, business_date,"
            " sum(amount_fen), count(*) FROM legs GROUP BY account_id, business_date"
        )
        if before_balances is not None:
            before_balances()
        # The balances, set-based but in the services' lock order: running balances first,
        # locked in account-id order, then the daily rows in (account, day) order, then the
        # monthly rows in (account, month) order.
        raw.execute(
            "SELECT 1 FROM ledger_accountbalance WHERE account_id IN"
            " (SELECT account_id FROM ledger_tmp_delta) ORDER BY account_id FOR UPDATE;"
            "UPDATE ledger_accountbalance b SET balance_fen = b.balance_fen + s.total,"
            " leg_count = b.leg_count + s.n FROM (SELECT account_id, sum(total) AS total,"
            " sum(n) AS n FROM ledger_tmp_delta GROUP BY account_id) s"
            " WHERE b.account_id = s.account_id;"
            "INSERT INTO ledger_dailybalance (account_id, day, delta_fen, leg_count)"
            " SELECT account_id, day, total, n FROM ledger_tmp_delta ORDER BY account_id, day"
            " ON CONFLICT (account_id, day) DO UPDATE SET"
            " delta_fen = ledger_dailybalance.delta_fen + excluded.delta_fen,"
            " leg_count = ledger_dailybalance.leg_count + excluded.leg_count;"
            "INSERT INTO ledger_monthlybalance (account_id, month, delta_fen, leg_count)"
            " SELECT account_id, date_trunc('month', day)::date, sum(total), sum(n)"
            " FROM ledger_tmp_delta GROUP BY 1, 2 ORDER BY 1, 2"
            " ON CONFLICT (account_id, month) DO UPDATE SET"
            " delta_fen = ledger_monthlybalance.delta_fen + excluded.delta_fen,"
            " leg_count = ledger_monthlybalance.leg_count + excluded.leg_count;"
            # Dropped here as well as on commit: several chunks may share one transaction.
            "DROP TABLE ledger_tmp_txn, ledger_tmp_ins, ledger_tmp_delta"
        )
    return posted
