"""Enrollments, the roster files they come from, and the unit's invoices and payments."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from huzhu.members.models import Member
from huzhu.organisations.models import Organisation, Unit
from huzhu.pii.fields import EncryptedTextField
from huzhu.products.models import Offer, Period, ProductVersion


class EnrollmentStatus(models.TextChoices):
    PENDING = "pending", "待缴费"
    ACTIVE = "active", "已生效"
    CANCELLED = "cancelled", "已取消"
    REFUNDED = "refunded", "已退费"


class Source(models.TextChoices):
    ROSTER = "roster", "单位花名册"
    STAFF = "staff", "工作人员录入"
    SELF = "self", "个人参保"


class Enrollment(models.Model):
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="enrollments")
    period = models.ForeignKey(Period, on_delete=models.PROTECT, related_name="enrollments")
    product_version = models.ForeignKey(ProductVersion, on_delete=models.PROTECT,
                                        related_name="enrollments")
    offer = models.ForeignKey(Offer, on_delete=models.PROTECT, related_name="enrollments")
    unit = models.ForeignKey(Unit, null=True, blank=True, on_delete=models.PROTECT,
                             related_name="enrollments")
    roster = models.ForeignKey("Roster", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="enrollments")
    invoice = models.ForeignKey("Invoice", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="enrollments")
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.ROSTER)
    status = models.CharField(max_length=10, choices=EnrollmentStatus.choices,
                              default=EnrollmentStatus.PENDING)
    shares = models.PositiveSmallIntegerField(default=1)
    gifted = models.BooleanField("赠送参保", default=False)
    premium_fen = models.BigIntegerField()
    split = models.JSONField(default=list)  # [{"payer": kind, "fen": n}], adds up to premium_fen
    first_time = models.BooleanField("首次参保", default=True)
    continuous_since = models.DateField(null=True, blank=True)
    coverage_start = models.DateField(null=True, blank=True)
    waiting_until = models.DateField(null=True, blank=True)
    org_path = models.CharField(max_length=255, editable=False)
    fund_region = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = "参保记录"
        verbose_name_plural = "参保记录"
        constraints = [
            models.UniqueConstraint(
                fields=["member", "period", "product_version"], name="enrollment_once",
                condition=~models.Q(status__in=["cancelled", "refunded"]),
            ),
            models.CheckConstraint(name="enrollment_shares_positive",
                                   condition=models.Q(shares__gte=1)),
        ]
        indexes = [models.Index(fields=["unit", "period", "status"])]

    def __str__(self) -> str:
        return f"{self.member_id}@{self.period_id}:{self.product_version_id}"


class RosterStatus(models.TextChoices):
    VALIDATING = "validating", "校验中"
    INVALID = "invalid", "有错误"
    VALID = "valid", "校验通过"
    COMMITTED = "committed", "已提交"
    FAILED = "failed", "处理失败"


class Roster(models.Model):
    """One uploaded roster file; the same file (by SHA-256) for the same unit and period is
    one roster, so uploading it again changes nothing."""

    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="rosters")
    period = models.ForeignKey(Period, on_delete=models.PROTECT, related_name="rosters")
    file_name = models.CharField(max_length=200)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    status = models.CharField(max_length=12, choices=RosterStatus.choices,
                              default=RosterStatus.VALIDATING)
    progress = models.PositiveSmallIntegerField(default=0)
    rows_total = models.PositiveIntegerField(default=0)
    rows_valid = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)  # [{"row": n, "field": f, "message": m}]
    # Rows written as they are but named for later, as errors: a 开户行 not in the bank list.
    warnings = models.JSONField("提示", default=list, blank=True)
    skipped_rows = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    committed_at = models.DateTimeField(null=True, blank=True)
    org_path = models.CharField(max_length=255, editable=False)
    # A roster that changes the phone, card or name of more registered members than
    # HUZHU_BULK_PI_CHANGE_LIMIT waits for a second person (TRUST S-21): how many, and who
    # approved the change.
    pi_changes = models.PositiveIntegerField("修改已登记会员信息人数", default=0)
    pi_approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                       on_delete=models.SET_NULL, related_name="+")
    pi_approved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "花名册"
        verbose_name_plural = "花名册"
        constraints = [
            models.UniqueConstraint(fields=["unit", "period", "sha256"], name="roster_file_once"),
        ]

    def __str__(self) -> str:
        return self.file_name


class PiExportKind(models.TextChoices):
    TEMPLATE = "template", "花名册模板"
    ERRORS = "errors", "花名册错误清单"


class PiExport(models.Model):
    """A download with the full ID, phone or card numbers of more people than
    HUZHU_BULK_PI_EXPORT_LIMIT (TRUST S-21): held until a second person with the same reveal
    right over the unit — not the requester — approves it, then downloaded once by the
    requester within HUZHU_BULK_PI_EXPORT_HOURS. The same shape as a roster's bulk change
    (``Roster.pi_changes`` / ``pi_approved_by``). The file is made again at the download: no
    copy of the numbers waits on disk."""

    kind = models.CharField("文件", max_length=16, choices=PiExportKind.choices)
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+")
    period = models.ForeignKey(Period, null=True, blank=True, on_delete=models.PROTECT,
                               related_name="+")
    roster = models.ForeignKey(Roster, null=True, blank=True, on_delete=models.CASCADE,
                               related_name="+")
    org_path = models.CharField(max_length=255, editable=False)
    people = models.PositiveIntegerField("含完整号码人数")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                     related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    approved_at = models.DateTimeField(null=True, blank=True)
    downloaded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "完整号码导出申请"
        verbose_name_plural = "完整号码导出申请"
        indexes = [models.Index(fields=["org_path"], name="pi_export_org_path_idx")]


class InvoiceStatus(models.TextChoices):
    OPEN = "open", "待缴费"
    PARTLY_PAID = "partly_paid", "部分缴费"
    PAID = "paid", "已缴清"
    OVERPAID = "overpaid", "多缴"


# Payers whose share the unit collects and pays; the others (unions, government, donors)
# settle their subsidy with the fund directly and are receivable until they do.
UNIT_PAYERS = ("member", "employer")


class Invoice(models.Model):
    """缴费通知: what a unit owes for its enrollments of a period, split by payer."""

    unit = models.ForeignKey(Unit, null=True, blank=True, on_delete=models.PROTECT,
                             related_name="invoices")
    member = models.ForeignKey(Member, null=True, blank=True, on_delete=models.PROTECT,
                               related_name="invoices")  # individual enrollment, no unit
    period = models.ForeignKey(Period, on_delete=models.PROTECT, related_name="invoices")
    number = models.CharField(max_length=40, unique=True)
    status = models.CharField(max_length=12, choices=InvoiceStatus.choices,
                              default=InvoiceStatus.OPEN)
    total_fen = models.BigIntegerField()
    due_fen = models.BigIntegerField()  # the unit's part: member + employer shares
    paid_fen = models.BigIntegerField(default=0)
    lines = models.JSONField(default=list)  # [{"payer": kind, "fen": n, "members": k}]
    org_path = models.CharField(max_length=255, editable=False)
    fund_region = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "缴费通知"
        verbose_name_plural = "缴费通知"
        constraints = [
            models.CheckConstraint(name="invoice_has_one_payer", condition=(
                models.Q(unit__isnull=False, member__isnull=True)
                | models.Q(unit__isnull=True, member__isnull=False))),
            models.CheckConstraint(name="invoice_amounts_sane", condition=(
                models.Q(total_fen__gte=0) & models.Q(due_fen__gte=0) & models.Q(paid_fen__gte=0)
                & models.Q(due_fen__lte=models.F("total_fen")))),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def outstanding_fen(self) -> int:
        return max(self.due_fen - self.paid_fen, 0)

    @property
    def overpaid_fen(self) -> int:
        return max(self.paid_fen - self.due_fen, 0)

    @property
    def payer_label(self) -> str:
        """Who pays this bill: the unit, or for an individual enrollment the member."""
        if self.unit is not None:
            return self.unit.name
        assert self.member is not None  # invoice_has_one_payer
        return self.member.name


class Payment(models.Model):
    """A bank transfer registered against an invoice; its receipt number is its own."""

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="payments")
    bank_ref = models.CharField("银行流水号", max_length=60)
    amount_fen = models.BigIntegerField()
    paid_on = models.DateField("到账日期")
    payer_name = models.CharField("付款单位", max_length=200)
    receipt_serial = models.CharField(max_length=40, unique=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True,
                                    on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        verbose_name = "缴费记录"
        verbose_name_plural = "缴费记录"
        constraints = [
            models.UniqueConstraint(fields=["invoice", "bank_ref"], name="payment_once"),
            models.CheckConstraint(name="payment_positive", condition=models.Q(amount_fen__gt=0)),
        ]

    def __str__(self) -> str:
        return self.receipt_serial


class BankStatement(models.Model):
    """A fund account's statement (对账单) as the bank exported it, its credits parsed
    (:mod:`huzhu.enrollment.statement`); the lines, with payers' names and accounts, encrypted."""

    fund_region = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    file_name = models.CharField(max_length=200)
    sha256 = models.CharField(max_length=64)
    lines = EncryptedTextField("收入记录")
    line_count = models.PositiveIntegerField(default=0)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True,
                                    on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "银行对账单"
        verbose_name_plural = "银行对账单"
        constraints = [models.UniqueConstraint(fields=["fund_region", "sha256"],
                                               name="statement_once")]

    def __str__(self) -> str:
        return self.file_name
