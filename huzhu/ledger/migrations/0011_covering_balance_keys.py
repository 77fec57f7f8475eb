"""On PostgreSQL the daily and monthly rows' unique keys carry ``delta_fen`` (INCLUDE), so an
as-of balance reads its later movements by index-only scans.

A mid-month trial balance reads about 15 daily rows per account, and each sat on a heap page
of its own (rows of one account arrive on different days); with the amount in the index
those 15 rows are one leaf page. Measured over 10 M legs and 2,414 accounts: the daily
subqueries 0.016 → 0.007 ms an account, the trial balance as of 15 June 52 → 33 ms in the
database (docs/adr/0003). The price: an additive upsert changes an indexed column and is no
longer a HOT update. Same constraint names, same columns, same rule; SQLite keeps the plain
keys (it has no INCLUDE, and Django would silently not create a unique constraint with one).
"""

from django.db import migrations

TABLES = (("ledger_dailybalance", "ledger_daily_unique", "account_id, day"),
          ("ledger_monthlybalance", "ledger_monthly_unique", "account_id, month"))


def covering(include: bool):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        extra = " INCLUDE (delta_fen)" if include else ""
        for table, name, columns in TABLES:
            schema_editor.execute(
                f"ALTER TABLE {table} DROP CONSTRAINT {name},"
                f" ADD CONSTRAINT {name} UNIQUE ({columns}){extra}", params=None)
    return run


class Migration(migrations.Migration):

    dependencies = [
        ('ledger', '0010_lean_transaction_indexes'),
    ]

    operations = [migrations.RunPython(covering(True), covering(False))]
