"""Queue notices in the business transaction; send them afterwards, at most once per key."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from .gateways import SendFailed, SendUnknown, SmsGateway, SmsRequest, default_gateway
from .models import OutboxMessage, OutboxStatus
from .templates import render

MAX_ATTEMPTS = 5


def notice_enqueue(*, key: str, template: str, phone: str, params: dict[str, str],
                   member_id: int | None = None, org_path: str = "") -> OutboxMessage | None:
    """Queue one SMS; the same key queues nothing new. No phone, no message."""
    if not phone:
        return None
    render(template, params)  # refuse an unknown template or wrong parameters now
    existing = OutboxMessage.objects.filter(key=key).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return OutboxMessage.objects.create(key=key, template=template, params=params,
                                                phone=phone, member_id=member_id,
                                                org_path=org_path)
    except IntegrityError:
        return OutboxMessage.objects.get(key=key)


def outbox_send(*, limit: int = 500, gateway: SmsGateway | None = None) -> dict[str, int]:
    """Send pending messages. Each row is claimed with a conditional UPDATE so two workers
    never send the same one; an unknown outcome stays SENDING for a query, not a resend."""
    gateway = gateway or default_gateway()
    counts = {"sent": 0, "failed": 0, "unknown": 0}
    ids = list(OutboxMessage.objects.filter(status=OutboxStatus.PENDING)
               .values_list("id", flat=True)[:limit])
    for pk in ids:
        if OutboxMessage.objects.filter(pk=pk, status=OutboxStatus.PENDING).update(
                status=OutboxStatus.SENDING) != 1:
            continue  # another worker claimed it
        message = OutboxMessage.objects.get(pk=pk)
        request = SmsRequest(key=message.key, phone=message.phone, template=message.template,
                             params=message.params)
        try:
            ref = gateway.send(request)
        except SendUnknown as exc:
            OutboxMessage.objects.filter(pk=pk).update(attempts=message.attempts + 1,
                                                       last_error=str(exc)[:300])
            counts["unknown"] += 1
            continue
        except SendFailed as exc:
            attempts = message.attempts + 1
            OutboxMessage.objects.filter(pk=pk).update(
                status=OutboxStatus.FAILED if attempts >= MAX_ATTEMPTS else OutboxStatus.PENDING,
                attempts=attempts, last_error=str(exc)[:300])
            counts["failed"] += 1
            continue
        OutboxMessage.objects.filter(pk=pk).update(
            status=OutboxStatus.SENT, attempts=message.attempts + 1, provider_ref=ref,
            sent_at=timezone.now())
        counts["sent"] += 1
    return counts
