"""Members: the workers the scheme covers, with their personal data encrypted at rest."""

from __future__ import annotations

from django.db import models

from huzhu.organisations.models import Organisation, Unit
from huzhu.pii.fields import EncryptedTextField


class InsuranceType(models.TextChoices):
    EMPLOYEE = "employee", "职工医保"
    RESIDENT = "resident", "居民医保"
    NONE = "none", "未参加基本医保"


class EmploymentStatus(models.TextChoices):
    EMPLOYED = "employed", "在职"
    FLEXIBLE = "flexible", "灵活就业"
    RETIRED = "retired", "退休"
    LEFT = "left", "离职"


class Gender(models.TextChoices):
    MALE = "M", "男"
    FEMALE = "F", "女"


class Member(models.Model):
    name = models.CharField("姓名", max_length=60, db_index=True)
    id_number = EncryptedTextField("身份证号")
    id_number_bidx = models.CharField(max_length=64, unique=True, editable=False)
    birth_date = models.DateField("出生日期", editable=False)
    gender = models.CharField("性别", max_length=1, choices=Gender.choices, editable=False)
    phone = EncryptedTextField("手机号", null=True, blank=True)
    phone_bidx = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    bank_card = EncryptedTextField("银行卡号", null=True, blank=True)
    bank_card_warning_confirmed = models.BooleanField("卡号校验不符已确认", default=False)
    bank_name = models.CharField("开户行", max_length=100, blank=True)
    # The bank-list entry (huzhu.payouts.banklist) the 开户行 was chosen as: its 12-digit CNAPS
    # 联行号, and then bank_name is that entry's name. Blank for a roster's text the list did
    # not know (staff pick it on the payout batch page) and for rows older than the list.
    bank_cnaps = models.CharField("开户行联行号", max_length=12, blank=True, default="")
    insurance_type = models.CharField(
        "基本医保类型", max_length=10, choices=InsuranceType.choices,
        default=InsuranceType.EMPLOYEE,
    )
    is_union_member = models.BooleanField("工会会员", default=True)
    employment_status = models.CharField(
        "就业状态", max_length=10, choices=EmploymentStatus.choices,
        default=EmploymentStatus.EMPLOYED,
    )
    is_hardship = models.BooleanField("困难职工", default=False)
    is_model_worker = models.BooleanField("劳模/工匠", default=False)
    is_new_form_worker = models.BooleanField("新就业形态劳动者", default=False)
    unit = models.ForeignKey(
        Unit, verbose_name="参保单位", null=True, blank=True, on_delete=models.PROTECT,
        related_name="members",
    )
    organisation = models.ForeignKey(
        Organisation, verbose_name="所属工会", on_delete=models.PROTECT, related_name="members"
    )
    org_path = models.CharField(max_length=255, editable=False)
    fund_region = models.ForeignKey(
        Organisation, null=True, on_delete=models.PROTECT, related_name="+", editable=False
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Set when the retention period ended and the personal fields were cleared (huzhu/privacy).
    anonymised_at = models.DateTimeField("匿名化时间", null=True, blank=True, editable=False)

    class Meta:
        ordering = ["id"]
        verbose_name = "会员"
        verbose_name_plural = "会员"
        indexes = [
            # varchar_pattern_ops lets PostgreSQL use the index for LIKE 'prefix%' under a
            # non-C collation; SQLite ignores opclasses (it runs case_sensitive_like=ON).
            models.Index(fields=["org_path", "id"], name="member_scope_idx",
                         opclasses=["varchar_pattern_ops", "int8_ops"]),
            models.Index(fields=["unit", "id"], name="member_unit_idx"),
        ]

    def __str__(self) -> str:
        return self.name
