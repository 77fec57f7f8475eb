"""Blind-index key rotation (TRUST S-14, docs/adr/0014): recompute every blind index under a
new index key.

A blind index is an HMAC of a normalised value (huzhu/pii/crypto.py) kept beside the sealed
value so that an exact lookup (a member by ID number, an agent by phone) needs no decryption.
The index key is a keyring like the encryption key (``HUZHU_PII_INDEX_KEY="1:<key>,2:<key>"``):
the highest version indexes new values, and a lookup asks for the value's index under every
configured version, so rows not yet recomputed are found during a rotation. Each stored index
names its version (``v2:…``; no prefix is version 1), which is the progress: there is no
progress table, a killed run leaves every index under one key or the other, and the next run
finishes the rest.

Indexes of one kind (``field``: the ID number, the phone, the bank card) are compared across
tables — a settlement's ``certno_bidx`` with a member's ``id_number_bidx``, a sign-up request's
``id_bidx`` with both. So a batch is per kind: for each stored index under an older key whose
own row holds the plaintext, the plaintext is decrypted, the old index checked against it
(an index that does not check is counted, never overwritten), and the new index computed; then
in one transaction, with one ``keys.reindexed`` event, every column of that kind is updated
``WHERE index = <old>`` — compare-and-set, and a person's rows in every table move together.
A member's unique index stays unique: the old and the new index of one ID number never exist
together, and a new member is checked against the indexes under every key.

Sign-up requests (accounts.SignupCode) keep no plaintext: their indexes move with the member's
or the agent's; the rest (someone who is not a member) only count towards an hourly rate limit,
so once expired and an hour old they are cleared. Their code digests live ten minutes and are
checked under the key they name.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.db import models
from django.utils import timezone

from huzhu.audit.models import Action
from huzhu.audit.services import atomic_events, event_record
from huzhu.pii.crypto import (
    blind_index,
    index_key_bytes,
    index_keyring,
    index_prefix,
    index_version,
)

ACTOR = "huzhu keys rotate --index"


@dataclass(frozen=True)
class IndexColumn:
    """One blind-index column: its kind (the ``field`` of :func:`blind_index`) and the sealed
    column of the same row holding the plaintext, if any."""

    label: str
    model: str
    column: str
    field: str
    source: str | None
    digits: bool = False

    def model_class(self) -> type[models.Model]:
        return apps.get_model(self.model)

    def normalise(self, plain: str) -> str:
        return "".join(ch for ch in plain if ch.isdigit()) if self.digits else plain


INDEX_COLUMNS = (
    IndexColumn("members.Member.id_number_bidx", "members.Member", "id_number_bidx",
                "id_number", "id_number"),
    IndexColumn("settlements.Settlement.certno_bidx", "settlements.Settlement", "certno_bidx",
                "id_number", "certno"),
    IndexColumn("accounts.SignupCode.id_bidx", "accounts.SignupCode", "id_bidx",
                "id_number", None),
    IndexColumn("members.Member.phone_bidx", "members.Member", "phone_bidx", "phone", "phone"),
    IndexColumn("organisations.Agent.phone_bidx", "organisations.Agent", "phone_bidx",
                "phone", "phone"),
    IndexColumn("accounts.SignupCode.phone_bidx", "accounts.SignupCode", "phone_bidx",
                "phone", None),
    IndexColumn("payouts.PayoutLine.account_no_bidx", "payouts.PayoutLine", "account_no_bidx",
                "bank_card", "account_no", digits=True),
)
FIELDS = ("id_number", "phone", "bank_card")
SIGNUP_WINDOW = datetime.timedelta(hours=1)  # accounts/signup.py: the rate limits' window


def index_fingerprint(key: str) -> str:
    from huzhu.ops.keys import fingerprint

    return fingerprint(index_key_bytes(key))


def _stale(col: IndexColumn, current: int) -> models.QuerySet:
    """The rows of ``col`` whose index is not under the current version."""
    qs = col.model_class()._default_manager.exclude(**{col.column: ""})
    if current == 1:
        return qs.filter(**{f"{col.column}__startswith": "v"})
    return qs.exclude(**{f"{col.column}__startswith": index_prefix(current)})


def column_index_versions(col: IndexColumn) -> dict[int, int]:
    """How many indexes of a column are under each version (0: a format no key makes)."""
    keys = index_keyring()
    qs = col.model_class()._default_manager.exclude(**{col.column: ""})
    counts: dict[int, int] = {}
    total = qs.count()
    plain = qs.exclude(**{f"{col.column}__startswith": "v"}).count()
    if plain:
        counts[1] = plain
    for version in sorted(v for v in keys if v > 1):
        n = qs.filter(**{f"{col.column}__startswith": index_prefix(version)}).count()
        if n:
            counts[version] = n
    rest = total - sum(counts.values())
    if rest:
        counts[0] = rest  # indexed under a version no longer (or not yet) configured
    return counts


@dataclass
class Progress:
    label: str
    recomputed: int
    last_id: int


def _batch(col: IndexColumn, current: int, after: int, batch: int
           ) -> tuple[dict[str, str], int, int, list[int]]:
    """Read a batch of stale rows of a column with its plaintext: {old index: new index}, the
    last primary key read, how many did not check, and the versions seen."""
    assert col.source is not None
    rows = list(_stale(col, current).filter(pk__gt=after).order_by("pk")
                .values_list("pk", col.column, col.source)[:batch])
    if not rows:
        return {}, -1, 0, []
    keys = index_keyring()
    moves: dict[str, str] = {}
    bad = 0
    versions: set[int] = set()
    for _pk, stored, plain in rows:
        version = index_version(stored)
        value = col.normalise(plain or "")
        if (not value or version not in keys
                or blind_index(value, field=col.field, version=version) != stored):
            bad += 1  # not the index of its own row's value: left for a person to look at
            continue
        versions.add(version)
        moves[stored] = blind_index(value, field=col.field)
    return moves, rows[-1][0], bad, sorted(versions)


def _apply(field: str, moves: dict[str, str]) -> dict[str, int]:
    """Move every column of kind ``field`` from the old indexes to the new ones."""
    changed: dict[str, int] = {}
    for col in INDEX_COLUMNS:
        if col.field != field:
            continue
        manager = col.model_class()._default_manager
        n = 0
        for old, new in moves.items():
            n += manager.filter(**{col.column: old}).update(**{col.column: new})
        if n:
            changed[col.label] = n
    return changed


def rotate_index(*, batch: int = 500, throttle: float = 0.0,
                 report: Callable[[Progress], None] | None = None,
                 now: datetime.datetime | None = None) -> dict[str, Any]:
    """Recompute every blind index not under the current index key; safe to run again."""
    current = max(index_keyring())
    done: dict[str, int] = {col.label: 0 for col in INDEX_COLUMNS}
    unverified: dict[str, int] = {}
    for col in INDEX_COLUMNS:
        if col.source is None:
            continue
        after = 0
        while True:
            moves, last, bad, versions = _batch(col, current, after, batch)
            if last < 0:
                break
            after = last
            if bad:
                unverified[col.label] = unverified.get(col.label, 0) + bad
            if not moves:
                continue
            with atomic_events():
                changed = _apply(col.field, moves)
                if changed:
                    event_record(action=Action.KEYS_REINDEXED, actor_label=ACTOR,
                                 object_type="pii.index", object_id=col.label,
                                 after={"field": col.field, "counts": changed,
                                        "count": sum(changed.values()),
                                        "from_versions": versions, "to_version": current,
                                        "last_id": str(last)})
            for label, n in changed.items():
                done[label] += n
            if report and changed:
                report(Progress(col.label, sum(changed.values()), last))
            if throttle and changed:
                time.sleep(throttle)
    cleared = _clear_signup_leftovers(current, now or timezone.now())
    event_record(action=Action.KEYS_INDEX_ROTATED, actor_label=ACTOR,
                 object_type="pii.index_keyring", object_id=str(current),
                 after={"to_version": current, "recomputed": {k: v for k, v in done.items() if v},
                        "unverified": unverified, "cleared": cleared})
    return {"recomputed": done, "unverified": unverified, "cleared": cleared}


def _clear_signup_leftovers(current: int, now: datetime.datetime) -> dict[str, int]:
    """Sign-up requests of someone who is neither a member nor an agent keep an index under
    the old key that no plaintext can recompute; once expired and out of the rate limits'
    window they serve nothing, and are cleared (the request's row and event stay)."""
    cleared: dict[str, int] = {}
    for col in INDEX_COLUMNS:
        if col.source is not None:
            continue
        qs = _stale(col, current).filter(created_at__lt=now - SIGNUP_WINDOW,
                                          expires_at__lt=now)
        with atomic_events():
            n = qs.update(**{col.column: ""})
            if n:
                event_record(action=Action.KEYS_REINDEXED, actor_label=ACTOR,
                             object_type="pii.index", object_id=col.label,
                             after={"field": col.field, "counts": {col.label: n}, "count": n,
                                    "cleared": True, "to_version": current})
        if n:
            cleared[col.label] = n
    return cleared


def stale_index_count() -> int:
    current = max(index_keyring())
    return sum(_stale(col, current).count() for col in INDEX_COLUMNS)
