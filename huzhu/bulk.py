"""Fast inserts of many rows for imports: COPY on PostgreSQL, executemany on SQLite.

Used where an import writes tens of thousands of rows in one transaction (a roster commit);
rows are tuples already in database form (encrypted bytes, JSON text), so Django's per-value
preparation is not paid a hundred thousand times.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection, models


def reserve_ids(model: type[models.Model], count: int) -> list[int]:
    """Primary keys for ``count`` new rows. Call inside the writing transaction: on SQLite
    it holds the write lock (IMMEDIATE), on PostgreSQL the sequence hands out unique values."""
    if count == 0:
        return []
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [table, count])
            return [row[0] for row in cursor.fetchall()]
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {connection.ops.quote_name(table)}")
        start = cursor.fetchone()[0] + 1
        return list(range(start, start + count))


def insert_rows(model: type[models.Model], attnames: Sequence[str], rows: Iterable[tuple]
                ) -> None:
    by_att = {f.attname: f for f in model._meta.concrete_fields}
    cols = [by_att[a].column for a in attnames]
    qn = connection.ops.quote_name
    table = qn(model._meta.db_table)
    col_sql = ", ".join(qn(c) for c in cols)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The driver's own cursor: its errors made Django's (IntegrityError, …) here.
            with connection.wrap_database_errors, \
                    cursor.cursor.copy(f"COPY {table} ({col_sql}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(cols))
            cursor.executemany(f"INSERT INTO {table} ({col_sql}) VALUES ({marks})", list(rows))


def pg_array(values: Iterable[Any]) -> str:
    """A PostgreSQL array literal for a ``%s::<type>[]`` parameter: ``{1,2,3}`` for numbers,
    each text element quoted and escaped. One string to bind, where a list of 10,000 values is
    10,000 values for the driver to quote one by one (client-side binding)."""
    out = []
    for v in values:
        if v is None:
            out.append("NULL")
        elif type(v) is int:
            out.append(str(v))
        else:
            out.append('"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"')
    return "{" + ",".join(out) + "}"


def among(model: type[models.Model], field: str, values: Iterable[Any], kind: str = "bigint"
          ) -> Any:
    """``field__in=values`` for thousands of values, as a ``filter()`` argument: on
    PostgreSQL ``col = ANY(%s::<kind>[])`` with one array literal (still an index condition),
    not thousands of placeholders to build, bind and parse; elsewhere the plain ``__in``."""
    from django.db.models import BooleanField, Q
    from django.db.models.expressions import RawSQL

    values = list(values)
    if connection.vendor != "postgresql":
        return Q(**{f"{field}__in": values})
    model_field = model._meta.get_field(field)
    assert isinstance(model_field, models.Field), f"{field} is not a column of {model.__name__}"
    column = model_field.column
    qn = connection.ops.quote_name
    return RawSQL(f"{qn(model._meta.db_table)}.{qn(column)} = ANY(%s::{kind}[])",
                  [pg_array(values)], output_field=BooleanField())


def db_datetime(value: Any) -> Any:
    return connection.ops.adapt_datetimefield_value(value)


# --------------------------------------------------------------------------- forked parts


class Abandoned(Exception):
    """The part before failed: this one rolls back rather than commit after it."""


class Turn:
    """A part's place in line, for the part's own code to call inside its transaction.

    ``write()`` before the first lock that other parts may take too (a part's own new rows
    come before it): waits until the part before has written everything (its locks on the
    shared rows, such as ledger balances or the event chain head, then make this part wait
    for its commit there). ``commit()`` after the last write: waits until the part before has ended,
    so parts commit in order; both raise :class:`Abandoned` when the part before failed."""

    def __init__(self, ctx: Any, prev: Turn | None) -> None:
        self.prev = prev
        self.written = ctx.Event()  # its writes are done (or it ended)
        self.ended = ctx.Event()
        self.committed = ctx.Event()

    def _after(self, event_name: str) -> None:
        if self.prev is None:
            return
        getattr(self.prev, event_name).wait()
        if self.prev.ended.is_set() and not self.prev.committed.is_set():
            raise Abandoned()

    def write(self) -> None:
        self._after("written")

    def commit(self) -> None:
        self.written.set()
        self._after("ended")


def _portable(exc: BaseException) -> BaseException:
    """The exception itself when it survives pickling, else a RuntimeError that says it."""
    import pickle
    import traceback

    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:  # noqa: BLE001 - any pickling failure
        text = "".join(traceback.format_exception(exc))
        return RuntimeError(f"{type(exc).__name__}: {exc}\n{text}")


# Database connections a forked child found in its memory: kept referenced (never closed or
# collected) until the child leaves by os._exit, so no finaliser closes a socket it shares.
_INHERITED: list[Any] = []


def _forget_inherited_connections(connections: Any) -> None:
    """Give a forked child connection slots of its own. The caller's connections were closed
    before the fork, but another thread of the caller (a test's live server, say) may have
    opened one since, in storage the child sees: two children would then talk over one
    socket. The old storage is kept, not closed (closing would end the caller's session)."""
    from asgiref.local import Local

    _INHERITED.append(connections._connections)
    connections._connections = Local(connections.thread_critical)


def forked_in_order(parts: Sequence[Any], work: Any, *, window: int = 2) -> list[Any]:
    """``work(part, turn)`` for each part, each in a process of its own (forked: the parts
    and everything the caller holds are shared, not copied through a pipe) with its own
    database connection, at most ``window`` at a time; returns their results in order.

    The parts must not lock the same rows before ``turn.write()`` (give each part whole
    members, say): then a part reads and computes while the one before writes and commits,
    parts write and commit in order, and when one fails the ones after it roll back, so
    what is committed is always the first parts, as a serial loop would leave it. The first
    failure is raised here (a failure that cannot cross the process boundary as itself is a
    RuntimeError with its traceback). Call outside any transaction: the caller's connections
    are closed before the first fork (they reopen when next used)."""
    import gc
    import multiprocessing
    import os

    from django.db import connections

    if connection.in_atomic_block:
        raise RuntimeError("forked_in_order runs outside a transaction")
    ctx = multiprocessing.get_context("fork")
    connections.close_all()  # a child must never share (and close) the caller's socket
    turns: list[Turn] = []
    for _ in parts:
        turns.append(Turn(ctx, turns[-1] if turns else None))
    started: list[tuple[Any, Any]] = []

    def start(k: int) -> None:
        receive, send = ctx.Pipe(duplex=False)
        pid = os.fork()
        if pid == 0:  # the child: do the part, report, leave without the parent's exit hooks
            code = 0
            # What the parent made is the child's too but never garbage: the collector would
            # walk all of it (and copy every page it touches) each time it runs.
            gc.freeze()
            _forget_inherited_connections(connections)
            try:
                receive.close()
                try:
                    result = ("ok", work(parts[k], turns[k]))
                    turns[k].committed.set()
                except BaseException as exc:  # noqa: BLE001 - reported to the parent
                    result = ("error", _portable(exc))
                turns[k].written.set()
                turns[k].ended.set()
                send.send(result)
                send.close()
                connections.close_all()
            except BaseException:  # noqa: BLE001 - the parent sees a missing result
                code = 1
            finally:
                os._exit(code)
        send.close()
        started.append((pid, receive))

    results: list[Any] = []
    errors: list[BaseException] = []
    for k in range(len(parts)):
        while len(started) < len(parts) and len(started) < k + window:
            start(len(started))
        pid, receive = started[k]
        try:
            status, value = receive.recv()
        except EOFError:
            status, value = "error", RuntimeError(f"第 {k + 1} 部分的进程异常退出")
        receive.close()
        os.waitpid(pid, 0)
        turns[k].written.set()  # in case the child died before it could say so
        turns[k].ended.set()
        if status == "ok":
            results.append(value)
        elif not isinstance(value, Abandoned):
            errors.append(value)
    if errors:
        raise errors[0]
    return results
