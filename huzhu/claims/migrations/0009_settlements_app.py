"""The settlement models belong to the settlements app now (its 0001): in Django's state only.
The claims' foreign keys point at ``settlements.Settlement`` (the same table), then the three
models leave the claims app's state. No table or column changes."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('claims', '0008_claim_status_ends_at_decision'),
        ('settlements', '0001_initial'),
    ]

    state_operations = [
        migrations.AlterField(
            model_name='assessment',
            name='settlement',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='settlements.settlement'),
        ),
        migrations.AlterField(
            model_name='claim',
            name='settlement',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='claims', to='settlements.settlement'),
        ),
        migrations.DeleteModel(name='SettlementDecision'),
        migrations.DeleteModel(name='Settlement'),
        migrations.DeleteModel(name='SettlementImport'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=state_operations),
    ]
