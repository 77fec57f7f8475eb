"""The fund's double-entry ledger: accounts, transactions, legs and maintained balances.

Sign convention: a leg's ``amount_fen`` is positive for a debit (借) and negative for a credit
(贷); every transaction's legs sum to zero. An asset's balance is therefore positive; income,
liabilities and the fund balance are negative (credit-normal) and are shown negated.

The database enforces the zero sum (migration 0002): each transaction declares ``leg_count``;
on PostgreSQL a deferred constraint trigger checks count and sum at commit and a statement
trigger refuses legs beyond the declared count or an unbalanced complete set; on SQLite row
triggers do the same when the last declared leg arrives. Posted transactions and legs are never
updated or deleted (triggers refuse it); a correction is a reversing transaction.
See ``docs/ledger.md`` and ``docs/adr/0003-ledger-balances.md``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from huzhu.organisations.models import Organisation


class Category(models.TextChoices):
    ASSET = "asset", "资产"
    LIABILITY = "liability", "负债"
    EQUITY = "equity", "基金"
    INCOME = "income", "收入"
    EXPENSE = "expense", "支出"
    INTERNAL = "internal", "内部往来"


class AccountKind(models.TextChoices):
    BANK = "bank", "基金专户存款"
    SUBSIDY_RECEIVABLE = "subsidy_receivable", "应收补贴款"
    RECOVERY_RECEIVABLE = "recovery_receivable", "应收追回互助金"
    BENEFIT_PAYABLE = "benefit_payable", "应付互助金"
    ADVANCE_RECEIVED = "advance_received", "预收互助金"
    PAYOUT_IN_TRANSIT = "payout_in_transit", "在途代付款"
    PENDING_RESERVE = "pending_reserve", "未决赔款准备金"
    FUND_BALANCE = "fund_balance", "基金结余"
    PREMIUM_INCOME = "premium_income", "互助金收入"
    BENEFIT_EXPENSE = "benefit_expense", "互助金支出（已赔付）"
    RESERVE_CHANGE = "reserve_change", "提取未决赔款准备金"
    REFUND = "refund", "退费支出"
    CONSOLATION_EXPENSE = "consolation_expense", "慰问金支出"
    RISK_SHARING = "risk_sharing", "风险共担往来"


# The chart of accounts: (code, category) per kind. Codes follow the usual 1/2/3/4/5 prefixes of
# Chinese non-profit bookkeeping so finance staff recognise them; documented in docs/ledger.md.
CHART: dict[str, tuple[str, str]] = {
    AccountKind.BANK: ("1002", Category.ASSET),
    AccountKind.SUBSIDY_RECEIVABLE: ("1221", Category.ASSET),
    # Benefit paid beyond what a rule correction allows, owed back by the member (追回).
    AccountKind.RECOVERY_RECEIVABLE: ("1231", Category.ASSET),
    AccountKind.BENEFIT_PAYABLE: ("2202", Category.LIABILITY),
    # Money a unit has paid before its invoice is settled, and over-payments owed back.
    AccountKind.ADVANCE_RECEIVED: ("2203", Category.LIABILITY),
    # Benefits sent to the bank in a payout batch and not yet confirmed paid or failed.
    AccountKind.PAYOUT_IN_TRANSIT: ("2204", Category.LIABILITY),
    AccountKind.PENDING_RESERVE: ("2701", Category.LIABILITY),
    AccountKind.FUND_BALANCE: ("3101", Category.EQUITY),
    AccountKind.PREMIUM_INCOME: ("4101", Category.INCOME),
    AccountKind.BENEFIT_EXPENSE: ("5101", Category.EXPENSE),
    AccountKind.RESERVE_CHANGE: ("5102", Category.EXPENSE),
    AccountKind.REFUND: ("5103", Category.EXPENSE),
    # Discretionary consolation payments (慰问金), approved by two people; not benefits.
    AccountKind.CONSOLATION_EXPENSE: ("5104", Category.EXPENSE),
    AccountKind.RISK_SHARING: ("5201", Category.INTERNAL),
}


class PayerKind(models.TextChoices):
    MEMBER = "member", "职工个人"
    EMPLOYER = "employer", "用人单位"
    UNION_GRASSROOTS = "union_grassroots", "基层工会"
    UNION_COUNTY = "union_county", "县（区）总工会"
    UNION_CITY = "union_city", "市总工会"
    UNION_PROVINCE = "union_province", "省（区）总工会"
    UNION_INDUSTRY = "union_industry", "产业工会"
    GOVERNMENT = "government", "政府补贴"
    DONATION = "donation", "社会捐赠"


class Account(models.Model):
    """One account of a fund region's books, kept by ``org`` (the region itself or a sub-pool).

    Premium income accounts are split by payer kind; income and benefit accounts by product and,
    where the scheme needs it, by period.
    """

    fund_region = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="+", verbose_name="统筹区"
    )
    org = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="ledger_accounts",
        verbose_name="核算单位",
    )
    org_path = models.CharField(max_length=255, db_index=True, editable=False)
    kind = models.CharField("科目类别", max_length=30, choices=AccountKind.choices)
    payer_kind = models.CharField("缴费方", max_length=30, choices=PayerKind.choices, blank=True)
    product_code = models.CharField("保障项目", max_length=40, blank=True)
    period_code = models.CharField("期别", max_length=20, blank=True)
    code = models.CharField("科目代码", max_length=60)
    name = models.CharField("科目名称", max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["org_path", "code", "id"]
        verbose_name = "会计科目"
        verbose_name_plural = "会计科目"
        constraints = [
            models.UniqueConstraint(
                fields=["org", "kind", "payer_kind", "product_code", "period_code"],
                name="ledger_account_unique_dimensions",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def category(self) -> str:
        return CHART[self.kind][1]

    @property
    def credit_normal(self) -> bool:
        return self.category not in {Category.ASSET, Category.EXPENSE}


class Batch(models.Model):
    """One chunk of the bulk path. On PostgreSQL its deferred trigger checks all of the chunk's
    transactions in one query at commit, instead of one trigger call per transaction (ADR 0003).
    ``created_txid`` is stamped by a trigger so a batch can only be joined in its own database
    transaction.
    """

    created_at = models.DateTimeField(auto_now_add=True)
    created_txid = models.BigIntegerField(null=True, editable=False)

    class Meta:
        ordering = ["-id"]
        verbose_name = "批量记账批次"
        verbose_name_plural = "批量记账批次"

    def __str__(self) -> str:
        return f"批次 #{self.pk}"


class Transaction(models.Model):
    """A posted journal entry. Inserted once, never changed (triggers refuse UPDATE/DELETE)."""

    # Unique by a constraint rather than ``unique=True``: on PostgreSQL that would add a
    # LIKE-pattern twin of the index that no query uses and every posting pays for.
    key = models.CharField("幂等键", max_length=200)
    # No index: nothing looks transactions up by region or date (balances are read from the
    # maintained tables, movements through the legs' (account, date) index).
    fund_region = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+",
                                    db_index=False)
    memo = models.CharField("摘要", max_length=200, blank=True)
    business_date = models.DateField("业务日期")
    recorded_at = models.DateTimeField("记账时间")
    source_type = models.CharField("来源类型", max_length=60, blank=True)
    source_id = models.CharField("来源编号", max_length=64, blank=True)
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_label = models.CharField("记账人", max_length=150, blank=True)
    reverses = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by",
        verbose_name="冲销的凭证",
    )
    # No foreign-key constraint: on PostgreSQL the join trigger of migration 0004 already
    # refuses a batch that does not exist (or was not opened in the same database
    # transaction), and batches are append-only; the per-row check cost every bulk posting.
    batch = models.ForeignKey(Batch, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="transactions", db_constraint=False)
    leg_count = models.PositiveSmallIntegerField()
    legs_hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["-id"]
        verbose_name = "记账凭证"
        verbose_name_plural = "记账凭证"
        indexes = [models.Index(fields=["source_type", "source_id"])]
        constraints = [
            models.UniqueConstraint(fields=["key"], name="ledger_transaction_key_unique"),
            models.CheckConstraint(condition=models.Q(leg_count__gte=2),
                                   name="ledger_transaction_two_legs"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.memo}"


class Leg(models.Model):
    """One debit (positive) or credit (negative) line of a transaction."""

    transaction = models.ForeignKey(Transaction, on_delete=models.PROTECT, related_name="legs")
    # No index of its own: the (account, business_date) index below serves every lookup.
    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="legs", db_index=False
    )
    amount_fen = models.BigIntegerField("金额（分）")
    # A copy of the transaction's date so balances replay from this table alone.
    business_date = models.DateField()

    class Meta:
        ordering = ["id"]
        verbose_name = "分录"
        verbose_name_plural = "分录"
        indexes = [models.Index(fields=["account", "business_date"])]
        constraints = [
            models.CheckConstraint(condition=~models.Q(amount_fen=0), name="ledger_leg_nonzero"),
        ]

    def __str__(self) -> str:
        return f"{self.account_id}: {self.amount_fen}"


class AccountBalance(models.Model):
    """The running balance of one account: the sum of all its legs (``ledger verify`` proves it)."""

    account = models.OneToOneField(
        Account, primary_key=True, on_delete=models.PROTECT, related_name="balance"
    )
    balance_fen = models.BigIntegerField(default=0)
    leg_count = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = "科目余额"
        verbose_name_plural = "科目余额"

    def __str__(self) -> str:
        return f"{self.account_id}: {self.balance_fen}"


class DailyBalance(models.Model):
    """The net movement of one account on one business date.

    A balance as of a date is the running balance minus the movements after that date, so a
    back-dated posting touches one row per account instead of every later day.
    """

    # No index of its own: the (account, day) unique index serves every lookup by account.
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="daily",
                                db_index=False)
    day = models.DateField()
    delta_fen = models.BigIntegerField(default=0)
    leg_count = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["account_id", "day"]
        verbose_name = "科目日发生额"
        verbose_name_plural = "科目日发生额"
        constraints = [
            models.UniqueConstraint(fields=["account", "day"], name="ledger_daily_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.day}: {self.delta_fen}"


class MonthlyBalance(models.Model):
    """The net movement of one account in one calendar month (``month`` is its first day).

    A balance as of a date is the running balance minus the months after the date's month and
    the days after the date within it, so an as-of query reads at most ~12 rows a year plus
    half a month of daily rows per account (ADR 0003). Kept with the daily rows, in the same
    database transaction and lock order.
    """

    # No index of its own: the (account, month) unique index serves every lookup by account.
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="monthly",
                                db_index=False)
    month = models.DateField()
    delta_fen = models.BigIntegerField(default=0)
    leg_count = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["account_id", "month"]
        verbose_name = "科目月发生额"
        verbose_name_plural = "科目月发生额"
        constraints = [
            models.UniqueConstraint(fields=["account", "month"], name="ledger_monthly_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.month:%Y-%m}: {self.delta_fen}"


class RiskSharingRatio(models.Model):
    """The city's share of a county's period loss in a city-level pool (资金统筹、风险共担).

    ``county`` empty is the pool's default; a county row overrides it. Ratios in basis points.
    """

    pool = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="+", verbose_name="统筹区"
    )
    county = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name="县（区）",
    )
    city_share_bp = models.PositiveIntegerField("市级分担比例（基点）")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pool_id", "county_id"]
        verbose_name = "风险共担比例"
        verbose_name_plural = "风险共担比例"
        constraints = [
            models.UniqueConstraint(fields=["pool", "county"], name="ledger_risk_ratio_unique"),
            models.UniqueConstraint(fields=["pool"], condition=models.Q(county__isnull=True),
                                    name="ledger_risk_ratio_default_unique"),
            models.CheckConstraint(condition=models.Q(city_share_bp__lte=10_000),
                                   name="ledger_risk_ratio_at_most_one"),
        ]

    def __str__(self) -> str:
        return f"{self.pool_id}/{self.county_id}: {self.city_share_bp}"


class RiskSharingRun(models.Model):
    """A period-end risk sharing (风险共担) of a city pool: previewed and proposed by one finance
    officer, confirmed by another, who posts exactly the figures previewed (ADR 0016)."""

    pool = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+",
                             verbose_name="统筹区")
    period_code = models.CharField("期别", max_length=20)
    start = models.DateField("起始日期")
    end = models.DateField("截止日期")
    preview = models.JSONField(default=list)  # [{"county": id, "name": …, "share_fen": n, …}]
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    related_name="+")
    confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = "风险共担结算"
        verbose_name_plural = "风险共担结算"
        constraints = [
            models.CheckConstraint(
                name="risk_sharing_two_people",
                condition=models.Q(confirmed_by__isnull=True)
                | ~models.Q(confirmed_by=models.F("proposed_by"))),
        ]

    def __str__(self) -> str:
        return f"{self.pool_id} {self.period_code}"
