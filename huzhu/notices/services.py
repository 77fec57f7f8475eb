"""Queue notices in the business transaction; send them afterwards, at most once per key."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import BooleanField
from django.db.models.expressions import RawSQL
from django.utils import timezone

from huzhu.bulk import insert_rows, pg_array
from huzhu.pii.crypto import cipher

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


OUTBOX_COLS = ("key", "template", "params", "phone", "member_id", "org_path", "status",
               "attempts", "provider_ref", "last_error", "created_at", "sent_at")


def notices_enqueue_many(notices: Iterable[dict[str, Any]]) -> int:
    """Queue many SMS in the caller's transaction, with the meaning of :func:`notice_enqueue`
    for each: no phone, no message; a key already queued (or repeated here) queues nothing
    new; an unknown template or wrong parameters refuse the whole call before anything is
    written. Each notice gives ``key``, ``template``, ``phone``, ``params`` and optionally
    ``member_id`` and ``org_path``. Returns how many rows were written.

    Templates are rendered once each (with the first notice's parameters); every other notice
    of the template must name exactly the same parameters, which is all ``render`` checks.
    A concurrent :func:`notice_enqueue` of one of the same keys makes this call fail on the
    unique key (the caller's transaction rolls back) rather than queue it twice."""
    todo: dict[str, dict[str, Any]] = {}
    names: dict[str, frozenset[str]] = {}
    for n in notices:
        if not n.get("phone") or n["key"] in todo:
            continue
        params = n["params"]
        expected = names.get(n["template"])
        if expected is None:
            render(n["template"], params)  # refuse an unknown template or wrong parameters
            expected = names[n["template"]] = frozenset(params)
        elif frozenset(params) != expected:
            render(n["template"], params)  # raises, naming the parameters
        todo[n["key"]] = n
    if not todo:
        return 0
    keys = list(todo)
    for start in range(0, len(keys), 5000):
        part = keys[start:start + 5000]
        if connection.vendor == "postgresql":  # one array parameter, not 5,000 placeholders
            found = OutboxMessage.objects.filter(RawSQL(
                '"notices_outboxmessage"."key" = ANY(%s::text[])', [pg_array(part)],
                output_field=BooleanField()))
        else:
            found = OutboxMessage.objects.filter(key__in=part)
        for key in found.values_list("key", flat=True):
            del todo[key]
    aad = OutboxMessage._meta.get_field("phone").aad()
    c = cipher()
    now = timezone.now()
    insert_rows(OutboxMessage, OUTBOX_COLS, [
        (n["key"], n["template"], json.dumps(n["params"], ensure_ascii=False),
         c.encrypt(str(n["phone"]), field=aad), n.get("member_id"), n.get("org_path", ""),
         OutboxStatus.PENDING, 0, "", "", now, None)
        for n in todo.values()])
    return len(todo)


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
