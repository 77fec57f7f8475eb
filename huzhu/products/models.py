"""Product versions stored as their rule documents, enrollment periods, what each organisation
offers in a period and who pays how much of it, and the targets handed down the tree."""

from __future__ import annotations

from django.db import models

from huzhu.ledger.models import PayerKind  # one vocabulary of payers, the ledger's
from huzhu.organisations.models import Organisation

__all__ = ["PayerKind", "ProductVersion", "Period", "Offer", "Target", "DraftStatus", "ProductDraft"]


class ProductVersion(models.Model):
    """One version of a product: its TOML rule document as loaded, and the disease lists it
    used, so an assessment can always be reproduced from what is stored here."""

    code = models.CharField("产品编号", max_length=80)
    version = models.CharField("版本", max_length=40)
    name = models.CharField("名称", max_length=200)
    document = models.TextField("规则文件")
    lists_document = models.JSONField("病种目录", default=dict)
    digest = models.CharField(max_length=64, unique=True)
    loaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code", "version"]
        verbose_name = "产品版本"
        verbose_name_plural = "产品版本"
        constraints = [
            models.UniqueConstraint(fields=["code", "version"], name="product_code_version_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.version}）"


class Period(models.Model):
    """期: one enrollment period of a fund region, with its window and coverage dates."""

    fund_region = models.ForeignKey(Organisation, on_delete=models.PROTECT,
                                    related_name="periods", verbose_name="统筹区")
    code = models.CharField("期号", max_length=20)
    name = models.CharField("名称", max_length=100)
    enroll_opens = models.DateField("参保开始")
    enroll_closes = models.DateField("参保截止")
    coverage_start = models.DateField("保障开始")
    coverage_end = models.DateField("保障结束")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-coverage_start"]
        verbose_name = "保障期"
        verbose_name_plural = "保障期"
        constraints = [
            models.UniqueConstraint(fields=["fund_region", "code"], name="period_code_unique"),
            models.CheckConstraint(name="period_dates_ordered", condition=(
                models.Q(enroll_opens__lte=models.F("enroll_closes"))
                & models.Q(coverage_start__lte=models.F("coverage_end")))),
        ]

    def __str__(self) -> str:
        return self.name


class Offer(models.Model):
    """An organisation offers a product version in a period to the units of its subtree.

    ``split`` is the payer rule: a list of ``{"payer": PayerKind, "fen": n}`` per share with one
    entry ``{"payer": ..., "rest": true}`` taking what is left, so it always adds up to the
    premium. ``gift_flags`` lists member flags (model_worker, hardship) for whom ``gift_payer``
    pays the whole premium (赠送参保)."""

    period = models.ForeignKey(Period, on_delete=models.PROTECT, related_name="offers")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="offers")
    product_version = models.ForeignKey(ProductVersion, on_delete=models.PROTECT,
                                        related_name="offers")
    premium_per_share_fen = models.BigIntegerField("每份保费（分）")
    split = models.JSONField("分担规则", default=list)
    gift_flags = models.JSONField("赠送对象", default=list, blank=True)
    gift_payer = models.CharField("赠送出资方", max_length=20, choices=PayerKind.choices,
                                  default=PayerKind.UNION_PROVINCE)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["period", "organisation", "product_version"]
        verbose_name = "产品提供"
        verbose_name_plural = "产品提供"
        constraints = [
            models.UniqueConstraint(fields=["period", "organisation", "product_version"],
                                    name="offer_unique"),
            models.CheckConstraint(name="offer_premium_positive",
                                   condition=models.Q(premium_per_share_fen__gt=0)),
        ]

    def __str__(self) -> str:
        return f"{self.organisation} · {self.product_version}"


class Target(models.Model):
    """任务: how many members an organisation is asked to enroll in a period."""

    period = models.ForeignKey(Period, on_delete=models.CASCADE, related_name="targets")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE,
                                     related_name="targets")
    members = models.PositiveIntegerField("目标人数")

    class Meta:
        verbose_name = "参保任务"
        verbose_name_plural = "参保任务"
        constraints = [
            models.UniqueConstraint(fields=["period", "organisation"], name="target_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.organisation} {self.members}"


class DraftStatus(models.TextChoices):
    DRAFT = "draft", "草稿"
    PROPOSED = "proposed", "待审批"
    APPROVED = "approved", "已批准启用"
    REJECTED = "rejected", "已退回"


class ProductDraft(models.Model):
    """A new version of a product being written in the browser (or handed over by the policy
    simulator): edited as a draft, proposed by one person, approved by another (four eyes),
    who activates it from a date. Approval stores it as a :class:`ProductVersion`
    (``result``); the versions claims already used stay as they are on the claims."""

    code = models.CharField("产品编号", max_length=80)
    base = models.ForeignKey(ProductVersion, null=True, blank=True, on_delete=models.PROTECT,
                             related_name="drafts", verbose_name="上一版本")
    version = models.CharField("新版本号", max_length=40)
    document = models.TextField("规则文件")
    status = models.CharField("状态", max_length=10, choices=DraftStatus.choices,
                              default=DraftStatus.DRAFT)
    effective_from = models.DateField("启用日期", null=True, blank=True)
    source = models.CharField("来源", max_length=200, blank=True)
    org_path = models.CharField(max_length=255, db_index=True)
    created_by = models.ForeignKey("accounts.User", null=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    proposed_by = models.ForeignKey("accounts.User", null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    proposed_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey("accounts.User", null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField("审批意见", max_length=200, blank=True)
    result = models.OneToOneField(ProductVersion, null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="draft")

    class Meta:
        ordering = ["-updated_at", "-id"]
        verbose_name = "产品版本草稿"
        verbose_name_plural = "产品版本草稿"

    def __str__(self) -> str:
        return f"{self.code} {self.version}（{self.get_status_display()}）"
