"""Personal-data keys: the inventory, and re-encryption under a new key (TRUST S-14).

The keyring is ``HUZHU_PII_KEYS`` (or the file named by ``HUZHU_PII_KEYS_FILE``):
``"1:<key>,2:<key>"``; the highest version encrypts every new value, every configured version
decrypts (huzhu/pii/crypto.py). Each stored value carries the version of the key that sealed it.

Rotating is three steps (docs/operations.md): add a new version to the keyring
(:func:`keyring_extend`, ``huzhu keys new``) and restart every process with it; re-encrypt
everything still under an older version (:func:`rotate`, ``huzhu keys rotate``); once
``huzhu keys status`` shows nothing under the old versions, and no backup that still needs them
is kept, take them out of the keyring.

:func:`rotate` walks every encrypted column (every ``EncryptedTextField`` of every model, and
the task payloads) in primary-key order, a batch at a time: it reads the stored values,
decrypts those sealed under an older version and seals the plaintext again under the current
one, then writes the batch in one transaction with a compare-and-set (``WHERE value = <what was
read>``, so a value the application changed meanwhile is left as the application wrote it),
together with one ``keys.reencrypted`` event. A value is always sealed once: the plaintext is
what is sealed again, never the old ciphertext. A run killed at any point leaves every value
under one key or the other, each readable; running again skips what is done and finishes the
rest. Sealed files (claim documents, uploaded rosters, bank files) are re-encrypted one by one
into a temporary file that replaces
the old one atomically.

Key material is never printed, logged or recorded: keys are named by version and fingerprint.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.db import connection

from huzhu.audit.models import Action
from huzhu.audit.services import atomic_events, event_record
from huzhu.pii.crypto import AesGcmCipher, cipher, parse_keyring
from huzhu.pii.fields import EncryptedTextField

ACTOR = "huzhu keys rotate"
DOCUMENTS = "claims.ClaimDocument（理赔材料文件）"
ROSTERS = "enrollment.Roster（上传的花名册文件）"
BANK_FILES = "payouts.PayoutBatch（银行代发文件）"
FILE_KINDS = (DOCUMENTS, ROSTERS, BANK_FILES)


@dataclass(frozen=True)
class Column:
    """One encrypted column: its name for people, where it is, and its associated data."""

    label: str
    table: str
    pk: str
    column: str
    aad: str


def fingerprint(key: bytes) -> str:
    """A key's public name: 12 hex digits of a hash of it, nothing that helps recover it."""
    return hashlib.sha256(b"huzhu-key-fingerprint:" + key).hexdigest()[:12]


def keyring() -> dict[int, bytes]:
    return parse_keyring(settings.PII_KEYS)


def encrypted_columns() -> list[Column]:
    """Every column that holds personal data sealed by the configured cipher."""
    from huzhu.settlements.intake import BLOB_FIELD
    from huzhu.work.models import PartData

    columns = []
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue  # a proxy's table is its concrete model's, rotated once
        for field in model._meta.concrete_fields:
            if isinstance(field, EncryptedTextField):
                columns.append(Column(f"{model._meta.label}.{field.name}", model._meta.db_table,
                                      model._meta.pk.column, field.column, field.aad()))
    # A part of a delivery waiting for its task: the records, sealed (ADR 0009).
    columns.append(Column("work.PartData.data", PartData._meta.db_table,
                          PartData._meta.pk.column, "data", BLOB_FIELD))
    return sorted(columns, key=lambda c: c.label)


def _rows(column: Column, after: int, limit: int) -> list[tuple[int, bytes]]:
    q = connection.ops.quote_name
    sql = (f"SELECT {q(column.pk)}, {q(column.column)} FROM {q(column.table)} "
           f"WHERE {q(column.pk)} > %s AND {q(column.column)} IS NOT NULL "
           f"ORDER BY {q(column.pk)} LIMIT %s")  # names from the models, never from input
    with connection.cursor() as cur:
        cur.execute(sql, [after, limit])
        return [(pk, bytes(value)) for pk, value in cur.fetchall()]


def _scan(column: Column, batch: int) -> Iterator[list[tuple[int, bytes]]]:
    after = 0
    while True:
        rows = _rows(column, after, batch)
        if not rows:
            return
        yield rows
        after = rows[-1][0]


def _version(token: bytes) -> int:
    return int.from_bytes(token[1:3], "big") if len(token) >= 3 else -1


def column_versions(column: Column, batch: int = 5000) -> Counter[int]:
    """How many values of a column are sealed under each key version."""
    counts: Counter[int] = Counter()
    for rows in _scan(column, batch):
        counts.update(_version(token) for _, token in rows)
    return counts


@dataclass(frozen=True)
class SealedFile:
    kind: str          # DOCUMENTS, ROSTERS or BANK_FILES
    object_type: str
    object_id: str
    label: str         # the additional data the file was sealed with
    path: Path


def sealed_files() -> Iterator[SealedFile]:
    """Every file sealed with the personal-data key: claim documents, uploaded rosters and bank
    files (huzhu.pii.files)."""
    from huzhu.claims.documents import AAD, _path
    from huzhu.claims.models import ClaimDocument
    from huzhu.enrollment.services import ROSTER_AAD, rosters_dir
    from huzhu.payouts.channels import BANK_FILE_AAD, outgoing_dir

    for pk, storage in ClaimDocument.objects.order_by("pk").values_list("pk", "storage_name"):
        yield SealedFile(DOCUMENTS, "claims.claimdocument", str(pk), f"{AAD}:{storage}",
                         _path(storage))
    root = rosters_dir()
    for path in sorted(root.iterdir()) if root.exists() else []:
        if path.is_file() and path.suffix in {".xlsx", ".csv"}:
            yield SealedFile(ROSTERS, "enrollment.roster.file", path.stem,
                             f"{ROSTER_AAD}:{path.stem}", path)
    out = outgoing_dir()
    for path in sorted(out.iterdir()) if out.exists() else []:
        if path.is_file() and path.suffix == ".csv":
            yield SealedFile(BANK_FILES, "payouts.bankfile", path.stem,
                             f"{BANK_FILE_AAD}:{path.stem}", path)


def file_versions(kind: str) -> Counter[int]:
    """How many files of ``kind`` are sealed under each key version (plaintext ones, left by
    an old version until ``huzhu files seal``, are not counted)."""
    from huzhu.pii.files import is_sealed

    counts: Counter[int] = Counter()
    for f in sealed_files():
        if f.kind == kind and f.path.exists() and is_sealed(f.path):
            with f.path.open("rb") as handle:
                counts[_version(handle.read(3))] += 1
    return counts


def document_versions() -> Counter[int]:
    return file_versions(DOCUMENTS)


@dataclass
class Progress:
    label: str
    reencrypted: int
    last_id: int


def rotate(*, batch: int = 500, throttle: float = 0.0,
           report: Callable[[Progress], None] | None = None) -> dict[str, int]:
    """Re-encrypt every value sealed under an older key version with the current one; how many
    values of each column (and documents) were re-encrypted. Safe to run again at any time."""
    c = cipher()
    done: dict[str, int] = {}
    for column in encrypted_columns():
        done[column.label] = 0
        for rows in _scan(column, batch):
            count = _rotate_rows(c, column, rows)
            done[column.label] += count
            if count and report:
                report(Progress(column.label, count, rows[-1][0]))
            if count and throttle:
                time.sleep(throttle)
    for kind in FILE_KINDS:
        done[kind] = 0
    for f in sealed_files():
        if _rotate_file(c, f):
            done[f.kind] += 1
            if report:
                report(Progress(f.kind, 1, int(f.object_id) if f.object_id.isdigit() else 0))
            if throttle:
                time.sleep(throttle)
    event_record(action=Action.KEYS_ROTATED, actor_label=ACTOR, object_type="pii.keyring",
                 object_id=str(c.current_version),
                 after={"to_version": c.current_version,
                        "reencrypted": {k: v for k, v in done.items() if v}})
    return done


def _rotate_rows(c: AesGcmCipher, column: Column, rows: list[tuple[int, bytes]]) -> int:
    todo = []
    for pk, token in rows:
        if _version(token) != c.current_version:
            plain = c.decrypt_bytes(token, field=column.aad)
            todo.append((c.encrypt_bytes(plain, field=column.aad), pk, token, _version(token)))
    if not todo:
        return 0
    q = connection.ops.quote_name
    sql = (f"UPDATE {q(column.table)} SET {q(column.column)} = %s "
           f"WHERE {q(column.pk)} = %s AND {q(column.column)} = %s")  # names from the models
    binary = connection.Database.Binary  # type: ignore[attr-defined]
    changed = 0
    with atomic_events(), connection.cursor() as cur:
        for new, pk, old, _ in todo:
            cur.execute(sql, [binary(new), pk, binary(old)])
            changed += cur.rowcount
        event_record(action=Action.KEYS_REENCRYPTED, actor_label=ACTOR,
                     object_type="pii.column", object_id=column.label,
                     after={"column": column.label, "count": changed,
                            "from_versions": sorted({v for *_, v in todo}),
                            "to_version": c.current_version,
                            "first_id": str(todo[0][1]), "last_id": str(todo[-1][1])})
    return changed


def _rotate_file(c: AesGcmCipher, f: SealedFile) -> bool:
    from huzhu.pii.files import is_sealed

    if not f.path.exists() or not is_sealed(f.path):
        return False  # purged, or still plaintext (huzhu files seal seals it under the new key)
    token = f.path.read_bytes()
    if _version(token) == c.current_version:
        return False
    sealed = c.encrypt_bytes(c.decrypt_bytes(token, field=f.label), field=f.label)
    tmp = f.path.with_name(f".{f.path.name}.{secrets.token_hex(4)}.tmp")
    with tmp.open("wb") as handle:
        handle.write(sealed)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, f.path)  # atomic: the file is the old sealing or the new, never half
    event_record(action=Action.KEYS_REENCRYPTED, actor_label=ACTOR,
                 object_type=f.object_type, object_id=f.object_id,
                 after={"column": f.kind, "count": 1,
                        "from_versions": [_version(token)], "to_version": c.current_version})
    return True


def new_key_text() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def keyring_extend(spec: str) -> tuple[str, int]:
    """The keyring with one more version (the highest + 1, a fresh random key) and its number."""
    keys = parse_keyring(spec)
    version = max(keys) + 1
    return f"{spec.strip().rstrip(',')},{version}:{new_key_text()}", version


def index_keyring_extend(spec: str) -> tuple[str, int]:
    """The blind-index keyring with one more version; a single key (the format before
    keyrings) becomes version 1."""
    from huzhu.pii.crypto import parse_index_keyring

    keys = parse_index_keyring(spec)
    if any("," in k or ":" in k for k in keys.values()):
        raise ValueError("检索密钥含逗号或冒号，不能放入密钥环：请先换用 huzhu keys new 生成的格式")
    version = max(keys) + 1
    return ",".join(f"{v}:{k}" for v, k in sorted(keys.items())) + f",{version}:{new_key_text()}", \
        version
