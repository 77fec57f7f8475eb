"""Queue notices in the business transaction; send them afterwards, at most once per key."""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import BooleanField
from django.db.models.expressions import RawSQL
from django.utils import timezone

from huzhu.bulk import insert_rows, pg_array
from huzhu.pii.crypto import cipher

from .gateways import (
    SendFailed,
    SendRefused,
    SendUnknown,
    SmsGateway,
    SmsRequest,
    default_gateway,
)
from .models import OutboxMessage, OutboxStatus
from .templates import SECRET_PARAMS, render

MAX_ATTEMPTS = 5
SEALED = "sealed:"
_SECRET_AAD = "notices.outboxmessage.params"


def seal_params(params: dict[str, str]) -> dict[str, str]:
    """The parameters as stored: a secret one (a first password, a code) encrypted."""
    import base64

    c = cipher()
    return {k: (SEALED + base64.b64encode(c.encrypt(str(v), field=_SECRET_AAD)).decode()
                if k in SECRET_PARAMS else v) for k, v in params.items()}


def open_params(params: dict[str, str]) -> dict[str, str]:
    """The parameters as the provider gets them."""
    import base64

    c = cipher()
    return {k: (c.decrypt(base64.b64decode(v[len(SEALED):]), field=_SECRET_AAD)
                if isinstance(v, str) and v.startswith(SEALED) else v)
            for k, v in params.items()}


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
            return OutboxMessage.objects.create(key=key, template=template,
                                                params=seal_params(params),
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
        (n["key"], n["template"], json.dumps(seal_params(n["params"]), ensure_ascii=False),
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
                             params=open_params(message.params))
        # Written before the call: a worker killed during it leaves SENDING with the time,
        # which the query round treats as an unknown outcome.
        OutboxMessage.objects.filter(pk=pk).update(attempted_at=timezone.now())
        try:
            ref = gateway.send(request)
        except SendUnknown as exc:
            OutboxMessage.objects.filter(pk=pk).update(attempts=message.attempts + 1,
                                                       last_error=str(exc)[:300])
            counts["unknown"] += 1
            continue
        except SendFailed as exc:
            attempts = message.attempts + 1
            final = isinstance(exc, SendRefused) or attempts >= MAX_ATTEMPTS
            OutboxMessage.objects.filter(pk=pk).update(
                status=OutboxStatus.FAILED if final else OutboxStatus.PENDING,
                attempts=attempts, last_error=str(exc)[:300])
            counts["failed"] += 1
            continue
        OutboxMessage.objects.filter(pk=pk).update(
            status=OutboxStatus.SENT, attempts=message.attempts + 1, provider_ref=ref,
            sent_at=timezone.now())
        counts["sent"] += 1
    return counts


def outbox_resolve(*, gateway: SmsGateway | None = None, limit: int = 500) -> dict[str, int]:
    """Ask the provider what became of messages whose send was unknown (SENDING for longer
    than ``SMS_QUERY_AFTER_SECONDS``): the provider has it → SENT; it failed there, or the
    provider never got it → PENDING, sent again as a new, known attempt (FAILED after
    ``MAX_ATTEMPTS``); nothing said for ``SMS_GIVE_UP_SECONDS`` → FAILED for a person to check,
    never resent blindly."""
    from django.conf import settings

    from .providers import ABSENT, DELIVERED

    gateway = gateway or default_gateway()
    now = timezone.now()
    counts = {"sent": 0, "retry": 0, "failed": 0, "unknown": 0}
    stale = now - datetime.timedelta(seconds=settings.SMS_QUERY_AFTER_SECONDS)
    rows = list(OutboxMessage.objects.filter(status=OutboxStatus.SENDING,
                                             attempted_at__lt=stale).order_by("id")[:limit])
    if not rows:
        return counts
    outcomes = gateway.resolve(rows)
    give_up = now - datetime.timedelta(seconds=settings.SMS_GIVE_UP_SECONDS)
    for m in rows:
        outcome = outcomes.get(m.key)
        claimed = OutboxMessage.objects.filter(pk=m.pk, status=OutboxStatus.SENDING,
                                               attempted_at=m.attempted_at)
        if outcome == DELIVERED:
            claimed.update(status=OutboxStatus.SENT, sent_at=now, last_error="")
            counts["sent"] += 1
        elif outcome is not None:
            why = ("短信服务商没有收到该短信，将重新发送" if outcome == ABSENT
                   else "短信服务商回执为发送失败，将重新发送")
            final = m.attempts >= MAX_ATTEMPTS
            claimed.update(status=OutboxStatus.FAILED if final else OutboxStatus.PENDING,
                           last_error=why)
            counts["failed" if final else "retry"] += 1
        elif m.attempted_at is not None and m.attempted_at < give_up:
            claimed.update(status=OutboxStatus.FAILED,
                           last_error="发送结果未知：短信服务商超过一天没有回执，请人工核实后处理")
            counts["failed"] += 1
        else:
            counts["unknown"] += 1
    return counts
