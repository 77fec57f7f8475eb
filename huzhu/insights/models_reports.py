"""Models of the insights app owned by its reports part: the fund's public disclosures (公示)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from huzhu.organisations.models import Organisation

__all__ = ["Disclosure", "DisclosureStatus"]


class DisclosureStatus(models.TextChoices):
    PROPOSED = "proposed", "待复核"
    PUBLISHED = "published", "已公示"
    WITHDRAWN = "withdrawn", "已撤回"


class Disclosure(models.Model):
    """One period's 公示 of a fund region: proposed by a finance officer of the region, checked
    and published by a second one. ``snapshot`` holds what is shown to the public, already
    masked, computed from the ledger when it was proposed and computed again (and required equal,
    ``digest``) when it was published; the public pages read this row and nothing else."""

    fund_region = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+",
                                    verbose_name="统筹区")
    org_path = models.CharField(max_length=255, editable=False)
    title = models.CharField("公示标题", max_length=120)
    start = models.DateField("期间起")
    end = models.DateField("期间止")
    status = models.CharField("状态", max_length=12, choices=DisclosureStatus.choices,
                              default=DisclosureStatus.PROPOSED)
    snapshot = models.JSONField(default=dict)
    digest = models.CharField(max_length=64)
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    related_name="+")
    proposed_at = models.DateTimeField(auto_now_add=True)
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+")
    published_at = models.DateTimeField(null=True, blank=True)
    withdrawn_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+")
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdraw_reason = models.CharField("撤回原因", max_length=300, blank=True)

    class Meta:
        ordering = ["-end", "-id"]
        verbose_name = "基金公示"
        verbose_name_plural = "基金公示"
        constraints = [
            models.UniqueConstraint(
                fields=["fund_region", "start", "end"],
                condition=~models.Q(status="withdrawn"),
                name="insights_disclosure_one_live_per_period"),
            models.CheckConstraint(condition=models.Q(start__lte=models.F("end")),
                                   name="insights_disclosure_dates_ordered"),
        ]
        indexes = [models.Index(fields=["status", "-published_at"])]

    def __str__(self) -> str:
        return self.title
