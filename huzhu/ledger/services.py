"""Writes to the ledger: open accounts, post and reverse transactions. Only these move money.

Every posting carries an idempotency key: posting a key again returns the first transaction and
posts nothing (TRUST R-05); the same key with different legs is a conflict. Balances are kept
with single ``F()``/upsert statements, locked in account-id order so concurrent postings cannot
deadlock (STYLE rule 20, ADR 0003).
"""

from __future__ import annotations

import datetime
import hashlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, overload

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from huzhu import clock
from huzhu.actors import Actor
from huzhu.errors import DomainError
from huzhu.organisations.models import Organisation

from .models import (
    CHART,
    Account,
    AccountBalance,
    AccountKind,
    Leg,
    PayerKind,
    Transaction,
)

LegInput = tuple[Account | int, int]


@dataclass(frozen=True)
class Source:
    """What caused a transaction: ``("claims.claim", "42")``."""

    type: str
    id: str


class IdempotencyConflict(DomainError):
    code = "idempotency_conflict"


# --------------------------------------------------------------------------- accounts


def _account_code_and_name(
    kind: str, payer_kind: str, product_code: str, period_code: str
) -> tuple[str, str]:
    code = CHART[kind][0]
    parts = [AccountKind(kind).label]
    if payer_kind:
        parts.append(PayerKind(payer_kind).label)
    for extra in (product_code, period_code):
        if extra:
            parts.append(extra)
    suffix = ".".join(p for p in (payer_kind, product_code, period_code) if p)
    return (f"{code}.{suffix}" if suffix else code), "—".join(parts)


@overload
def account_open(
    *, org: Organisation, kind: str, payer_kind: str = "", product_code: str = "",
    period_code: str = "", create: Literal[True] = True,
) -> Account: ...


@overload
def account_open(
    *, org: Organisation, kind: str, payer_kind: str = "", product_code: str = "",
    period_code: str = "", create: bool,
) -> Account | None: ...


def account_open(
    *, org: Organisation, kind: str, payer_kind: str = "", product_code: str = "",
    period_code: str = "", create: bool = True,
) -> Account | None:
    """Return the account of ``org`` with these dimensions, creating it (and its balance) once;
    with ``create=False``, None when it is not open yet (a read that takes no lock)."""
    if kind not in CHART:
        raise DomainError(f"未知科目类别：{kind}")
    if payer_kind and payer_kind not in PayerKind.values:
        raise DomainError(f"未知缴费方：{payer_kind}")
    if bool(payer_kind) != (kind == AccountKind.PREMIUM_INCOME):
        raise DomainError("只有互助金收入科目按缴费方分户，且必须指明缴费方")
    region_id = org.pk if org.is_fund_region else org.fund_region_id
    if region_id is None:
        raise DomainError(f"{org.name} 不属于任何统筹区，不能开设账户")
    dims = {"org": org, "kind": kind, "payer_kind": payer_kind,
            "product_code": product_code, "period_code": period_code}
    existing = Account.objects.filter(**dims).first()
    if existing is not None or not create:
        return existing
    code, name = _account_code_and_name(kind, payer_kind, product_code, period_code)
    try:
        with transaction.atomic():
            account = Account.objects.create(
                fund_region_id=region_id, org_path=org.path, code=code, name=name, **dims
            )
            AccountBalance.objects.create(account=account)
    except IntegrityError:
        # Another request opened the same account first.
        return Account.objects.get(**dims)
    return account


# --------------------------------------------------------------------------- hashing


def legs_hash(
    *, key: str, business_date: datetime.date, source: Source, reverses_id: int | None,
    legs: Iterable[tuple[int, int]],
) -> str:
    """Return the SHA-256 over what a transaction means: key, date, source and sorted legs."""
    return hash_body(key, business_date.isoformat(), source.type, source.id,
                     str(reverses_id or ""), legs)


def hash_body(key: str, day: str, source_type: str, source_id: str, reverses: str,
              legs: Iterable[tuple[int, int]]) -> str:
    """``legs_hash`` from its parts already as text (the bulk path formats each date once)."""
    body = "|".join([key, day, source_type, source_id, reverses,
                     ";".join([f"{a}:{f}" for a, f in sorted(legs)])])
    return hashlib.sha256(body.encode()).hexdigest()


# --------------------------------------------------------------------------- validation


def normalise_legs(legs: Sequence[LegInput]) -> list[tuple[int, int]]:
    """Return ``(account_id, amount_fen)`` pairs, refusing anything that is not a balanced entry."""
    out: list[tuple[int, int]] = []
    for account, amount in legs:
        if isinstance(amount, bool) or not isinstance(amount, int):
            raise DomainError(f"金额必须是整数分，不能是 {type(amount).__name__}")
        if amount == 0:
            raise DomainError("分录金额不能为零")
        account_id = account.pk if isinstance(account, Account) else int(account)
        out.append((account_id, amount))
    if len(out) < 2:
        raise DomainError("一笔凭证至少要有两条分录")
    if sum(a for _, a in out) != 0:
        raise DomainError(f"借贷不平衡：分录合计 {sum(a for _, a in out)} 分，应为 0")
    return out


def _region_of(account_ids: Iterable[int]) -> int:
    ids = set(account_ids)
    regions = dict(Account.objects.filter(pk__in=ids).values_list("pk", "fund_region_id"))
    missing = ids - set(regions)
    if missing:
        raise DomainError(f"科目不存在：{sorted(missing)}")
    if len(set(regions.values())) != 1:
        raise DomainError("一笔凭证的所有科目必须属于同一统筹区")
    return next(iter(regions.values()))


def _as_source(source: Source | tuple[str, str]) -> Source:
    return source if isinstance(source, Source) else Source(str(source[0]), str(source[1]))


def _actor_fields(actor: Actor) -> dict[str, Any]:
    if actor is None:
        return {"actor_id": None, "actor_label": "system"}
    label = actor.username or str(actor)
    return {"actor_id": actor.pk, "actor_label": label[:150]}


# --------------------------------------------------------------------------- balances


def apply_balances(deltas: dict[tuple[int, datetime.date], tuple[int, int]]) -> None:
    """Add per-(account, day) movements to the maintained balances, in account-id order.

    Each statement adds to the stored value in the database (never read, decide, write), and
    every posting locks balance rows in the same order (running balances by account, then daily
    rows by (account, day), then monthly rows by (account, month)), so two postings can't
    deadlock.
    """
    per_account: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    per_month: dict[tuple[int, datetime.date], list[int]] = defaultdict(lambda: [0, 0])
    for (account_id, day), (amount, count) in deltas.items():
        for bucket in (per_account[account_id], per_month[(account_id, day.replace(day=1))]):
            bucket[0] += amount
            bucket[1] += count
    for account_id in sorted(per_account):
        amount, count = per_account[account_id]
        AccountBalance.objects.filter(pk=account_id).update(
            balance_fen=F("balance_fen") + amount, leg_count=F("leg_count") + count
        )
    days = [(a, d, amount, count) for (a, d), (amount, count) in sorted(deltas.items())]
    months = [(a, m, amount, count) for (a, m), (amount, count) in sorted(per_month.items())]
    with connection.cursor() as cursor:
        for table, column, rows in (("ledger_dailybalance", "day", days),
                                    ("ledger_monthlybalance", "month", months)):
            cursor.executemany(
                f"INSERT INTO {table} (account_id, {column}, delta_fen, leg_count) "
                f"VALUES (%s, %s, %s, %s) ON CONFLICT (account_id, {column}) DO UPDATE SET "
                f"delta_fen = {table}.delta_fen + excluded.delta_fen, "
                f"leg_count = {table}.leg_count + excluded.leg_count",
                rows,
            )


def deltas_of(
    legs: Iterable[tuple[int, int]], day: datetime.date,
    into: dict[tuple[int, datetime.date], tuple[int, int]] | None = None,
) -> dict[tuple[int, datetime.date], tuple[int, int]]:
    out = into if into is not None else {}
    for account_id, amount in legs:
        old = out.get((account_id, day), (0, 0))
        out[(account_id, day)] = (old[0] + amount, old[1] + 1)
    return out


def assert_complete(transaction_ids: Sequence[int]) -> None:
    """Refuse to go on if a just-posted transaction is incomplete or unbalanced.

    PostgreSQL's deferred trigger checks this at commit; SQLite has no deferred triggers, so
    the service asks the database before the transaction commits (ADR 0003).
    """
    if not transaction_ids:
        return
    for start in range(0, len(transaction_ids), 5000):
        chunk = list(transaction_ids[start:start + 5000])
        marks = ",".join(["%s"] * len(chunk))
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT t.key FROM ledger_transaction t LEFT JOIN ("
                " SELECT transaction_id, count(*) AS n, sum(amount_fen) AS total"
                f" FROM ledger_leg WHERE transaction_id IN ({marks}) GROUP BY transaction_id"
                f") a ON a.transaction_id = t.id WHERE t.id IN ({marks})"
                " AND (coalesce(a.n, 0) <> t.leg_count OR coalesce(a.total, 0) <> 0)",
                chunk + chunk,
            )
            bad = [row[0] for row in cursor.fetchall()]
        if bad:
            raise DomainError(f"凭证不完整或不平衡：{', '.join(bad[:5])}")


# --------------------------------------------------------------------------- posting


def _replayed(existing: Transaction, digest: str) -> Transaction:
    if existing.legs_hash != digest:
        raise IdempotencyConflict(
            f"幂等键 {existing.key} 已用于内容不同的凭证 #{existing.pk}，拒绝重复记账"
        )
    return existing


def _post(
    *, key: str, legs: Sequence[LegInput], memo: str, business_date: datetime.date,
    source: Source | tuple[str, str], actor: Actor, reverses: Transaction | None,
) -> Transaction:
    if not key or len(key) > 200:
        raise DomainError("幂等键不能为空，且不超过 200 个字符")
    pairs = normalise_legs(legs)
    src = _as_source(source)
    digest = legs_hash(key=key, business_date=business_date, source=src,
                       reverses_id=reverses.pk if reverses else None, legs=pairs)
    existing = Transaction.objects.filter(key=key).first()
    if existing is not None:
        return _replayed(existing, digest)
    txn = Transaction(
        key=key, fund_region_id=_region_of(a for a, _ in pairs), memo=memo[:200],
        business_date=business_date, recorded_at=timezone.now(), source_type=src.type,
        source_id=src.id, reverses=reverses, leg_count=len(pairs), legs_hash=digest,
        **_actor_fields(actor),
    )
    try:
        with transaction.atomic():  # a savepoint: a lost race must not spoil the caller's work
            txn.save(force_insert=True)
    except IntegrityError:
        # Another poster holding the same key committed first: return theirs (the unique
        # index made this insert wait for them). Anything else is a real error.
        existing = Transaction.objects.filter(key=key).first()
        if existing is None:
            raise
        return _replayed(existing, digest)
    Leg.objects.bulk_create([
        Leg(transaction=txn, account_id=a, amount_fen=f, business_date=business_date)
        for a, f in pairs
    ])
    apply_balances(deltas_of(pairs, business_date))
    assert_complete([txn.pk])
    return txn


@transaction.atomic
def ledger_post(
    *, key: str, legs: Sequence[LegInput], memo: str, business_date: datetime.date,
    source: Source | tuple[str, str], actor: Actor = None,
) -> Transaction:
    """Post a balanced transaction once per key and return it (the first one on a replay).

    Validates: legs are integer fen, non-zero, at least two, sum to zero, in one fund region.
    """
    return _post(key=key, legs=legs, memo=memo, business_date=business_date, source=source,
                 actor=actor, reverses=None)


@transaction.atomic
def ledger_reverse(
    *, key: str, transaction: Transaction, memo: str = "",
    business_date: datetime.date | None = None, actor: Actor = None,
) -> Transaction:
    """Post the mirror image of ``transaction``, pointing at it. A transaction reverses once."""
    original = Transaction.objects.get(pk=transaction.pk)
    done = Transaction.objects.filter(reverses=original).first()
    if done is not None and done.key == key:
        return done  # a replay: the default business date may differ from the first call's
    if done is not None:
        raise DomainError(f"凭证 #{original.pk} 已由 #{done.pk} 冲销，不能再次冲销")
    legs = [(leg.account_id, -leg.amount_fen) for leg in original.legs.order_by("id")]
    return _post(
        key=key, legs=legs, memo=memo or f"冲销 #{original.pk} {original.memo}"[:200],
        business_date=business_date or clock.today(),
        source=Source("ledger.transaction", str(original.pk)), actor=actor, reverses=original,
    )
