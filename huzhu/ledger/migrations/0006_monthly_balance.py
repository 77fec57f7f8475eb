"""Monthly movement rows, so a balance as of a date reads months instead of every later day.

Filled from the daily rows already kept (``ledger verify`` then proves them against the legs).
"""

import django.db.models.deletion
from django.db import migrations, models

BACKFILL = {
    "postgresql": "date_trunc('month', day)::date",
    "sqlite": "date(day, 'start of month')",
}


def backfill(apps, schema_editor):
    month = BACKFILL.get(schema_editor.connection.vendor)
    if month is None:
        raise RuntimeError(f"ledger 0006: no month expression for {schema_editor.connection.vendor}")
    schema_editor.execute(
        "INSERT INTO ledger_monthlybalance (account_id, month, delta_fen, leg_count)"
        f" SELECT account_id, {month}, sum(delta_fen), sum(leg_count) FROM ledger_dailybalance"
        f" GROUP BY account_id, {month}",
        params=None,
    )


class Migration(migrations.Migration):

    dependencies = [
        ('ledger', '0005_advance_received'),
    ]

    operations = [
        migrations.CreateModel(
            name='MonthlyBalance',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('month', models.DateField()),
                ('delta_fen', models.BigIntegerField(default=0)),
                ('leg_count', models.BigIntegerField(default=0)),
                ('account', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='monthly', to='ledger.account')),
            ],
            options={
                'verbose_name': '科目月发生额',
                'verbose_name_plural': '科目月发生额',
                'ordering': ['account_id', 'month'],
                'constraints': [models.UniqueConstraint(fields=('account', 'month'), name='ledger_monthly_unique')],
            },
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
