"""Models of the insights app owned by its simulator part: saved scenarios (ADR 0020)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from huzhu.products.models import Period, ProductVersion

__all__ = ["Scenario"]


class Scenario(models.Model):
    """A saved policy scenario: a draft TOML document against the version it starts from and
    the period whose claims it replays, with the levers typed and the figures of its last run."""

    name = models.CharField("方案名称", max_length=100)
    base = models.ForeignKey(ProductVersion, on_delete=models.PROTECT, related_name="+",
                             verbose_name="起点版本")
    period = models.ForeignKey(Period, on_delete=models.PROTECT, related_name="+",
                               verbose_name="回放期")
    document = models.TextField("草稿规则文件")
    levers = models.JSONField("调整项", default=dict, blank=True)
    summary = models.JSONField("测算结果", default=dict, blank=True)
    org_path = models.CharField(max_length=255, db_index=True)  # the scope it was run in
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    handed_to = models.ForeignKey("products.ProductDraft", null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+",
                                  verbose_name="已转为产品版本草稿")

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "政策模拟方案"
        verbose_name_plural = "政策模拟方案"

    def __str__(self) -> str:
        return self.name
