"""The outbox: side effects written in the business transaction, sent afterwards."""

from __future__ import annotations

from django.db import models

from huzhu.pii.fields import EncryptedTextField


class OutboxStatus(models.TextChoices):
    PENDING = "pending", "待发送"
    SENDING = "sending", "发送中"
    SENT = "sent", "已发送"
    FAILED = "failed", "发送失败"


class OutboxMessage(models.Model):
    """One SMS to send: a template code and its parameters, never free text.

    ``key`` is our idempotency key (e.g. ``enrolled:<enrollment id>``): the same event never
    queues twice, and a provider call is made at most once per key unless its outcome is
    known to have failed.
    """

    key = models.CharField(max_length=120, unique=True)
    template = models.CharField(max_length=40)
    params = models.JSONField(default=dict)
    phone = EncryptedTextField("手机号")
    member_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    org_path = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=10, choices=OutboxStatus.choices,
                              default=OutboxStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    provider_ref = models.CharField(max_length=100, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # When the last send was tried: the day an unknown outcome is asked about.
    attempted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = "待发消息"
        verbose_name_plural = "消息发件箱"
        indexes = [models.Index(fields=["status", "id"])]

    def __str__(self) -> str:
        return f"{self.template} → {self.key}"
