"""The follow-up rule of a fund region, the follow-ups it opens and their five touches."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from huzhu.members.models import Member
from huzhu.organisations.models import Organisation
from huzhu.pii.fields import EncryptedTextField


class CareRule(models.Model):
    """When a member of the fund region is followed up, and in how many working days."""

    fund_region = models.OneToOneField(Organisation, on_delete=models.PROTECT,
                                       related_name="care_rule", verbose_name="统筹区")
    enabled = models.BooleanField("启用", default=True)
    min_benefit_fen = models.BigIntegerField("年度给付达到（分）", default=5_000_000)
    # ICD-10 code prefixes (C: malignant tumours, I21: myocardial infarction, …), comma-separated.
    diseases = models.CharField("关怀病种（ICD-10 编码前缀）", max_length=500, blank=True,
                                default="C,I21,I61,I63,N18.5,Z94")
    working_days = models.PositiveSmallIntegerField("办理时限（工作日）", default=10)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "重病关怀规则"
        verbose_name_plural = "重病关怀规则"
        constraints = [
            models.CheckConstraint(name="care_rule_positive",
                                   condition=models.Q(min_benefit_fen__gt=0, working_days__gt=0)),
        ]

    def __str__(self) -> str:
        return f"{self.fund_region}重病关怀规则"

    def prefixes(self) -> list[str]:
        return [p.strip().upper() for p in self.diseases.replace("，", ",").split(",") if p.strip()]


class FollowUp(models.Model):
    """One seriously ill member followed up in one year: opened once, whatever re-runs."""

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="+",
                               verbose_name="会员")
    year = models.PositiveSmallIntegerField("年度")
    fund_region = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    # The county union (or the nearest union above the member's unit) that does the touches.
    county = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+",
                               verbose_name="负责工会")
    org_path = models.CharField(max_length=255, db_index=True)
    reason = models.CharField("关怀原因", max_length=200)
    claim_id = models.BigIntegerField("触发理赔", null=True, blank=True)
    opened_on = models.DateField("开启日期")
    closed_on = models.DateField("完成日期", null=True, blank=True)

    class Meta:
        ordering = ["closed_on", "opened_on", "id"]
        verbose_name = "重病关怀"
        verbose_name_plural = "重病关怀"
        constraints = [
            models.UniqueConstraint(fields=["member", "year"], name="care_once_a_year"),
        ]

    def __str__(self) -> str:
        return f"重病关怀 {self.pk}"


class Touch(models.TextChoices):
    SMS = "sms", "补贴短信"
    CALL = "call", "问候电话"
    GIFT = "gift", "慰问品"
    MONEY = "money", "慰问金"
    STORY = "story", "政策宣传报道"


class CareTask(models.Model):
    followup = models.ForeignKey(FollowUp, on_delete=models.CASCADE, related_name="tasks")
    kind = models.CharField("事项", max_length=10, choices=Touch.choices)
    due_on = models.DateField("办理期限")
    done_on = models.DateField("办结日期", null=True, blank=True)
    done_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="+")
    # What was said on the call, which gift, how much and how paid: may touch on health, so
    # kept encrypted like a diagnosis.
    note = EncryptedTextField("办理记录", null=True, blank=True)
    amount_fen = models.BigIntegerField("金额（分）", null=True, blank=True)
    consent = models.BooleanField("本人同意报道", null=True, blank=True)
    skipped = models.BooleanField("不予办理", default=False)

    class Meta:
        ordering = ["followup_id", "id"]
        verbose_name = "关怀事项"
        verbose_name_plural = "关怀事项"
        constraints = [
            models.UniqueConstraint(fields=["followup", "kind"], name="care_touch_once"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}（重病关怀 {self.followup_id}）"
