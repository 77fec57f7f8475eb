"""Payouts to members' bank cards: one payout per approved claim (and one top-up, 补发, per
rule correction decided in the member's favour), gathered into batches that a
second person approves, sent to the bank as a file, and settled line by line from the bank's
result file.

Numbers (TRUST R-10): a batch carries our unique ``number`` (out_batch_no) and each line our
unique ``out_detail_no``; a batch sent again after a lost answer reuses both. A payout has at
most one live line (pending, sent or paid) at a time, and at most one paid line ever: both are
partial unique indexes, so "never paid twice" is a database fact.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from huzhu.claims.models import Assessment, Claim, Consolation
from huzhu.members.models import Member
from huzhu.organisations.models import Organisation
from huzhu.pii.fields import EncryptedTextField


class PayoutKind(models.TextChoices):
    BENEFIT = "benefit", "互助金"
    TOP_UP = "top_up", "补发"  # the difference a rule correction adds to a granted claim
    CONSOLATION = "consolation", "慰问金"  # an approved consolation payment, no claim


class PayoutStatus(models.TextChoices):
    PAYABLE = "payable", "待支付"
    BATCHED = "batched", "已编入批次"
    SENT = "sent", "支付中"
    PAID = "paid", "已支付"
    FAILED = "failed", "支付失败待更正"
    # Never sent (or failed and not sent again) when its claim's stay was refunded or settled
    # again: the debt is reversed and nothing is paid (huzhu/claims/resettle.py).
    CANCELLED = "cancelled", "已作废"


class Payout(models.Model):
    # None only for a consolation payment (its own row below).
    claim = models.ForeignKey(Claim, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="payouts")
    consolation = models.OneToOneField(Consolation, null=True, blank=True,
                                       on_delete=models.PROTECT, related_name="payout")
    kind = models.CharField(max_length=12, choices=PayoutKind.choices, default=PayoutKind.BENEFIT)
    # A top-up pays the difference of one corrected assessment (null for the benefit itself).
    assessment = models.ForeignKey(Assessment, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="payouts")
    amount_fen = models.BigIntegerField("金额（分）")
    status = models.CharField(max_length=10, choices=PayoutStatus.choices,
                              default=PayoutStatus.PAYABLE)
    org_path = models.CharField(max_length=255)
    fund_region = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = "待支付互助金"
        verbose_name_plural = "待支付互助金"
        constraints = [
            # One benefit payout per claim; one top-up per corrected assessment, so a
            # claim corrected twice may be topped up twice.
            models.UniqueConstraint(fields=["claim", "kind"], name="payout_once_per_claim",
                                    condition=models.Q(kind=PayoutKind.BENEFIT)),
            models.UniqueConstraint(fields=["assessment"], name="payout_top_up_once",
                                    condition=models.Q(kind=PayoutKind.TOP_UP)),
            models.CheckConstraint(
                name="payout_top_up_has_assessment",
                condition=(models.Q(kind=PayoutKind.BENEFIT, assessment__isnull=True)
                           | models.Q(kind=PayoutKind.TOP_UP, assessment__isnull=False)
                           | models.Q(kind=PayoutKind.CONSOLATION, assessment__isnull=True))),
            # A claim's payout names its claim; a consolation payout its consolation.
            models.CheckConstraint(
                name="payout_claim_or_consolation",
                condition=(models.Q(kind=PayoutKind.CONSOLATION, claim__isnull=True,
                                    consolation__isnull=False)
                           | (~models.Q(kind=PayoutKind.CONSOLATION)
                              & models.Q(claim__isnull=False, consolation__isnull=True)))),
            models.CheckConstraint(name="payout_positive", condition=models.Q(amount_fen__gt=0)),
        ]
        indexes = [models.Index(fields=["fund_region", "status", "id"], name="payout_queue_idx")]

    def __str__(self) -> str:
        if self.claim_id is None:
            return f"支付 {self.pk}（慰问金 {self.consolation_id}）"
        return f"支付 {self.pk}（理赔 {self.claim_id}）"


class BatchStatus(models.TextChoices):
    DRAFT = "draft", "待复核"
    APPROVED = "approved", "已复核待发送"
    UNKNOWN = "unknown", "发送结果不明（待查询）"
    NOT_RECEIVED = "not_received", "银行未收到（可原号重发）"
    SENT = "sent", "已发送银行"
    DONE = "done", "已全部回盘"
    CANCELLED = "cancelled", "已作废"


class PayoutBatch(models.Model):
    number = models.CharField("批次号", max_length=32, unique=True)  # out_batch_no
    fund_region = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=12, choices=BatchStatus.choices,
                              default=BatchStatus.DRAFT)
    adapter = models.CharField("银行文件格式", max_length=30, default="generic-csv")
    line_count = models.PositiveIntegerField(default=0)
    total_fen = models.BigIntegerField(default=0)
    made_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                related_name="+", verbose_name="制单人")
    checked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+",
                                   verbose_name="复核人")
    created_at = models.DateTimeField(auto_now_add=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    send_attempts = models.PositiveSmallIntegerField(default=0)
    file_sha256 = models.CharField(max_length=64, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # The checker's reason for sending a batch the fund account cannot cover (huzhu.payouts.balance).
    over_balance_reason = models.CharField("超额发送理由", max_length=300, blank=True)
    # The paying account as it was when the batch was made (PayoutRegionSetting): the file of
    # a batch is the same bytes every time, whatever the setting becomes later.
    payer_account = models.CharField("付款账号", max_length=40, blank=True)
    payer_name = models.CharField("付款账户名称", max_length=100, blank=True)
    payer_bank_name = models.CharField("付款账户开户行", max_length=100, blank=True)
    payer_bank_cnaps = models.CharField("付款行联行号", max_length=12, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = "代付批次"
        verbose_name_plural = "代付批次"

    def __str__(self) -> str:
        return self.number


class PayeeBank(models.Model):
    """One entry of the bank list (银行名录) with its CNAPS 联行号 (12 digits, assigned by the
    PBOC). Shipped as ``huzhu/payouts/data/banks.csv`` and updated from a CSV by
    ``huzhu payouts_banks_load`` (see ``banklist.py``). ``bank_code`` is the 行别代码, the
    first three digits of the 联行号 (102 工商银行, 104 中国银行 …): two accounts at the
    same ``bank_code`` are a same-bank (本行) transfer."""

    cnaps = models.CharField("联行号", max_length=12, unique=True)
    bank_code = models.CharField("行别代码", max_length=3, db_index=True)
    name = models.CharField("银行名称", max_length=100)
    aliases = models.CharField("简称", max_length=200, blank=True)  # ";" separated
    province = models.CharField("省份", max_length=20, blank=True)
    city = models.CharField("城市", max_length=20, blank=True)
    active = models.BooleanField("有效", default=True)

    class Meta:
        ordering = ["bank_code", "cnaps"]
        verbose_name = "银行名录"
        verbose_name_plural = "银行名录"

    def __str__(self) -> str:
        return f"{self.name}（{self.cnaps}）"


class BankNameMatch(models.Model):
    """A roster's free-text 开户行 that staff tied to an entry of the bank list, so the same
    text is matched by itself in later batches."""

    text = models.CharField("开户行原文", max_length=100, unique=True)
    bank = models.ForeignKey(PayeeBank, on_delete=models.PROTECT, related_name="+")
    chosen_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+")
    chosen_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "开户行对应"
        verbose_name_plural = "开户行对应"

    def __str__(self) -> str:
        return self.text


class PayoutRegionSetting(models.Model):
    """A fund region's payout settings: the association's own account that pays (付款账户:
    the corporate account, not personal data, so kept in clear, see ADR 0017), the bank file
    format its bank takes, and the balance its fund account must keep after a batch."""

    fund_region = models.OneToOneField(Organisation, on_delete=models.PROTECT, related_name="+")
    balance_floor_fen = models.BigIntegerField("余额下限（分）", default=0)
    adapter = models.CharField("银行文件格式", max_length=30, default="generic-csv")
    payer_account = models.CharField("付款账号", max_length=40, blank=True)
    payer_name = models.CharField("付款账户名称", max_length=100, blank=True)
    payer_bank = models.ForeignKey(PayeeBank, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+", verbose_name="付款账户开户行")
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "代付设置"
        verbose_name_plural = "代付设置"
        constraints = [models.CheckConstraint(name="payout_floor_not_negative",
                                              condition=models.Q(balance_floor_fen__gte=0))]

    def __str__(self) -> str:
        return f"{self.fund_region} 代付设置"


class LineStatus(models.TextChoices):
    PENDING = "pending", "待发送"
    SENT = "sent", "已发送"
    PAID = "paid", "成功"
    FAILED = "failed", "失败"
    CANCELLED = "cancelled", "已作废"


LIVE_LINE = (LineStatus.PENDING, LineStatus.SENT, LineStatus.PAID)


class PayoutLine(models.Model):
    """One line of a batch: the card and amount as sent, kept as they were."""

    batch = models.ForeignKey(PayoutBatch, on_delete=models.PROTECT, related_name="lines")
    payout = models.ForeignKey(Payout, on_delete=models.PROTECT, related_name="lines")
    out_detail_no = models.CharField("明细号", max_length=40, unique=True)
    amount_fen = models.BigIntegerField("金额（分）")
    account_no = EncryptedTextField("收款账号")
    account_no_bidx = models.CharField(max_length=64)
    account_name = models.CharField("收款户名", max_length=60)
    bank_name = models.CharField("开户行", max_length=100, blank=True)
    # The payee bank from the bank list (blank: the roster's 开户行 matched no entry yet).
    bank_cnaps = models.CharField("收款行联行号", max_length=12, blank=True)
    status = models.CharField(max_length=10, choices=LineStatus.choices,
                              default=LineStatus.PENDING)
    bank_ref = models.CharField("银行流水号", max_length=60, blank=True)
    fail_reason = models.CharField("失败原因", max_length=200, blank=True)
    result_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = "代付明细"
        verbose_name_plural = "代付明细"
        constraints = [
            models.UniqueConstraint(fields=["payout"], name="payout_one_live_line",
                                    condition=models.Q(status__in=LIVE_LINE)),
            models.UniqueConstraint(fields=["payout"], name="payout_paid_once",
                                    condition=models.Q(status=LineStatus.PAID)),
            models.CheckConstraint(name="payout_line_positive",
                                   condition=models.Q(amount_fen__gt=0)),
        ]

    def __str__(self) -> str:
        return self.out_detail_no


class ResultFile(models.Model):
    """A result file from the bank, kept with its report; the same file again is a no-op."""

    batch = models.ForeignKey(PayoutBatch, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="results")
    file_name = models.CharField(max_length=200)
    sha256 = models.CharField(max_length=64, unique=True)
    lines = models.PositiveIntegerField(default=0)
    paid = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    repeated = models.PositiveIntegerField(default=0)
    exceptions = models.PositiveIntegerField(default=0)
    imported_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = "银行回盘文件"
        verbose_name_plural = "银行回盘文件"

    def __str__(self) -> str:
        return self.file_name


class ExceptionKind(models.TextChoices):
    UNKNOWN_LINE = "unknown_line", "回盘明细号不存在"
    OTHER_BATCH = "other_batch", "明细不属于该批次"
    AMOUNT_MISMATCH = "amount", "金额不符"
    ACCOUNT_MISMATCH = "account", "收款账号不符"
    CONFLICT = "conflict", "与已回盘结果矛盾"
    NOT_SENT = "not_sent", "明细尚未发送"


class PayoutException(models.Model):
    """A result line that could not be matched: it changes no money until staff resolve it."""

    result = models.ForeignKey(ResultFile, on_delete=models.PROTECT, related_name="exception_rows")
    batch = models.ForeignKey(PayoutBatch, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="exceptions")
    row = models.PositiveIntegerField("行号")
    out_detail_no = models.CharField(max_length=40, blank=True)
    kind = models.CharField(max_length=12, choices=ExceptionKind.choices)
    detail = models.CharField(max_length=300)
    resolved = models.BooleanField(default=False)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    resolution = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name = "对账异常"
        verbose_name_plural = "对账异常"

    def __str__(self) -> str:
        return f"{self.kind} {self.out_detail_no}"


class PayoutDayClose(models.Model):
    """A fund region's payout day closed by finance (日结), with the day's figures frozen.

    The figures are the reconciliation as of the end of that local day (``payouts_reconcile``
    with ``as_of``): cumulative since the first batch, so each close stands on its own. Once
    a region's day is closed nothing may post payout money on it (``services._day_open``),
    so the frozen figures always equal a recomputation.
    """

    fund_region = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    date = models.DateField("业务日期")
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                  related_name="+", verbose_name="日结人")
    closed_at = models.DateTimeField("日结时间")
    sent_fen = models.BigIntegerField("已发送（分）")
    sent_count = models.PositiveIntegerField("已发送笔数")
    paid_fen = models.BigIntegerField("已支付（分）")
    paid_count = models.PositiveIntegerField("已支付笔数")
    failed_fen = models.BigIntegerField("支付失败（分）")
    failed_count = models.PositiveIntegerField("支付失败笔数")
    in_flight_fen = models.BigIntegerField("在途（分）")
    in_flight_count = models.PositiveIntegerField("在途笔数")

    class Meta:
        ordering = ["-date"]
        verbose_name = "代付日结"
        verbose_name_plural = "代付日结"
        constraints = [
            models.UniqueConstraint(fields=["fund_region", "date"], name="payout_day_closed_once"),
            # TRUST R-11 holds in every frozen row: sent = paid + failed + in flight.
            models.CheckConstraint(
                name="payout_day_close_sums",
                condition=models.Q(sent_fen=models.F("paid_fen") + models.F("failed_fen")
                                   + models.F("in_flight_fen"))
                & models.Q(sent_count=models.F("paid_count") + models.F("failed_count")
                           + models.F("in_flight_count"))),
        ]

    def __str__(self) -> str:
        return f"{self.fund_region_id} {self.date:%Y-%m-%d} 日结"
