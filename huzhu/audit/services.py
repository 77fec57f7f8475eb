"""Append to and verify the event log."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from json.encoder import encode_basestring
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from huzhu.actors import Actor
from huzhu.web.request_context import current_request_meta

from .models import ChainHead, Event

GENESIS = "0" * 64

_buffer = threading.local()


@contextmanager
def events_last() -> Iterator[None]:
    """Hold the events recorded inside the block and append them when it ends, so that the
    event chain's head is the last lock the enclosing transaction takes (docs/adr/0008: the
    lock order). Use inside ``transaction.atomic()``; nested uses join the outermost; an
    exception drops the held events with the transaction."""
    if getattr(_buffer, "rows", None) is not None:
        yield
        return
    _buffer.rows = []
    try:
        yield
        rows = _buffer.rows
    finally:
        _buffer.rows = None
    events_record_many(rows)


def atomic_events() -> Any:
    """``transaction.atomic()`` whose events are appended when it ends (:func:`events_last`);
    as a context manager or a decorator (``@atomic_events()``)."""
    return _atomic_events()


@contextmanager
def _atomic_events() -> Iterator[None]:
    with transaction.atomic(), events_last():
        yield


def _canonical(event: Event) -> bytes:
    body = {
        "seq": event.seq,
        "created_at": event.created_at.isoformat(),
        "actor_id": event.actor_id,
        "actor_label": event.actor_label,
        "org_path": event.org_path,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "before": event.before,
        "after": event.after,
        "outcome": event.outcome,
        "request_id": event.request_id,
        "ip": event.ip,
        "prev_hash": event.prev_hash,
    }
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def event_hash(event: Event) -> str:
    return hashlib.sha256(_canonical(event)).hexdigest()


def event_record(
    *,
    action: str,
    actor: Actor = None,
    obj: Any = None,
    object_type: str = "",
    object_id: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    outcome: str = "ok",
    org_path: str = "",
    actor_label: str = "",
) -> Event | None:
    """Append one event to the chain, inside the caller's transaction when there is one
    (inside :func:`events_last`: when that block ends, and ``None`` is returned).

    Callers pass only masked or non-personal values in ``before``/``after``.
    """
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
        org_path = org_path or getattr(obj, "org_path", "") or getattr(obj, "path", "")
    held = getattr(_buffer, "rows", None)
    if held is not None:
        held.append({"action": action, "actor": actor, "actor_label": actor_label,
                     "object_type": object_type, "object_id": object_id, "org_path": org_path,
                     "before": before, "after": after, "outcome": outcome})
        return None
    meta = current_request_meta()
    actor_id = getattr(actor, "pk", None) if actor is not None else None
    if actor is not None and not actor_label:
        actor_label = getattr(actor, "username", "") or str(actor)
    with transaction.atomic():
        head, _ = ChainHead.objects.get_or_create(name="events")
        head = ChainHead.objects.select_for_update().get(pk=head.pk)
        event = Event(
            seq=head.seq + 1,
            created_at=timezone.now(),
            actor_id=actor_id,
            actor_label=actor_label[:150],
            org_path=org_path,
            action=action,
            object_type=object_type,
            object_id=object_id,
            before=before,
            after=after,
            outcome=outcome,
            request_id=meta.get("request_id", ""),
            ip=meta.get("ip", ""),
            prev_hash=head.hash,
        )
        # Round-trip the JSON so the hash covers exactly what the database returns.
        event.before = json.loads(json.dumps(before, ensure_ascii=False)) if before else before
        event.after = json.loads(json.dumps(after, ensure_ascii=False)) if after else after
        event.hash = event_hash(event)
        event.save(force_insert=True)
        ChainHead.objects.filter(pk=head.pk).update(seq=event.seq, hash=event.hash)
    return event


# json.dumps(…, sort_keys=True, ensure_ascii=False, separators=(",", ":")), built once
# (json.dumps builds an encoder each call given any option).
_CANONICAL = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _text(value: Any) -> str:
    """``json.dumps(value, ensure_ascii=False)``; a string (every field but the ids) by the
    encoder's own string function, without a ``dumps`` call's setup (six a bulk event)."""
    if type(value) is str:
        return encode_basestring(value)
    return json.dumps(value, ensure_ascii=False)


EVENT_COLS = ("seq", "created_at", "actor_id", "actor_label", "org_path", "action",
              "object_type", "object_id", "before", "after", "outcome", "request_id", "ip",
              "prev_hash", "hash")


def events_record_many(rows: list[dict[str, Any]], *, actor: Actor = None) -> None:
    """Append many events under one lock of the chain head, hashed exactly as
    ``event_record`` hashes one: for bulk paths that would otherwise serialise on the head.
    Rows go in by COPY on PostgreSQL (no model instance or ORM insert per event: those were
    most of the cost at 100,000 claims).

    Each row gives ``action``, ``object_type``, ``object_id``, ``org_path`` and optionally
    ``before``/``after`` (masked or non-personal values only), ``outcome``, and ``actor`` /
    ``actor_label`` when not the call's ``actor``.
    """
    from huzhu.bulk import db_datetime, insert_rows

    if not rows:
        return
    meta = current_request_meta()
    label = (getattr(actor, "username", "") or "")[:150] if actor is not None else ""
    actor_id = getattr(actor, "pk", None)
    request_id, ip = meta.get("request_id", ""), meta.get("ip", "")
    now = timezone.now()
    stored_now = db_datetime(now)
    # Everything but the chain's own fields is serialised before the head is locked: under
    # the lock only seq and prev_hash are spliced in and hashed (the lock is what parts
    # running side by side wait on; ADR 0008). The canonical body (``_canonical``: keys
    # sorted, compact) is written out directly, before/after serialised once: that text is
    # also what is stored, so what the database gives back hashes the same (values are JSON
    # objects with text keys).
    dump = json.dumps
    created = dump(now.isoformat())
    middle = f',"request_id":{dump(request_id, ensure_ascii=False)},'
    tail_ip = f',"ip":{dump(ip, ensure_ascii=False)},"object_id":'
    prepared = []
    for r in rows:
        row_actor_id, row_label = actor_id, label
        if "actor" in r:
            row_actor_id = getattr(r["actor"], "pk", None)
            row_label = (r.get("actor_label") or getattr(r["actor"], "username", "")
                         or (str(r["actor"]) if r["actor"] is not None else ""))[:150]
        before_text = (_CANONICAL.encode(r["before"]) if r.get("before") is not None
                       else None)
        after_text = (_CANONICAL.encode(r["after"]) if r.get("after") is not None else None)
        row = (row_actor_id, row_label, r.get("org_path", ""), r["action"],
               r.get("object_type", ""), str(r.get("object_id", "")), before_text, after_text,
               r.get("outcome", "ok"))
        head_part = "".join((
            '{"action":', _text(row[3]),
            ',"actor_id":', dump(row_actor_id),
            ',"actor_label":', _text(row_label),
            ',"after":', after_text or "null", ',"before":', before_text or "null",
            ',"created_at":', created, tail_ip, _text(row[5]),
            ',"object_type":', _text(row[4]),
            ',"org_path":', _text(row[2]),
            ',"outcome":', _text(row[8]), ',"prev_hash":'))
        prepared.append((row, head_part, middle))
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # What the caller wrote is checked now (its foreign keys, the ledger's balance),
            # not at commit while this transaction holds the chain's head that every writer
            # waits on. Events come last (ADR 0008), so nothing written is still incomplete.
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE; SET CONSTRAINTS ALL DEFERRED")
        head, _ = ChainHead.objects.get_or_create(name="events")
        head = ChainHead.objects.select_for_update().get(pk=head.pk)
        seq, prev = head.seq, head.hash
        out = []
        for row, head_part, middle in prepared:
            seq += 1
            canonical = f'{head_part}"{prev}"{middle}"seq":{seq}}}'
            link = prev
            prev = hashlib.sha256(canonical.encode()).hexdigest()
            out.append((seq, stored_now, row[0], row[1], row[2], row[3], row[4], row[5], row[6],
                        row[7], row[8], request_id, ip, link, prev))
        insert_rows(Event, EVENT_COLS, out)
        ChainHead.objects.filter(pk=head.pk).update(seq=seq, hash=prev)


@dataclass(frozen=True)
class ChainProblem:
    seq: int
    message: str


def chain_verify(batch_size: int = 5000) -> Iterator[ChainProblem]:
    """Yield every break in the chain: altered rows, missing rows, a moved head."""
    expected_prev = GENESIS
    expected_seq = 1
    last_seq = 0
    qs = Event.objects.order_by("seq")
    for event in qs.iterator(chunk_size=batch_size):
        if event.seq != expected_seq:
            yield ChainProblem(event.seq, f"缺少事件 #{expected_seq}–#{event.seq - 1}（被删除）")
        if event.prev_hash != expected_prev:
            yield ChainProblem(event.seq, "前一事件的哈希不符：链条在此断开")
        if event_hash(event) != event.hash:
            yield ChainProblem(event.seq, "事件内容与哈希不符：该行已被篡改")
        expected_prev = event.hash
        expected_seq = event.seq + 1
        last_seq = event.seq
    head = ChainHead.objects.filter(name="events").first()
    if head is not None and head.seq != last_seq:
        yield ChainProblem(head.seq, f"链头记录到 #{head.seq}，但最后一条事件是 #{last_seq}")
