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
            with cursor.cursor.copy(f"COPY {table} ({col_sql}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(cols))
            cursor.executemany(f"INSERT INTO {table} ({col_sql}) VALUES ({marks})", list(rows))


def db_datetime(value: Any) -> Any:
    return connection.ops.adapt_datetimefield_value(value)
