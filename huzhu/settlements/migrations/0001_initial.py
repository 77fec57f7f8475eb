"""The settlement models move here from the claims app (issue 12, part 6): in Django's state
only. Their tables stay as they are (``claims_settlement``, ``claims_settlementimport``,
``claims_settlementdecision``, made by claims 0001-0007), so no data moves; claims 0009 then
removes them from the claims app's state."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

import huzhu.pii.fields


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('claims', '0008_claim_status_ends_at_decision'),
        ('members', '0002_member_scope_pattern_ops'),
        ('organisations', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    state_operations = [
        migrations.CreateModel(
            name='SettlementImport',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('file_name', models.CharField(max_length=200)),
                ('sha256', models.CharField(db_index=True, max_length=64)),
                ('records', models.PositiveIntegerField(default=0)),
                ('created', models.PositiveIntegerField(default=0)),
                ('versions', models.PositiveIntegerField(default=0)),
                ('unchanged', models.PositiveIntegerField(default=0)),
                ('error_count', models.PositiveIntegerField(default=0)),
                ('errors', models.JSONField(blank=True, default=list)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('fund_region', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='organisations.organisation')),
            ],
            options={
                'verbose_name': '结算数据导入',
                'verbose_name_plural': '结算数据导入',
                'db_table': 'claims_settlementimport',
                'ordering': ['-created_at'],
            },
        ),
        migrations.CreateModel(
            name='Settlement',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('setl_id', models.CharField(max_length=60, verbose_name='结算ID')),
                ('version', models.PositiveIntegerField(default=1)),
                ('is_current', models.BooleanField(default=True)),
                ('content_hash', models.CharField(max_length=64)),
                ('raw', huzhu.pii.fields.EncryptedTextField(aad='claims.settlement.raw', editable=True, verbose_name='原始数据')),
                ('mdtrt_id', models.CharField(blank=True, max_length=60, verbose_name='就诊ID')),
                ('psn_no', models.CharField(blank=True, max_length=60, verbose_name='人员编号')),
                ('psn_name', models.CharField(blank=True, max_length=60, verbose_name='姓名')),
                ('certno', huzhu.pii.fields.EncryptedTextField(aad='claims.settlement.certno', editable=True, verbose_name='证件号码')),
                ('certno_bidx', models.CharField(max_length=64)),
                ('gend', models.CharField(blank=True, max_length=1, verbose_name='性别')),
                ('brdy', models.DateField(blank=True, null=True, verbose_name='出生日期')),
                ('insutype', models.CharField(max_length=6, verbose_name='险种类型')),
                ('med_type', models.CharField(blank=True, max_length=10, verbose_name='医疗类别')),
                ('begndate', models.DateField(verbose_name='入院日期')),
                ('enddate', models.DateField(verbose_name='出院日期')),
                ('setl_time', models.DateTimeField(verbose_name='结算时间')),
                ('fixmedins_code', models.CharField(blank=True, max_length=30, verbose_name='定点医药机构编号')),
                ('fixmedins_name', models.CharField(blank=True, max_length=200, verbose_name='定点医药机构名称')),
                ('hosp_lv', models.PositiveSmallIntegerField(blank=True, null=True, verbose_name='医院等级')),
                ('diag_code', huzhu.pii.fields.EncryptedTextField(aad='claims.settlement.diag_code', blank=True, editable=True, null=True, verbose_name='诊断代码')),
                ('diag_name', huzhu.pii.fields.EncryptedTextField(aad='claims.settlement.diag_name', blank=True, editable=True, null=True, verbose_name='诊断名称')),
                ('medfee_sumamt_fen', models.BigIntegerField()),
                ('fulamt_ownpay_amt_fen', models.BigIntegerField(default=0)),
                ('overlmt_selfpay_fen', models.BigIntegerField(default=0)),
                ('preselfpay_amt_fen', models.BigIntegerField(default=0)),
                ('inscp_scp_amt_fen', models.BigIntegerField(default=0)),
                ('act_pay_dedc_fen', models.BigIntegerField(default=0)),
                ('hifp_pay_fen', models.BigIntegerField(default=0)),
                ('cvlserv_pay_fen', models.BigIntegerField(default=0)),
                ('hifes_pay_fen', models.BigIntegerField(default=0)),
                ('hifmi_pay_fen', models.BigIntegerField(default=0)),
                ('hifob_pay_fen', models.BigIntegerField(default=0)),
                ('maf_pay_fen', models.BigIntegerField(default=0)),
                ('hosp_part_amt_fen', models.BigIntegerField(default=0)),
                ('oth_pay_fen', models.BigIntegerField(default=0)),
                ('fund_pay_sumamt_fen', models.BigIntegerField(default=0)),
                ('psn_part_amt_fen', models.BigIntegerField(default=0)),
                ('acct_pay_fen', models.BigIntegerField(default=0)),
                ('psn_cash_pay_fen', models.BigIntegerField(default=0)),
                ('psn_selfpay_fen', models.BigIntegerField(blank=True, null=True)),
                ('psn_ownpay_fen', models.BigIntegerField(blank=True, null=True)),
                ('matched_at', models.DateTimeField(blank=True, null=True)),
                ('org_path', models.CharField(blank=True, max_length=255)),
                ('source', models.CharField(choices=[('file', '文件导入'), ('api', '接口推送'), ('agent', '经办录入')], max_length=10)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('fund_region', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='organisations.organisation')),
                ('member', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='settlements', to='members.member')),
                ('batch', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='settlements', to='settlements.settlementimport')),
            ],
            options={
                'verbose_name': '结算记录',
                'verbose_name_plural': '结算记录',
                'db_table': 'claims_settlement',
                'ordering': ['setl_id', 'version'],
            },
        ),
        migrations.CreateModel(
            name='SettlementDecision',
            fields=[
                ('settlement', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='decided', serialize=False, to='settlements.settlement')),
                ('decided_at', models.DateTimeField(blank=True, null=True)),
                ('decision', models.CharField(blank=True, choices=[('claims', '已生成免申即享理赔'), ('not_covered', '未参加免申即享产品'), ('claimed', '已有理赔'), ('reassessed', '更正后重新核算')], default='', max_length=12)),
            ],
            options={
                'verbose_name': '结算记录处理结果',
                'verbose_name_plural': '结算记录处理结果',
                'db_table': 'claims_settlementdecision',
                'indexes': [models.Index(condition=models.Q(('decided_at__isnull', True)), fields=['settlement'], name='settlement_owed_idx')],
            },
        ),
        migrations.AddIndex(
            model_name='settlement',
            index=models.Index(fields=['fund_region', 'member', 'id'], name='settlement_queue_idx'),
        ),
        migrations.AddIndex(
            model_name='settlement',
            index=models.Index(fields=['member', 'begndate'], name='settlement_member_idx'),
        ),
        migrations.AddIndex(
            model_name='settlement',
            index=models.Index(fields=['certno_bidx'], name='settlement_certno_idx'),
        ),
        migrations.AddConstraint(
            model_name='settlement',
            constraint=models.UniqueConstraint(fields=('setl_id', 'version'), name='settlement_version_once'),
        ),
        migrations.AddConstraint(
            model_name='settlement',
            constraint=models.UniqueConstraint(fields=('setl_id', 'content_hash'), name='settlement_content_once'),
        ),
        migrations.AddConstraint(
            model_name='settlement',
            constraint=models.UniqueConstraint(condition=models.Q(('is_current', True)), fields=('setl_id',), name='settlement_one_current'),
        ),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=state_operations),
    ]
