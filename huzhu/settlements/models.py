"""Settlement records from the medical insurance bureau, as received: one row per version of
a record (:class:`Settlement`), the files they came in (:class:`SettlementImport`) and the
narrow row of the decision each matched one is owed, then made (:class:`SettlementDecision`;
the decision itself is the claims app's, docs/adr/0008).

A settlement record is immutable: a corrected record (same ``setl_id``, other content) is a
new row with the next ``version``; the raw payload is kept, encrypted, exactly as received.
Amounts are integer fen named ``<national field>_fen``.

The tables were the claims app's and keep their names (``claims_settlement`` …); so does the
associated data of the encrypted fields (``claims.settlement.<field>``), which is what the
stored ciphertexts were sealed with.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

from huzhu.members.models import Member
from huzhu.organisations.models import Organisation
from huzhu.pii.fields import EncryptedTextField

AAD = "claims.settlement."  # the encrypted fields' associated data, as when stored under claims

# The national platform's amount fields (RULES.md §3.1), each stored as ``<name>_fen``.
AMOUNT_FIELDS = (
    "medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt",
    "act_pay_dedc", "hifp_pay", "cvlserv_pay", "hifes_pay", "hifmi_pay", "hifob_pay", "maf_pay",
    "hosp_part_amt", "oth_pay", "fund_pay_sumamt", "psn_part_amt", "acct_pay", "psn_cash_pay",
    "psn_selfpay", "psn_ownpay",
)


class SettlementSource(models.TextChoices):
    FILE = "file", "文件导入"
    API = "api", "接口推送"
    AGENT = "agent", "经办录入"


class DecisionKind(models.TextChoices):
    CLAIMS = "claims", "已生成免申即享理赔"
    NOT_COVERED = "not_covered", "未参加免申即享产品"
    CLAIMED = "claimed", "已有理赔"
    REASSESSED = "reassessed", "更正后重新核算"
    REFUNDED = "refunded", "已退费，不理赔"
    SUPERSEDED = "superseded", "同一就诊以另一结算为准"


class SettlementImport(models.Model):
    """One imported file and its per-record report."""

    file_name = models.CharField(max_length=200)
    sha256 = models.CharField(max_length=64, db_index=True)
    records = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    versions = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)  # [{"record": n, "field": f, "message": m}]
    fund_region = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        db_table = "claims_settlementimport"  # the table as it was, under the claims app
        verbose_name = "结算数据导入"
        verbose_name_plural = "结算数据导入"


class Settlement(models.Model):
    """One version of one settlement record (医保结算记录)."""

    setl_id = models.CharField("结算ID", max_length=60)
    version = models.PositiveIntegerField(default=1)
    is_current = models.BooleanField(default=True)
    content_hash = models.CharField(max_length=64)
    raw = EncryptedTextField("原始数据", aad=AAD + "raw")  # the record as received (JSON text), never changed
    mdtrt_id = models.CharField("就诊ID", max_length=60, blank=True)
    psn_no = models.CharField("人员编号", max_length=60, blank=True)
    psn_name = models.CharField("姓名", max_length=60, blank=True)
    certno = EncryptedTextField("证件号码", aad=AAD + "certno")
    certno_bidx = models.CharField(max_length=64)  # indexed in Meta: exact lookups only
    gend = models.CharField("性别", max_length=1, blank=True)
    brdy = models.DateField("出生日期", null=True, blank=True)
    insutype = models.CharField("险种类型", max_length=6)
    med_type = models.CharField("医疗类别", max_length=10, blank=True)
    begndate = models.DateField("入院日期")
    enddate = models.DateField("出院日期")
    setl_time = models.DateTimeField("结算时间")
    fixmedins_code = models.CharField("定点医药机构编号", max_length=30, blank=True)
    fixmedins_name = models.CharField("定点医药机构名称", max_length=200, blank=True)
    hosp_lv = models.PositiveSmallIntegerField("医院等级", null=True, blank=True)
    diag_code = EncryptedTextField("诊断代码", null=True, blank=True, aad=AAD + "diag_code")
    diag_name = EncryptedTextField("诊断名称", null=True, blank=True, aad=AAD + "diag_name")
    medfee_sumamt_fen = models.BigIntegerField()
    fulamt_ownpay_amt_fen = models.BigIntegerField(default=0)
    overlmt_selfpay_fen = models.BigIntegerField(default=0)
    preselfpay_amt_fen = models.BigIntegerField(default=0)
    inscp_scp_amt_fen = models.BigIntegerField(default=0)
    act_pay_dedc_fen = models.BigIntegerField(default=0)
    hifp_pay_fen = models.BigIntegerField(default=0)
    cvlserv_pay_fen = models.BigIntegerField(default=0)
    hifes_pay_fen = models.BigIntegerField(default=0)
    hifmi_pay_fen = models.BigIntegerField(default=0)
    hifob_pay_fen = models.BigIntegerField(default=0)
    maf_pay_fen = models.BigIntegerField(default=0)
    hosp_part_amt_fen = models.BigIntegerField(default=0)
    oth_pay_fen = models.BigIntegerField(default=0)
    fund_pay_sumamt_fen = models.BigIntegerField(default=0)
    psn_part_amt_fen = models.BigIntegerField(default=0)
    acct_pay_fen = models.BigIntegerField(default=0)
    psn_cash_pay_fen = models.BigIntegerField(default=0)
    psn_selfpay_fen = models.BigIntegerField(null=True, blank=True)
    psn_ownpay_fen = models.BigIntegerField(null=True, blank=True)
    member = models.ForeignKey(Member, null=True, blank=True, on_delete=models.PROTECT,
                               related_name="settlements")
    matched_at = models.DateTimeField(null=True, blank=True)
    org_path = models.CharField(max_length=255, blank=True)  # the member's, once matched
    fund_region = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    source = models.CharField(max_length=10, choices=SettlementSource.choices)
    batch = models.ForeignKey(SettlementImport, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="settlements")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "claims_settlement"
        ordering = ["setl_id", "version"]
        verbose_name = "结算记录"
        verbose_name_plural = "结算记录"
        constraints = [
            models.UniqueConstraint(fields=["setl_id", "version"], name="settlement_version_once"),
            models.UniqueConstraint(fields=["setl_id", "content_hash"],
                                    name="settlement_content_once"),
            models.UniqueConstraint(fields=["setl_id"], condition=models.Q(is_current=True),
                                    name="settlement_one_current"),
        ]
        indexes = [
            models.Index(fields=["fund_region", "member", "id"], name="settlement_queue_idx"),
            models.Index(fields=["member", "begndate"], name="settlement_member_idx"),
            # the settlements of one stay (docs/adr/0015); a plain index, as below
            models.Index(fields=["mdtrt_id"], name="settlement_mdtrt_idx"),
            # A plain index (db_index would add a LIKE-pattern twin on PostgreSQL that no
            # query uses and every insert pays for).
            models.Index(fields=["certno_bidx"], name="settlement_certno_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.setl_id} v{self.version}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not self._state.adding:
            raise ValueError("结算记录不可修改：更正须作为新版本导入")
        super().save(*args, **kwargs)

    def amounts(self) -> dict[str, int]:
        """Amounts in fen by national field name (absent 4101 fields left out)."""
        out = {}
        for name in AMOUNT_FIELDS:
            value = getattr(self, f"{name}_fen")
            if value is not None:
                out[name] = value
        return out


class SettlementDecision(models.Model):
    """The decision a matched settlement is owed, then made (docs/adr/0008): created with the
    settlement (or when it is matched later) with ``decided_at`` empty, and set in the same
    transaction as that settlement's automatic claims (or its claims assessed again). An owed
    row of a current settlement is work still to do (a crash, a push cut short): the worker
    and a re-import finish it, ``huzhu claims verify`` reports it.

    A narrow row of its own, so that deciding 100,000 settlements updates these and not the
    wide settlement rows with their dozen indexes."""

    settlement = models.OneToOneField(Settlement, primary_key=True, on_delete=models.CASCADE,
                                      related_name="decided")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision = models.CharField(max_length=12, choices=DecisionKind.choices, blank=True,
                                default="")

    class Meta:
        db_table = "claims_settlementdecision"
        verbose_name = "结算记录处理结果"
        verbose_name_plural = "结算记录处理结果"
        indexes = [
            models.Index(fields=["settlement"], name="settlement_owed_idx",
                         condition=models.Q(decided_at__isnull=True)),
        ]


def owed() -> Any:
    """A filter on settlements: current and still owed their decision."""
    from django.db.models import Exists, OuterRef

    return models.Q(Exists(SettlementDecision.objects.filter(
        settlement=OuterRef("pk"), decided_at__isnull=True)), is_current=True)
