import django.db.models.deletion
from django.db import migrations, models


def copy_decisions(apps, schema_editor):
    """Every matched settlement gets its decision row: decided as before, or owed."""
    Settlement = apps.get_model("claims", "Settlement")
    SettlementDecision = apps.get_model("claims", "SettlementDecision")
    rows = Settlement.objects.filter(member__isnull=False).values_list(
        "id", "decided_at", "decision", "is_current")
    batch = []
    for pk, at, what, current in rows.iterator(chunk_size=5000):
        if at is None and not current:
            continue  # an old version never decided: its newer version is owed the decision
        batch.append(SettlementDecision(settlement_id=pk, decided_at=at, decision=what))
        if len(batch) == 5000:
            SettlementDecision.objects.bulk_create(batch)
            batch = []
    SettlementDecision.objects.bulk_create(batch)


def copy_back(apps, schema_editor):
    Settlement = apps.get_model("claims", "Settlement")
    SettlementDecision = apps.get_model("claims", "SettlementDecision")
    for d in SettlementDecision.objects.exclude(decided_at=None).iterator(chunk_size=5000):
        Settlement.objects.filter(pk=d.settlement_id).update(decided_at=d.decided_at,
                                                             decision=d.decision)


class Migration(migrations.Migration):

    dependencies = [
        ('claims', '0006_settlement_decision_claim_once'),
    ]

    operations = [
        migrations.CreateModel(
            name='SettlementDecision',
            fields=[
                ('settlement', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='decided', serialize=False, to='claims.settlement')),
                ('decided_at', models.DateTimeField(blank=True, null=True)),
                ('decision', models.CharField(blank=True, choices=[('claims', '已生成免申即享理赔'), ('not_covered', '未参加免申即享产品'), ('claimed', '已有理赔'), ('reassessed', '更正后重新核算')], default='', max_length=12)),
            ],
            options={
                'verbose_name': '结算记录处理结果',
                'verbose_name_plural': '结算记录处理结果',
                'indexes': [models.Index(condition=models.Q(('decided_at__isnull', True)), fields=['settlement'], name='settlement_owed_idx')],
            },
        ),
        migrations.RunPython(copy_decisions, copy_back),
        migrations.RemoveIndex(
            model_name='settlement',
            name='settlement_pending_idx',
        ),
        migrations.RemoveField(
            model_name='settlement',
            name='decided_at',
        ),
        migrations.RemoveField(
            model_name='settlement',
            name='decision',
        ),
    ]
