"""Fast inserts of many rows for imports: COPY on PostgreSQL, executemany on SQLite.

Used where an import writes tens of thousands of rows in one transaction (a roster commit);
rows are tuples already in database form (encrypted bytes, JSON text), so Django's per-value
preparation is not paid a hundred thousand times.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.db import connection, models

# The cyclic garbage collector's first threshold while a bulk import runs (Python's default is
# 700 allocations): an import makes and keeps hundreds of thousands of objects (records, rows,
# documents), and every 700 the collector looked through the young ones, every 7,000 the
# older ones and, as they grew, all of them again: about a tenth of an import's CPU time in
# bench/profile_bureau.py. Nothing an import makes depends on when cycles are freed.
BULK_GC_THRESHOLD = 50_000
_gc_lock = threading.Lock()


class _Sections:
    open = 0  # bulk sections open in this process
    before: tuple[int, int, int] = (700, 10, 10)  # the thresholds before the first


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Run a bulk section with the collector's first threshold raised (BULK_GC_THRESHOLD),
    restored when the last open section ends (sections nest, and may run in threads)."""
    with _gc_lock:
        if _Sections.open == 0:
            _Sections.before = gc.get_threshold()
            first, second, third = _Sections.before
            gc.set_threshold(max(first, BULK_GC_THRESHOLD), second, third)
        _Sections.open += 1
    try:
        yield
    finally:
        with _gc_lock:
            _Sections.open -= 1
            if _Sections.open == 0:
                gc.set_threshold(*_Sections.before)


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
