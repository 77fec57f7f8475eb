"""Fewer indexes on ledger_transaction: every posting paid for three that no query reads.

- ``key`` keeps one unique index (now a named constraint); on PostgreSQL ``unique=True`` had
  added a ``varchar_pattern_ops`` twin for LIKE queries, and nothing searches keys by prefix.
- ``business_date`` and ``fund_region`` lose their indexes: balances come from the maintained
  tables, movements from the legs' (account, date) index, and no page lists transactions by
  region or date. The region keeps its foreign key.
- ``batch`` loses its foreign-key constraint on PostgreSQL: the statement trigger of 0004
  refuses a ``batch_id`` with no batch opened in the same database transaction, and batches
  are append-only, so the per-row check at commit proved nothing more.

Done in SQL with the model state changed alongside: on SQLite, Django would rebuild the table
to alter a column, and the rebuild would drop the append-only triggers of 0002. SQLite keeps
the column's own UNIQUE, which is the same rule.
"""

import django.db.models.deletion
from django.db import migrations, models

PG_UP = [
    "ALTER TABLE ledger_transaction ADD CONSTRAINT ledger_transaction_key_unique UNIQUE (key)",
    "ALTER TABLE ledger_transaction DROP CONSTRAINT IF EXISTS ledger_transaction_key_key",
    "DROP INDEX IF EXISTS ledger_transaction_key_70016b4e_like",
    "DROP INDEX IF EXISTS ledger_transaction_business_date_e4648737",
    "DROP INDEX IF EXISTS ledger_transaction_fund_region_id_9d93d878",
    "ALTER TABLE ledger_transaction"
    " DROP CONSTRAINT IF EXISTS ledger_transaction_batch_id_c5fc2bd8_fk_ledger_batch_id",
]
PG_DOWN = [
    "ALTER TABLE ledger_transaction ADD CONSTRAINT"
    " ledger_transaction_batch_id_c5fc2bd8_fk_ledger_batch_id FOREIGN KEY (batch_id)"
    " REFERENCES ledger_batch (id) DEFERRABLE INITIALLY DEFERRED",
    "ALTER TABLE ledger_transaction ADD CONSTRAINT ledger_transaction_key_key UNIQUE (key)",
    "ALTER TABLE ledger_transaction DROP CONSTRAINT ledger_transaction_key_unique",
    "CREATE INDEX ledger_transaction_key_70016b4e_like ON ledger_transaction"
    " (key varchar_pattern_ops)",
    "CREATE INDEX ledger_transaction_business_date_e4648737 ON ledger_transaction"
    " (business_date)",
    "CREATE INDEX ledger_transaction_fund_region_id_9d93d878 ON ledger_transaction"
    " (fund_region_id)",
]
SQLITE_UP = [
    "DROP INDEX IF EXISTS ledger_transaction_business_date_e4648737",
    "DROP INDEX IF EXISTS ledger_transaction_fund_region_id_9d93d878",
]
SQLITE_DOWN = [
    "CREATE INDEX ledger_transaction_business_date_e4648737 ON ledger_transaction"
    " (business_date)",
    "CREATE INDEX ledger_transaction_fund_region_id_9d93d878 ON ledger_transaction"
    " (fund_region_id)",
]


def run(pg, sqlite):
    def go(apps, schema_editor):
        vendor = schema_editor.connection.vendor
        for sql in pg if vendor == "postgresql" else sqlite if vendor == "sqlite" else []:
            schema_editor.execute(sql, params=None)
    return go


class Migration(migrations.Migration):

    dependencies = [
        ('ledger', '0009_payout_in_transit'),
        ('organisations', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='transaction',
                    name='business_date',
                    field=models.DateField(verbose_name='业务日期'),
                ),
                migrations.AlterField(
                    model_name='transaction',
                    name='fund_region',
                    field=models.ForeignKey(db_index=False,
                                            on_delete=django.db.models.deletion.PROTECT,
                                            related_name='+', to='organisations.organisation'),
                ),
                migrations.AlterField(
                    model_name='transaction',
                    name='key',
                    field=models.CharField(max_length=200, verbose_name='幂等键'),
                ),
                migrations.AlterField(
                    model_name='transaction',
                    name='batch',
                    field=models.ForeignKey(blank=True, db_constraint=False, null=True,
                                            on_delete=django.db.models.deletion.PROTECT,
                                            related_name='transactions', to='ledger.batch'),
                ),
                migrations.AddConstraint(
                    model_name='transaction',
                    constraint=models.UniqueConstraint(fields=('key',),
                                                       name='ledger_transaction_key_unique'),
                ),
            ],
            database_operations=[migrations.RunPython(run(PG_UP, SQLITE_UP),
                                                      run(PG_DOWN, SQLITE_DOWN))],
        ),
    ]
