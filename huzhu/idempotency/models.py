"""The stored answers to API writes sent with an ``Idempotency-Key`` (TRUST R-05, ADR 0006)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class IdempotencyKey(models.Model):
    """One client key, scoped by user, method and path, with the answer it got.

    The row is inserted before the operation runs and updated with the answer in the same
    transaction, so another transaction only ever sees it complete; a rolled-back operation
    leaves no row.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="+")
    key = models.CharField(max_length=100)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=300)
    request_sha256 = models.CharField(max_length=64)
    status = models.PositiveSmallIntegerField(default=0)
    body = models.BinaryField(default=b"")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        db_table = "idempotency_key"
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "key", "method", "path"],
                                    name="idempotency_key_unique_per_user_and_operation"),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} [{self.key}] → {self.status}"
