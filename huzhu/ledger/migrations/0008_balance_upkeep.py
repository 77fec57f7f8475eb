"""Cheaper balance upkeep on the bulk path (ADR 0003).

- Daily rows lose the account index of their foreign key: the (account, day) unique index
  already serves every lookup by account, and every index is paid by every upsert.
- On PostgreSQL the daily, monthly and running balance rows leave a third of each page free, so
  the additive upserts (which change no indexed column) can be HOT updates that touch no index.
"""

import django.db.models.deletion
from django.db import migrations, models

TABLES = ("ledger_dailybalance", "ledger_monthlybalance", "ledger_accountbalance")


def fillfactor(value):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for table in TABLES:
                schema_editor.execute(f"ALTER TABLE {table} SET (fillfactor = {value})",
                                      params=None)
    return run


class Migration(migrations.Migration):

    dependencies = [
        ('ledger', '0007_triggers_by_index'),
    ]

    operations = [
        migrations.AlterField(
            model_name='dailybalance',
            name='account',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='daily', to='ledger.account'),
        ),
        migrations.RunPython(fillfactor(70), fillfactor(100)),
    ]
