"""What a task reads besides its arguments (ADR 0009)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class PartData(models.Model):
    """One part's payload for a task, which the task is given by id: already encrypted by
    whoever puts it here (personal data is never stored in the clear). The caller removes its
    payloads once its parts are done; the worker removes any a killed caller left behind
    (:func:`huzhu.work.parts.payloads_prune`)."""

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    data = models.BinaryField()

    class Meta:
        verbose_name = "后台任务数据"
        verbose_name_plural = "后台任务数据"
