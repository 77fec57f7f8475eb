"""The intake of a large settlement delivery (a file of ``BULK_FROM`` records or more): the
validation, versions and matching of :func:`huzhu.claims.ingest.settlement_ingest`, done per
part in memory and written by COPY (PostgreSQL) / executemany (SQLite); on PostgreSQL outside a
transaction, two parts at a time in forked processes. Their automatic claims are then made by
:func:`huzhu.claims.bulk.claims_process_many`. See docs/adr/0004.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from huzhu.audit.services import event_record
from huzhu.bulk import Turn, among, forked_in_order, insert_rows, reserve_ids
from huzhu.members.models import Member
from huzhu.organisations.models import Organisation
from huzhu.pii.crypto import blind_index, cipher

from .ingest import local_tz, settlement_ingest_counted
from .models import AMOUNT_FIELDS, Settlement
from .settlement_format import SettlementError, content_hash, parse_record, raw_text

PART = 5000  # records a part


@dataclass
class BulkReport:
    """What a bulk delivery did: ``created`` new settlements (their ids in ``ids``, in record
    order), ``versions`` and ``unchanged`` among the records whose ``setl_id`` was stored
    before (or came earlier in the delivery: ``slow`` of them, taken one by one),
    ``matched`` to a member, and the refused records."""

    created: int = 0
    slow: int = 0
    versions: int = 0
    unchanged: int = 0
    matched: int = 0
    errors: list[SettlementError] = field(default_factory=list)
    ids: list[int] = field(default_factory=list)


SETTLEMENT_COLS = (
    "id", "setl_id", "version", "is_current", "content_hash", "raw", "mdtrt_id", "psn_no",
    "psn_name", "certno", "certno_bidx", "gend", "brdy", "insutype", "med_type", "begndate",
    "enddate", "setl_time", "fixmedins_code", "fixmedins_name", "hosp_lv", "diag_code",
    "diag_name", *(f"{n}_fen" for n in AMOUNT_FIELDS), "member_id", "matched_at", "org_path",
    "fund_region_id", "source", "batch_id", "created_by_id", "created_at")


def _setl_key(raw: Any) -> str:
    """The ``setl_id`` a record will have once parsed (``parse_record`` strips it)."""
    value = raw.get("setl_id") if isinstance(raw, dict) else None
    return "" if value is None else str(value).strip()


def settlements_ingest_many(records: list[dict[str, Any]], *, actor: Any, fund_region: Organisation,
                            source: str = "file", batch: Any = None,
                            as_of: datetime.date | None = None) -> BulkReport:
    """Validate, store and match many records; bad ones are reported, good ones kept.

    The first record of each ``setl_id`` not stored before goes in by COPY, in parts of
    ``PART`` records (on PostgreSQL outside a transaction, two parts at a time in forked
    processes: no two parts hold the same ``setl_id``). Every other record (a ``setl_id``
    already stored, or repeated in the delivery) then goes through
    :func:`huzhu.claims.ingest.settlement_ingest` one by one in record order: a new version,
    or nothing when its content is unchanged."""
    report = BulkReport()
    first: list[int] = []
    later: list[int] = []
    keys: set[str] = set()
    for i, raw in enumerate(records):
        key = _setl_key(raw)
        if key and key in keys:
            later.append(i)
            continue
        keys.add(key)
        first.append(i)
    parts = [first[i:i + PART] for i in range(0, len(first), PART)]
    work = partial(_ingest_part, records=records, actor_id=getattr(actor, "pk", None),
                   region_id=fund_region.pk, source=source,
                   batch_id=getattr(batch, "pk", None))
    if len(parts) > 1 and connection.vendor == "postgresql" and not connection.in_atomic_block:
        results = forked_in_order(parts, work)
    else:
        results = [work(part, None) for part in parts]
    errors = []
    for ids, matched, known, refused in results:
        report.ids.extend(ids)
        report.created += len(ids)
        report.matched += matched
        later.extend(known)
        errors.extend(SettlementError(*e) for e in refused)
    for i in sorted(later):
        report.slow += 1
        settlement_ingest_counted(report, errors, record=records[i], record_no=i + 1,
                                  actor=actor, source=source, fund_region=fund_region,
                                  batch=batch, as_of=as_of)
    report.errors = sorted(errors, key=lambda e: e.record)
    if batch is not None:  # the file's import reports itself (settlement_import_file)
        return report
    event_record(action="settlement.imported", actor=actor, org_path=fund_region.path,
                 object_type="claims.settlement", object_id="bulk",
                 after={"created": report.created, "versions_or_repeats": report.slow,
                        "errors": len(report.errors)})
    return report


def _ingest_part(part: list[int], turn: Turn | None, *, records: list[dict[str, Any]],
                 actor_id: int | None, region_id: int, source: str, batch_id: int | None
                 ) -> tuple[list[int], int, list[int], list[tuple]]:
    """Parse, encrypt, match and COPY the records at ``part`` (indexes into ``records``, each
    the first of its ``setl_id`` in the delivery). Returns the new ids, how many matched, the
    indexes whose ``setl_id`` is already stored, and the refusals as
    ``(field, message, record number, setl_id)`` (plain tuples cross a process boundary)."""
    refused: list[tuple] = []
    clean: list[tuple[dict, dict, int]] = []
    for i in part:
        raw = records[i]
        try:
            clean.append((parse_record(raw), raw, i))
        except SettlementError as exc:
            refused.append((exc.field, exc.message, i + 1, _setl_key(raw)))
    known = set(Settlement.objects.filter(among(
        Settlement, "setl_id", {v["setl_id"] for v, _, _ in clean}, "text"))
        .values_list("setl_id", flat=True))
    again = [i for v, _, i in clean if v["setl_id"] in known]
    fresh = [(v, raw, blind_index(v["certno"], field="id_number"))
             for v, raw, _ in clean if v["setl_id"] not in known]
    members = dict(Member.objects.filter(
        among(Member, "id_number_bidx", {b for _, _, b in fresh}, "text"))
                   .values_list("id_number_bidx", "id"))
    paths = dict(Member.objects.filter(among(Member, "id", members.values()))
                 .values_list("id", "org_path"))
    c = cipher()
    aad = {f: f"claims.settlement.{f}" for f in ("raw", "certno", "diag_code", "diag_name")}
    tz = local_tz()
    now = timezone.now()
    matched = 0
    rows = []
    for v, raw, bidx in fresh:
        mid = members.get(bidx)
        matched += mid is not None
        rows.append([
            None, v["setl_id"], 1, True, content_hash(v),
            c.encrypt(raw_text(raw), field=aad["raw"]), v["mdtrt_id"], v["psn_no"],
            v["psn_name"], c.encrypt(v["certno"], field=aad["certno"]), bidx, v["gend"],
            v["brdy"], v["insutype"], v["med_type"], v["begndate"], v["enddate"],
            v["setl_time"].replace(tzinfo=tz), v["fixmedins_code"], v["fixmedins_name"],
            v["hosp_lv"],
            c.encrypt(v["diag_code"], field=aad["diag_code"]) if v["diag_code"] else None,
            c.encrypt(v["diag_name"], field=aad["diag_name"]) if v["diag_name"] else None,
            *(v[f"{n}_fen"] for n in AMOUNT_FIELDS), mid, now if mid else None,
            paths.get(mid, ""), region_id, source, batch_id, actor_id, now])
    with transaction.atomic():
        if turn is not None:
            turn.write()
        ids = reserve_ids(Settlement, len(rows))
        for pk, row in zip(ids, rows, strict=True):
            row[0] = pk
        insert_rows(Settlement, SETTLEMENT_COLS, rows)
        if turn is not None:
            turn.commit()
    return ids, matched, again, refused
