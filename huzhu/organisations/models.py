"""The union tree, the units that enroll their workers, and the units' agents."""

from __future__ import annotations

from django.db import models

from huzhu.pii.fields import EncryptedTextField


class OrgKind(models.TextChoices):
    PROVINCE = "province", "省（自治区）总工会"
    CITY = "city", "市（盟）总工会"
    COUNTY = "county", "县（旗、区）总工会"
    GRASSROOTS = "grassroots", "基层工会"
    INDUSTRY = "industry", "产业工会"
    ORGAN_COMMITTEE = "organ_committee", "机关工委"


class Organisation(models.Model):
    """A node of the union tree.

    ``path`` is the materialised path of primary keys, ``/1/5/42/``: a subtree is every row whose
    path starts with the node's path. ``fund_region`` is the nearest ancestor-or-self flagged
    ``is_fund_region`` (the pooling root, 统筹区); large tables carry it for sharding and locks.
    """

    name = models.CharField("名称", max_length=120)
    kind = models.CharField("类型", max_length=20, choices=OrgKind.choices)
    parent = models.ForeignKey(
        "self", verbose_name="上级组织", null=True, blank=True, on_delete=models.PROTECT,
        related_name="children",
    )
    path = models.CharField(max_length=255, db_index=True, editable=False)
    depth = models.PositiveSmallIntegerField(default=0, editable=False)
    is_fund_region = models.BooleanField("统筹区", default=False)
    fund_region = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        editable=False,
    )
    code = models.CharField("组织代码", max_length=40, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["path"]
        verbose_name = "工会组织"
        verbose_name_plural = "工会组织"

    def __str__(self) -> str:
        return self.name


class Unit(models.Model):
    """参保单位: an employer whose union enrolls its workers."""

    name = models.CharField("单位名称", max_length=200)
    uscc = models.CharField("统一社会信用代码", max_length=18, db_index=True)
    uscc_warning_confirmed = models.BooleanField("校验位不符已确认", default=False)
    organisation = models.ForeignKey(
        Organisation, verbose_name="所属工会", on_delete=models.PROTECT, related_name="units"
    )
    org_path = models.CharField(max_length=255, db_index=True, editable=False)
    fund_region = models.ForeignKey(
        Organisation, null=True, on_delete=models.PROTECT, related_name="+", editable=False
    )
    address = models.CharField("地址", max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["org_path", "id"]
        verbose_name = "参保单位"
        verbose_name_plural = "参保单位"
        constraints = [
            models.UniqueConstraint(fields=["uscc"], name="unit_uscc_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class Agent(models.Model):
    """经办人: the person in a unit's union who handles rosters and claims."""

    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="agents")
    name = models.CharField("姓名", max_length=60)
    phone = EncryptedTextField("手机号")
    phone_bidx = models.CharField(max_length=64, db_index=True, editable=False)
    is_active = models.BooleanField("在岗", default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["unit_id", "id"]
        verbose_name = "经办人"
        verbose_name_plural = "经办人"

    def __str__(self) -> str:
        return self.name
