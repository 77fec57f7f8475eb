"""Claims made on settlement records (the settlements app's), and the assessments the rules
engine gives each claim. Amounts are integer fen named ``<name>_fen``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

from huzhu.enrollment.models import Enrollment
from huzhu.members.models import Member
from huzhu.organisations.models import Organisation
from huzhu.pii.fields import EncryptedTextField
from huzhu.products.models import Period, ProductVersion
from huzhu.settlements.models import Settlement

from .status import ClaimStatus


class ClaimSource(models.TextChoices):
    MEMBER = "member", "会员申请"
    AGENT = "agent", "单位经办人代办"
    AGENCY = "agency", "县级代办点"
    AUTO = "auto", "免申即享"


class ClaimPolicy(models.Model):
    """Per-product claim settings of a fund region (the products app stays rule documents
    only). A row without a fund region is the product's default everywhere; a region's own row
    replaces it whole for that region's claims. Without either, :data:`DEFAULT_POLICY`
    applies (:func:`huzhu.claims.risk.policy_for`). A claim records the settings it was filed
    under (``Claim.policy``): a change applies to claims filed after it (docs/adr)."""

    fund_region = models.ForeignKey(Organisation, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+", verbose_name="统筹区")
    product_code = models.CharField("产品编号", max_length=80)
    auto_claim = models.BooleanField("免申即享", default=False)
    review_threshold_fen = models.BigIntegerField("人工审核金额（分）", default=2_000_000)
    sample_percent = models.PositiveSmallIntegerField("随机抽检比例（%）", default=0)
    frequent_claims = models.PositiveSmallIntegerField("频繁理赔次数", default=3)
    frequent_days = models.PositiveSmallIntegerField("频繁理赔天数", default=30)
    deadline_days = models.PositiveIntegerField("结算后申请期限（天）", null=True, blank=True)

    class Meta:
        verbose_name = "理赔设置"
        verbose_name_plural = "理赔设置"
        constraints = [
            models.CheckConstraint(name="claim_policy_sample_pct",
                                   condition=models.Q(sample_percent__lte=100)),
            models.UniqueConstraint(fields=["fund_region", "product_code"],
                                    condition=models.Q(fund_region__isnull=False),
                                    name="claim_policy_region_product"),
            models.UniqueConstraint(fields=["product_code"],
                                    condition=models.Q(fund_region__isnull=True),
                                    name="claim_policy_default_product"),
        ]

    def __str__(self) -> str:
        return self.product_code


class ClaimKind(models.TextChoices):
    """What a claim is for: a stay the bureau settled, or an event of the catalog's other
    benefits (docs/adr/0016). The rules engine's claim type and subject follow from it."""

    HOSPITAL = "hospital", "住院医疗"
    DIAGNOSIS = "diagnosis", "确诊重大疾病/女职工特殊疾病"
    CONTINUED = "continued", "次年继续治疗"
    DISABILITY = "disability", "意外伤残"
    DEATH = "death", "身故（抚恤金）"
    FAMILY = "family", "配偶或子女患病"


class Relation(models.TextChoices):
    SPOUSE = "spouse", "配偶"
    CHILD = "child", "子女"
    PARENT = "parent", "父母"
    SIBLING = "sibling", "兄弟姐妹"
    OTHER = "other", "其他法定继承人"


DEFAULT_POLICY = ClaimPolicy(product_code="", auto_claim=False, review_threshold_fen=2_000_000,
                             sample_percent=0, frequent_claims=3, frequent_days=30,
                             deadline_days=None)


class Claim(models.Model):
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="claims")
    # None for a claim on an event (diagnosis, accident, death, family): see ClaimEvent.
    settlement = models.ForeignKey(Settlement, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="claims")
    # The settlement's setl_id, or an event claim's key (one claim per event and product).
    setl_id = models.CharField(max_length=60)  # indexed in Meta: exact lookups only
    kind = models.CharField("理赔类型", max_length=12, choices=ClaimKind.choices,
                            default=ClaimKind.HOSPITAL)
    product_code = models.CharField(max_length=80)
    product_version = models.ForeignKey(ProductVersion, on_delete=models.PROTECT,
                                        related_name="+")
    enrollment = models.ForeignKey(Enrollment, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="claims")
    period = models.ForeignKey(Period, null=True, blank=True, on_delete=models.PROTECT,
                               related_name="+")
    event_date = models.DateField("事件日期")
    source = models.CharField(max_length=10, choices=ClaimSource.choices)
    status = models.CharField(max_length=12, choices=ClaimStatus.choices,
                              default=ClaimStatus.SUBMITTED)
    payable_fen = models.BigIntegerField(default=0)
    risk = models.JSONField(default=list, blank=True)  # [{"code": c, "message": zh}]
    assessment = models.ForeignKey("Assessment", null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")  # the current one
    org_path = models.CharField(max_length=255)
    fund_region = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    review_level = models.PositiveSmallIntegerField("审核级次", default=0)  # 0: not in review
    due_on = models.DateField("审核时限", null=True, blank=True)
    # The Beijing date the claim entered its review level: the deadline counts from it, and is
    # counted again from it when a year's holiday schedule is entered.
    level_since = models.DateField("进入本级日期", null=True, blank=True)
    # The claim settings it was filed under (huzhu.claims.risk.policy_stamp): a later change of
    # the region's settings never re-routes it ({} for claims filed before they were kept).
    policy = models.JSONField("适用理赔设置", default=dict, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = "理赔"
        verbose_name_plural = "理赔"
        indexes = [
            models.Index(fields=["org_path", "id"], name="claim_scope_idx"),
            models.Index(fields=["member", "product_code", "period"], name="claim_usage_idx"),
            models.Index(fields=["status", "id"], name="claim_status_idx"),
            models.Index(fields=["status", "review_level", "due_on", "id"],
                         name="claim_queue_idx"),
        ]
        constraints = [
            # One claim per settlement and product, whoever files it and however often.
            models.UniqueConstraint(fields=["setl_id", "product_code"], name="claim_once"),
        ]

    # Not fields. The status as loaded (None: not loaded), so save() refuses a status changed
    # outside claim_transition.
    _loaded_status: str | None
    # Set by the member's own claims page (views_work.mine) for its template: each step and
    # whether the claim has reached it.
    steps: list[tuple[str, bool]]
    story: Any  # huzhu.claims.story.Story on a member's list, or None
    # Set by ``huzhu.payouts.shown.claims_shown`` (an annotation): the state a person sees —
    # the status, or for an approved claim its benefit payout's (已核准待支付 … 支付失败).
    shown_status: str

    def __str__(self) -> str:
        return f"理赔 {self.pk}"

    @classmethod
    def from_db(cls, db: Any, field_names: Any, values: Any) -> Claim:
        obj = super().from_db(db, field_names, values)
        obj._loaded_status = obj.__dict__.get("status")
        return obj

    def save(self, *args: Any, **kwargs: Any) -> None:
        loaded = getattr(self, "_loaded_status", None)
        if not self._state.adding and loaded is not None and self.status != loaded:
            raise ValueError("理赔状态只能通过 claim_transition 改变")
        super().save(*args, **kwargs)
        self._loaded_status = self.status


class Assessment(models.Model):
    """One assessment of a claim; a corrected settlement or rule adds another, never edits."""

    claim = models.ForeignKey(Claim, on_delete=models.PROTECT, related_name="assessments")
    settlement = models.ForeignKey(Settlement, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    product_version = models.ForeignKey(ProductVersion, on_delete=models.PROTECT,
                                        related_name="+")
    payable_fen = models.BigIntegerField()
    lines = models.JSONField(default=list)
    reasons = models.JSONField(default=list)  # reason codes over all lines
    trace = models.JSONField(default=list)  # [{"rule": r, "zh": text}]
    usage = models.JSONField(default=dict)  # what was drawn before this claim
    input_hash = models.CharField(max_length=64)
    as_of = models.DateField()
    engine = models.CharField(max_length=10, default="scalar")
    # A rule correction of a claim already granted: what was granted then. Such an assessment
    # waits for a decision (CorrectionDecision): top-up, recovery or no change.
    correction_was_fen = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = "核算结果"
        verbose_name_plural = "核算结果"

    def __str__(self) -> str:
        return f"{self.claim_id}: {self.payable_fen}"


class ClaimEvent(models.Model):
    """What a claim without a settlement is for: the facts the rules engine reads (diagnosis
    date and disease, accident outcome and disability grade, the family member's relation),
    and the related person: the ill spouse or child, or the beneficiary (受益人) of a death
    benefit, whose card the benefit is paid to. Identity and card are encrypted like a
    member's; never edited."""

    claim = models.OneToOneField(Claim, on_delete=models.PROTECT, related_name="event")
    claim_type = models.CharField(max_length=20)  # the engine's: diagnosis | accident
    subject = models.CharField(max_length=10, default="member")  # member | spouse | child
    # The diagnosis date of a diagnosis claim, the accident's or the death's otherwise.
    event_date = models.DateField("事件日期")
    disease = EncryptedTextField("病种编码", null=True, blank=True)
    disease_name = EncryptedTextField("病种", null=True, blank=True)
    accident_outcome = models.CharField(max_length=12, blank=True)  # death | disability
    disability_grade = models.PositiveSmallIntegerField("伤残等级", null=True, blank=True)
    during_stay = models.BooleanField("住院期间发生", default=False)
    flags = models.JSONField(default=list, blank=True)
    relation = models.CharField("与会员关系", max_length=10, choices=Relation.choices,
                                blank=True)
    person_name = models.CharField("姓名", max_length=60, blank=True)
    person_id_number = EncryptedTextField("身份证号", null=True, blank=True)
    person_phone = EncryptedTextField("手机号", null=True, blank=True)
    payee_card = EncryptedTextField("银行卡号", null=True, blank=True)
    payee_bank = models.CharField("开户行", max_length=100, blank=True)
    # The bank-list entry the 开户行 was chosen as (its 联行号); blank on older events.
    payee_bank_cnaps = models.CharField("开户行联行号", max_length=12, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "理赔事项"
        verbose_name_plural = "理赔事项"

    def __str__(self) -> str:
        return f"理赔 {self.claim_id} 事项"

    @property
    def pays_person(self) -> bool:
        """Whether the benefit goes to the related person's card (a death benefit)."""
        return bool(self.payee_card)


class ConsolationStatus(models.TextChoices):
    PROPOSED = "proposed", "待审批"
    APPROVED = "approved", "已批准"
    REFUSED = "refused", "不予批准"


class Consolation(models.Model):
    """A discretionary consolation payment (慰问金) to a member: proposed by staff within the
    limit of their union's level, approved by another person (four eyes), paid through the
    payout batches and posted to its own expense account (5104 慰问金支出)."""

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="+")
    amount_fen = models.BigIntegerField("金额（分）")
    reason = models.CharField("事由", max_length=300)
    status = models.CharField(max_length=10, choices=ConsolationStatus.choices,
                              default=ConsolationStatus.PROPOSED)
    org_path = models.CharField(max_length=255)
    fund_region = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    related_name="+")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    decision_note = models.CharField("审批意见", max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = "慰问金"
        verbose_name_plural = "慰问金"
        constraints = [
            models.CheckConstraint(name="consolation_positive",
                                   condition=models.Q(amount_fen__gt=0)),
            # Four eyes: whoever proposed it never decides it.
            models.CheckConstraint(
                name="consolation_two_people",
                condition=models.Q(status="proposed")
                | (models.Q(decided_by__isnull=False)
                   & ~models.Q(decided_by=models.F("proposed_by")))),
        ]

    def __str__(self) -> str:
        return f"慰问金 {self.pk}"


class ReviewLevel(models.Model):
    """One level of review in a fund region (e.g. 县级初审 → 市级复审 → 协会终审).

    ``org_kind`` names which union in the member's line reviews at this level; a claim enters
    level 1 and approval at a level passes it on, unless the level may decide it alone
    (``final_limit_fen``: approve here when the payable is at most this; empty: never, unless
    it is the last level). Without rows, :data:`DEFAULT_LEVELS` apply."""

    fund_region = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+",
                                    verbose_name="统筹区")
    level = models.PositiveSmallIntegerField("级次")
    name = models.CharField("名称", max_length=40)
    org_kind = models.CharField("审核组织层级", max_length=20)
    working_days = models.PositiveSmallIntegerField("时限（工作日）", default=2)
    final_limit_fen = models.BigIntegerField("本级可终审金额（分）", null=True, blank=True)

    class Meta:
        ordering = ["fund_region_id", "level"]
        verbose_name = "审核级次"
        verbose_name_plural = "审核级次"
        constraints = [
            models.UniqueConstraint(fields=["fund_region", "level"], name="review_level_once"),
            models.CheckConstraint(name="review_level_from_one", condition=models.Q(level__gte=1)),
        ]

    def __str__(self) -> str:
        return f"{self.level} {self.name}"


class ReviewAction(models.TextChoices):
    APPROVE = "approve", "审核通过"
    RETURN = "return", "退回补件"
    REJECT = "reject", "不予给付"
    ESCALATE = "escalate", "提交上级"
    RESUBMIT = "resubmit", "补件后重新提交"
    APPEAL = "appeal", "会员申诉"


class ClaimReview(models.Model):
    """One reviewer's (or member's) act on a claim at a level; never edited."""

    claim = models.ForeignKey("Claim", on_delete=models.PROTECT, related_name="reviews")
    level = models.PositiveSmallIntegerField()
    action = models.CharField(max_length=10, choices=ReviewAction.choices)
    reason_code = models.CharField(max_length=40, blank=True)
    note = models.CharField(max_length=500, blank=True)
    due_on = models.DateField(null=True, blank=True)
    overdue = models.BooleanField(default=False)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name = "审核记录"
        verbose_name_plural = "审核记录"

    def __str__(self) -> str:
        return f"{self.claim_id} L{self.level} {self.action}"


class WorkdayOverride(models.Model):
    """A day the official holiday schedule (国务院办公厅节假日安排) makes a holiday or a working
    weekend, for years the chinese-calendar package does not cover yet."""

    day = models.DateField("日期", unique=True)
    is_workday = models.BooleanField("是否工作日")
    note = models.CharField("说明", max_length=60, blank=True)

    class Meta:
        ordering = ["day"]
        verbose_name = "节假日调整"
        verbose_name_plural = "节假日调整"

    def __str__(self) -> str:
        return f"{self.day} {'班' if self.is_workday else '休'}"


class CalendarYear(models.Model):
    """A year whose holiday schedule staff entered (its holidays and make-up working days are
    :class:`WorkdayOverride` rows); with the years the chinese-calendar package carries, these are
    the years a deadline may be counted in."""

    year = models.PositiveSmallIntegerField("年份", unique=True)
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    entered_at = models.DateTimeField("录入时间", auto_now=True)
    source = models.CharField("依据", max_length=200, blank=True)

    class Meta:
        ordering = ["year"]
        verbose_name = "节假日安排"
        verbose_name_plural = "节假日安排"

    def __str__(self) -> str:
        return f"{self.year}年节假日安排"


class MemberPeriodUsage(models.Model):
    """What one member has been granted from one product in one period: the row every approval
    locks (``select_for_update``), so caps and claim counts hold when approvals race."""

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="+")
    product_code = models.CharField(max_length=80)
    period = models.ForeignKey(Period, on_delete=models.PROTECT, related_name="+")
    granted_fen = models.BigIntegerField(default=0)
    claims = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = "会员本期已给付"
        verbose_name_plural = "会员本期已给付"
        constraints = [
            models.UniqueConstraint(fields=["member", "product_code", "period"],
                                    name="member_period_usage_once"),
        ]

    def __str__(self) -> str:
        return f"{self.member_id}/{self.product_code}/{self.period_id}: {self.granted_fen}"


class DocumentKind(models.TextChoices):
    DISCHARGE = "discharge", "出院小结"
    INVOICE = "invoice", "住院发票"
    SETTLEMENT = "settlement", "医保结算单"
    DIAGNOSIS = "diagnosis", "诊断证明"
    PATHOLOGY = "pathology", "病理报告"
    APPRAISAL = "appraisal", "伤残鉴定书"
    DEATH = "death", "死亡证明"
    RELATION = "relation", "关系证明"
    OTHER = "other", "其他材料"


class ClaimDocument(models.Model):
    """A photo or PDF filed with a claim. The bytes live outside the web root, encrypted
    (``settings.DOCUMENTS_DIR``), under a random name; the type is read from the content.

    The photos of a stay keyed from papers (:class:`KeyedStay`) are filed before there is a
    claim: they belong to the keyed stay, and to its claim as well once it is filed."""

    claim = models.ForeignKey("Claim", null=True, blank=True, on_delete=models.PROTECT,
                              related_name="documents")
    keyed = models.ForeignKey("KeyedStay", null=True, blank=True, on_delete=models.PROTECT,
                              related_name="documents")
    kind = models.CharField("材料类型", max_length=12, choices=DocumentKind.choices)
    file_name = models.CharField("文件名", max_length=200)
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    storage_name = models.CharField(max_length=80, unique=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name = "理赔材料"
        verbose_name_plural = "理赔材料"
        constraints = [
            models.UniqueConstraint(fields=["claim", "sha256"], name="claim_document_once"),
            models.UniqueConstraint(fields=["keyed", "sha256"], name="keyed_document_once"),
            models.CheckConstraint(name="document_belongs",
                                   condition=models.Q(claim__isnull=False)
                                   | models.Q(keyed__isnull=False)),
        ]

    def __str__(self) -> str:
        return self.file_name


class CorrectionKind(models.TextChoices):
    TOP_UP = "top_up", "补发"
    RECOVERY = "recovery", "追回"
    NO_CHANGE = "no_change", "不调整"


class CorrectionDecision(models.Model):
    """What staff decided about one rule correction of a granted claim; never edited.

    ``was_fen`` is what the claim held when decided, ``new_fen`` the corrected figure and
    ``amount_fen`` what moved (a top-up may be less than the difference when the period's caps
    leave less room: ``limited``)."""

    claim = models.ForeignKey(Claim, on_delete=models.PROTECT, related_name="corrections")
    assessment = models.ForeignKey(Assessment, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField("决定", max_length=10, choices=CorrectionKind.choices)
    was_fen = models.BigIntegerField("原给付（分）")
    new_fen = models.BigIntegerField("更正后（分）")
    amount_fen = models.BigIntegerField("调整金额（分）")
    limited = models.BooleanField("受本期上限限制", default=False)
    reason = models.CharField("说明", max_length=300, blank=True)
    org_path = models.CharField(max_length=255)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+")
    decided_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name = "规则更正处理"
        verbose_name_plural = "规则更正处理"
        constraints = [
            models.UniqueConstraint(fields=["assessment"], name="correction_decided_once"),
            models.CheckConstraint(
                name="correction_amount",
                condition=(models.Q(kind=CorrectionKind.NO_CHANGE, amount_fen=0)
                           & ~models.Q(reason=""))
                | (~models.Q(kind=CorrectionKind.NO_CHANGE) & models.Q(amount_fen__gt=0))),
        ]

    def __str__(self) -> str:
        return f"{self.claim_id} {self.kind} {self.amount_fen}"


class RecoveryStatus(models.TextChoices):
    PENDING = "pending", "待追回"
    WRITE_OFF_PROPOSED = "wo_proposed", "核销待复核"
    RECOVERED = "recovered", "已追回"
    WRITTEN_OFF = "written_off", "已核销"


OPEN_RECOVERY = (RecoveryStatus.PENDING, RecoveryStatus.WRITE_OFF_PROPOSED)


class Recovery(models.Model):
    """Benefit a member owes back after a rule correction (应收追回互助金), until finance
    records it received (已追回) or two finance officers write it off (核销)."""

    claim = models.ForeignKey(Claim, on_delete=models.PROTECT, related_name="recoveries")
    decision = models.OneToOneField(CorrectionDecision, on_delete=models.PROTECT,
                                    related_name="recovery")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="+")
    amount_fen = models.BigIntegerField("应追回（分）")
    status = models.CharField(max_length=12, choices=RecoveryStatus.choices,
                              default=RecoveryStatus.PENDING)
    org_path = models.CharField(max_length=255)
    fund_region = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    received_on = models.DateField("到账日期", null=True, blank=True)
    bank_ref = models.CharField("银行流水号", max_length=60, blank=True)
    write_off_reason = models.CharField("核销原因", max_length=300, blank=True)
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = "互助金追回"
        verbose_name_plural = "互助金追回"
        constraints = [
            models.CheckConstraint(name="recovery_positive", condition=models.Q(amount_fen__gt=0)),
            # Maker-checker: whoever proposed a write-off cannot be the one who approves it.
            models.CheckConstraint(
                name="recovery_write_off_two_people",
                condition=~models.Q(status=RecoveryStatus.WRITTEN_OFF)
                | (models.Q(proposed_by__isnull=False, closed_by__isnull=False)
                   & ~models.Q(proposed_by=models.F("closed_by")))),
        ]
        indexes = [models.Index(fields=["status", "id"], name="recovery_status_idx")]

    def __str__(self) -> str:
        return f"追回 {self.pk}（理赔 {self.claim_id}）"


class KeyedStatus(models.TextChoices):
    AWAITING = "awaiting", "待复核录入"
    HELD = "held", "两次录入不一致，暂停"
    ACCEPTED = "accepted", "复核一致，已受理"
    CONFIRMED = "confirmed", "医保结算记录一致，已确认"
    CORRECTED = "corrected", "医保结算记录不一致，按医保结算更正"


class KeyedStay(models.Model):
    """A stay keyed from papers (经办录入, docs/adr/0023): an agent or an agency point enters
    the settlement slip's amounts with photos of the papers; a second person at the county
    keys the amounts again without seeing the first entry. Only when two people's entries
    agree does the stay become a settlement (``source`` 经办录入) and its claim take the one
    road; while they differ it is held. ``entries`` is every keying in order,
    ``[{"by": user id, "step": first|check|resolve, "amounts": {field: fen}, "at": iso}]``;
    ``amounts`` the figures two people agreed on. When the bureau's record of the same stay
    arrives, the claim moves to it (:mod:`huzhu.claims.resettle`) and ``bureau_settlement``
    with ``differences`` say whether the papers were right."""

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="+")
    product_code = models.CharField("申请的保障项目", max_length=80)
    hospital_name = models.CharField("医疗机构名称", max_length=200)
    hospital_code = models.CharField("定点医疗机构编码", max_length=30, blank=True)
    mdtrt_id = models.CharField("就诊ID", max_length=60, blank=True)
    hosp_lv = models.PositiveSmallIntegerField("医院等级", null=True, blank=True)
    begndate = models.DateField("入院日期")
    enddate = models.DateField("出院日期")
    out_of_region = models.BooleanField("异地就医", default=False)
    place = models.CharField("就医地", max_length=100, blank=True)
    diag_name = EncryptedTextField("诊断", null=True, blank=True)
    diag_code = EncryptedTextField("诊断编码", null=True, blank=True)
    entries = models.JSONField(default=list)
    amounts = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=KeyedStatus.choices,
                              default=KeyedStatus.AWAITING)
    keyed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                 related_name="+")
    checked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    settlement = models.ForeignKey(Settlement, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    claim = models.OneToOneField(Claim, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="keyed")
    bureau_settlement = models.ForeignKey(Settlement, null=True, blank=True,
                                          on_delete=models.PROTECT, related_name="+")
    differences = models.JSONField(default=list, blank=True)  # [{"field", "keyed", "bureau"}]
    org_path = models.CharField(max_length=255)
    fund_region = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    reconciled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = "经办录入的住院"
        verbose_name_plural = "经办录入的住院"
        indexes = [
            models.Index(fields=["org_path", "id"], name="keyed_scope_idx"),
            models.Index(fields=["member", "begndate"], name="keyed_member_idx"),
        ]
        constraints = [
            # Four eyes: the figures are accepted only on a second person's entry.
            models.CheckConstraint(
                name="keyed_two_people",
                condition=models.Q(status__in=["awaiting", "held"])
                | (models.Q(checked_by__isnull=False)
                   & ~models.Q(checked_by=models.F("keyed_by")))),
        ]

    def __str__(self) -> str:
        return f"经办录入 {self.pk}"
