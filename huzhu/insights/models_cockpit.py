"""Models of the insights app owned by its cockpit part: the aggregates the cockpit reads.

The cockpit never scans claims, legs or enrollments when a page is asked for: ``huzhu insights
refresh`` (:mod:`huzhu.insights.cockpit_refresh`) recounts them set-based into these tables, and
:mod:`huzhu.insights.cockpit_recount` proves the tables equal a row-by-row recount (ADR 0018).

Each row belongs to a *node*: the place of the record (the member's, unit's or claim's
``org_path``) cut at the county level (depth 2), with its ancestors ``l0`` (the root), ``l1``
(the city) and ``l2`` (the county) so a province, a city and a county are each one indexed
filter and the next level down one GROUP BY.
"""

from __future__ import annotations

from django.db import models

__all__ = ["CockpitMonth", "CockpitNow", "CockpitRefresh", "CockpitTop", "CockpitWait"]


class _Placed(models.Model):
    node = models.ForeignKey("organisations.Organisation", on_delete=models.CASCADE,
                             related_name="+")
    l0 = models.BigIntegerField()
    l1 = models.BigIntegerField(null=True)
    l2 = models.BigIntegerField(null=True)

    class Meta:
        abstract = True


class CockpitMonth(_Placed):
    """One measure of one month, period, product and node. Money (``amount_fen``) comes from
    ledger legs only. ``bucket`` is kept 0 (the waiting times are :class:`CockpitWait`)."""

    month = models.DateField()
    # The period (保障年度) the figure belongs to: the account's period for money, the
    # enrollment's or the claim's period otherwise; blank when none (money in the bank).
    period_code = models.CharField(max_length=20, blank=True)
    product_code = models.CharField(max_length=80, blank=True)
    measure = models.CharField(max_length=30)
    bucket = models.SmallIntegerField(default=0)
    count = models.BigIntegerField(default=0)
    amount_fen = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = "驾驶舱月度汇总"
        verbose_name_plural = "驾驶舱月度汇总"
        constraints = [models.UniqueConstraint(
            fields=["node", "month", "period_code", "product_code", "measure", "bucket"],
            name="cockpit_month_unique")]
        indexes = [models.Index(fields=["l0", "measure", "month"]),
                   models.Index(fields=["l1", "measure", "month"]),
                   models.Index(fields=["l2", "measure", "month"])]


class CockpitWait(_Placed):
    """Waiting-time histograms per calendar year of completion: ``bucket`` working days from a
    settlement's arrival to the claim's approval (``days_to_approval``) or to the money on the
    card (``days_to_paid``), ``count`` claims. Medians and percentiles of any scope are exact."""

    year = models.PositiveSmallIntegerField()
    measure = models.CharField(max_length=30)
    bucket = models.IntegerField()
    count = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = "驾驶舱办理时间分布"
        verbose_name_plural = "驾驶舱办理时间分布"
        constraints = [models.UniqueConstraint(fields=["node", "year", "measure", "bucket"],
                                               name="cockpit_wait_unique")]
        indexes = [models.Index(fields=["l0", "year"]), models.Index(fields=["l1", "year"]),
                   models.Index(fields=["l2", "year"])]


class CockpitNow(_Placed):
    """A state at refresh time: the review backlog and the overdue part of it."""

    measure = models.CharField(max_length=30)
    count = models.BigIntegerField(default=0)
    amount_fen = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = "驾驶舱当前状态"
        verbose_name_plural = "驾驶舱当前状态"
        constraints = [models.UniqueConstraint(fields=["node", "measure"],
                                               name="cockpit_now_unique")]


class CockpitTop(_Placed):
    """Claims and benefits per hospital or diagnosis, per year (of the claim's event)."""

    year = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=12)  # hospital | diagnosis
    label = models.CharField(max_length=200)
    count = models.BigIntegerField(default=0)
    amount_fen = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = "驾驶舱医院与诊断汇总"
        verbose_name_plural = "驾驶舱医院与诊断汇总"
        constraints = [models.UniqueConstraint(fields=["node", "year", "kind", "label"],
                                               name="cockpit_top_unique")]
        indexes = [models.Index(fields=["l0", "year", "kind"]),
                   models.Index(fields=["l1", "year", "kind"]),
                   models.Index(fields=["l2", "year", "kind"])]


class CockpitRefresh(models.Model):
    """One run of the refresh: when the figures were counted, how long it took."""

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    rows = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["-finished_at"]
        verbose_name = "驾驶舱刷新"
        verbose_name_plural = "驾驶舱刷新"
