"""Settlement records in: one record (API push, agent entry) or a whole file, each record
validated, stored as a new version when its content changed, and matched to a member.

A file is read record by record: a bad record is reported with its number and field and
writes nothing; good records are kept (each in its own savepoint, or, from ``BULK_FROM``
records, set-wise through :mod:`huzhu.claims.intake`, which means the same). Sending the same record
again is a no-op; a corrected record (same ``setl_id``, other content) becomes the next
version and the claims on it are assessed again.
"""

from __future__ import annotations

import datetime
import hashlib
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Max
from django.utils import timezone

from huzhu.audit.services import event_record
from huzhu.errors import DomainError
from huzhu.members.models import Member
from huzhu.organisations.models import Organisation
from huzhu.pii.crypto import blind_index

from .models import Settlement, SettlementImport, SettlementSource
from .settlement_format import (
    SettlementError,
    content_hash,
    iter_records,
    parse_record,
    raw_text,
)

CREATED, VERSION, UNCHANGED = "created", "version", "unchanged"
# Files of at least this many records go through the bulk path (huzhu/claims/bulk.py).
BULK_FROM = 500
OUTCOME_ZH = {CREATED: "新增", VERSION: "更正（新版本）", UNCHANGED: "重复（未改变）"}


def local_tz() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(getattr(settings, "DISPLAY_TIME_ZONE", "Asia/Shanghai"))


def fund_region_for(actor: Any, fund_region: Organisation | None = None) -> Organisation:
    """The importing user's fund region; without a user, the only fund region there is."""
    if fund_region is not None:
        return fund_region
    org = getattr(actor, "organisation", None) or getattr(getattr(actor, "unit", None),
                                                          "organisation", None)
    if org is not None and org.fund_region_id:
        return org.fund_region
    regions = list(Organisation.objects.filter(is_fund_region=True)[:2])
    if len(regions) == 1:
        return regions[0]
    raise DomainError("无法确定结算数据所属的统筹区：请指定统筹区", code="no_region")


@dataclass
class IngestResult:
    settlement: Settlement
    outcome: str  # created | version | unchanged


def _model_values(clean: dict[str, Any]) -> dict[str, Any]:
    values = dict(clean)
    values["setl_time"] = values["setl_time"].replace(tzinfo=local_tz())
    values["diag_code"] = values["diag_code"] or None
    values["diag_name"] = values["diag_name"] or None
    return values


def member_for_certno(certno: str) -> Member | None:
    return Member.objects.filter(id_number_bidx=blind_index(certno, field="id_number")).first()


def _store(clean: dict[str, Any], raw: dict[str, Any], *, actor: Any, source: str,
           region: Organisation, batch: SettlementImport | None) -> IngestResult:
    digest = content_hash(clean)
    setl_id = clean["setl_id"]
    same = Settlement.objects.filter(setl_id=setl_id, content_hash=digest).first()
    if same is not None:
        return IngestResult(same, UNCHANGED)
    last = Settlement.objects.filter(setl_id=setl_id).aggregate(v=Max("version"))["v"] or 0
    if last:
        Settlement.objects.filter(setl_id=setl_id, is_current=True).update(is_current=False)
    member = member_for_certno(clean["certno"])
    s = Settlement(
        **_model_values(clean), version=last + 1, is_current=True, content_hash=digest,
        raw=raw_text(raw), certno_bidx=blind_index(clean["certno"], field="id_number"),
        member=member, matched_at=timezone.now() if member else None,
        org_path=member.org_path if member else "", fund_region=region, source=source,
        batch=batch, created_by=actor if getattr(actor, "pk", None) else None)
    s.save(force_insert=True)
    event_record(action="settlement.received", actor=actor, obj=s,
                 org_path=s.org_path or region.path,
                 after={"setl_id": setl_id, "version": s.version, "matched": member is not None,
                        "source": source})
    return IngestResult(s, VERSION if last else CREATED)


def settlement_ingest(*, record: dict[str, Any], actor: Any, source: str = SettlementSource.API,
                      fund_region: Organisation | None = None,
                      batch: SettlementImport | None = None, record_no: int = 0,
                      as_of: datetime.date | None = None) -> IngestResult:
    """Validate and store one record; raise :class:`SettlementError` (nothing written).
    ``as_of``: the day its automatic claims are assessed on (today when not given)."""
    try:
        clean = parse_record(record)
    except SettlementError as exc:
        exc.record = record_no
        exc.setl_id = str(record.get("setl_id", "")) if isinstance(record, dict) else ""
        raise
    region = fund_region_for(actor, fund_region)
    for attempt in range(2):
        try:
            with transaction.atomic():
                result = _store(clean, record, actor=actor, source=source, region=region,
                                batch=batch)
                if result.outcome == VERSION:
                    from .services import claims_on_corrected_settlement

                    claims_on_corrected_settlement(result.settlement, actor=actor)
            break
        except IntegrityError:  # a concurrent push of the same setl_id: read it again
            if attempt:
                raise
    if result.outcome != UNCHANGED and result.settlement.member_id:
        from .services import claims_create_auto

        claims_create_auto(settlements=[result.settlement], actor=actor, as_of=as_of)
    return result


@dataclass
class ImportReport:
    file_name: str
    records: int = 0
    created: int = 0
    versions: int = 0
    unchanged: int = 0
    matched: int = 0
    errors: list[SettlementError] = field(default_factory=list)
    batch: SettlementImport | None = None
    claims: dict[str, int] = field(default_factory=dict)  # automatic claims by status

    @property
    def ok(self) -> bool:
        return not self.errors

    def lines_zh(self) -> list[str]:
        from .status import ClaimStatus

        out = [f"文件 {self.file_name}：共 {self.records} 条记录，新增 {self.created} 条，"
               f"更正 {self.versions} 条，重复 {self.unchanged} 条，已匹配会员 {self.matched} 条，"
               f"错误 {len(self.errors)} 条。"]
        if self.claims:
            parts = "，".join(f"{ClaimStatus(s).label} {n} 件" for s, n in sorted(self.claims.items()))
            out.append(f"免申即享理赔 {sum(self.claims.values())} 件：{parts}。")
        out += [e.text() for e in self.errors]
        return out


def settlement_import_file(*, path_or_bytes: str | Path | bytes, file_name: str = "",
                           actor: Any = None, fund_region: Organisation | None = None,
                           as_of: datetime.date | None = None) -> ImportReport:
    """Import a JSON / JSON-lines / CSV file record by record and report on each; a file of
    ``BULK_FROM`` records or more goes through the bulk path, which means the same but writes
    one ``settlement.imported`` event for the file rather than one per record."""
    if isinstance(path_or_bytes, bytes):
        data = path_or_bytes
    else:
        data = Path(path_or_bytes).read_bytes()
        file_name = file_name or Path(path_or_bytes).name
    report = ImportReport(file_name=file_name)
    region = fund_region_for(actor, fund_region)
    try:
        items = list(iter_records(data, file_name))
    except SettlementError as exc:
        report.errors.append(exc)
        return report
    batch = SettlementImport.objects.create(
        file_name=file_name[:200], sha256=hashlib.sha256(data).hexdigest(), fund_region=region,
        created_by=actor if getattr(actor, "pk", None) else None)
    report.batch = batch
    if len(items) >= BULK_FROM:
        _import_bulk(report, items, actor=actor, region=region, batch=batch, as_of=as_of)
    else:
        _import_one_by_one(report, items, actor=actor, region=region, batch=batch, as_of=as_of)
    from .models import Claim

    report.claims = dict(Claim.objects.filter(settlement__batch=batch).values_list("status")
                         .annotate(n=Count("id")).order_by())
    SettlementImport.objects.filter(pk=batch.pk).update(
        records=report.records, created=report.created, versions=report.versions,
        unchanged=report.unchanged, error_count=len(report.errors),
        errors=[e.as_dict() for e in report.errors[:1000]])
    event_record(action="settlement.imported", actor=actor, obj=batch, org_path=region.path,
                 after={"file": file_name, "records": report.records, "created": report.created,
                        "versions": report.versions, "errors": len(report.errors)})
    return report


def settlement_ingest_counted(tally: Any, errors: list[SettlementError], *, record: Any,
                              record_no: int, **kwargs: Any) -> None:
    """:func:`settlement_ingest` for one record of a delivery: its outcome counted on ``tally``
    (``created``, ``versions``, ``unchanged``, ``matched``), its refusal appended to
    ``errors`` with its record number."""
    try:
        result = settlement_ingest(record=record, record_no=record_no, **kwargs)
    except SettlementError as exc:
        errors.append(exc)
        return
    except DomainError as exc:
        setl_id = str(record.get("setl_id", "")) if isinstance(record, dict) else ""
        errors.append(SettlementError("", exc.message, record_no, setl_id))
        return
    if result.outcome == CREATED:
        tally.created += 1
    elif result.outcome == VERSION:
        tally.versions += 1
    else:
        tally.unchanged += 1
    tally.matched += result.outcome != UNCHANGED and result.settlement.member_id is not None


def _import_one_by_one(report: ImportReport, items: list[tuple[int, Any]], *, actor: Any,
                       region: Organisation, batch: SettlementImport,
                       as_of: datetime.date | None) -> None:
    for n, item in items:
        report.records += 1
        if isinstance(item, SettlementError):
            item.record = n
            report.errors.append(item)
            continue
        settlement_ingest_counted(report, report.errors, record=item, record_no=n, actor=actor,
                                  source=SettlementSource.FILE, fund_region=region, batch=batch,
                                  as_of=as_of)


def _import_bulk(report: ImportReport, items: list[tuple[int, Any]], *, actor: Any,
                 region: Organisation, batch: SettlementImport,
                 as_of: datetime.date | None) -> None:
    """A large file through the bulk path (docs/adr/0004): the same checks, outcomes and
    automatic claims as one by one, with each table written set-wise."""
    from .bulk import claims_process_many
    from .intake import settlements_ingest_many

    numbers, records = [], []
    for n, item in items:
        report.records += 1
        if isinstance(item, SettlementError):
            item.record = n
            report.errors.append(item)
        else:
            numbers.append(n)
            records.append(item)
    intake = settlements_ingest_many(records, actor=actor, fund_region=region,
                                     source=SettlementSource.FILE, batch=batch, as_of=as_of)
    for exc in intake.errors:
        exc.record = numbers[exc.record - 1] if exc.record else exc.record
    report.errors = sorted(report.errors + intake.errors, key=lambda e: e.record)
    report.created, report.versions = intake.created, intake.versions
    report.unchanged, report.matched = intake.unchanged, intake.matched
    claims_process_many(intake.ids, actor=actor, as_of=as_of)


def settlement_match_retry(*, settlements: Any, actor: Any = None) -> int:
    """Match unmatched current settlements again (a member may have registered since);
    return how many found their member. Matched ones get their automatic claims."""
    pending = list(settlements.filter(member__isnull=True, is_current=True))
    if not pending:
        return 0
    members = {m.id_number_bidx: m for m in Member.objects.filter(
        id_number_bidx__in={s.certno_bidx for s in pending})}
    matched = []
    now = timezone.now()
    with transaction.atomic():
        for s in pending:
            member = members.get(s.certno_bidx)
            if member is None:
                continue
            Settlement.objects.filter(pk=s.pk, member__isnull=True).update(
                member=member, matched_at=now, org_path=member.org_path)
            s.member, s.matched_at, s.org_path = member, now, member.org_path
            matched.append(s)
            event_record(action="settlement.matched", actor=actor, obj=s,
                         after={"setl_id": s.setl_id, "version": s.version, "member": member.pk})
    if matched:
        from .services import claims_create_auto

        claims_create_auto(settlements=matched, actor=actor)
    return len(matched)
