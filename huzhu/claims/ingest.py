"""Settlement records in, as a push of one record or a file: both through the one road,
:func:`huzhu.claims.intake.settlements_receive` (a record is a delivery of one). A bad record is
reported with its number and field and writes nothing; good records are kept. Sending the same
record again changes nothing (and finishes its decision if a crash cut it short); a corrected
record (same ``setl_id``, other content) becomes the next version and the claims on it are
assessed again.
"""

from __future__ import annotations

import datetime
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from huzhu.actors import Actor
from huzhu.audit.services import event_record, events_record_many
from huzhu.bulk import among
from huzhu.members.models import Member
from huzhu.organisations.models import Organisation

from .intake import (  # noqa: F401  (the outcomes are part of this module's answer)
    CREATED,
    OUTCOME_ZH,
    UNCHANGED,
    VERSION,
    receiving_region,
    settlements_receive,
)
from .models import Settlement, SettlementDecision, SettlementImport, SettlementSource
from .settlement_format import SettlementError, iter_records


@dataclass
class IngestResult:
    settlement: Settlement
    outcome: str  # created | version | unchanged


def settlement_ingest(*, record: dict[str, Any], actor: Actor, source: str = SettlementSource.API,
                      fund_region: Organisation | None = None, record_no: int = 0,
                      as_of: datetime.date | None = None) -> IngestResult:
    """Receive one record (a delivery of one); raise :class:`SettlementError` when it is
    refused (nothing written). ``as_of``: the day its automatic claims are assessed on."""
    receipt = settlements_receive([record], actor=actor, fund_region=fund_region, source=source,
                                  as_of=as_of, numbers=[record_no])
    if receipt.errors:
        raise receipt.errors[0]
    pk, outcome = receipt.outcomes[0]
    return IngestResult(Settlement.objects.get(pk=pk), outcome)


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
                           actor: Actor = None, fund_region: Organisation | None = None,
                           as_of: datetime.date | None = None, decide: bool = True
                           ) -> ImportReport:
    """Import a JSON / JSON-lines / CSV file and report on each record: the one road
    (:func:`settlements_receive`) whatever its size, plus one ``settlement.imported`` event
    for the file. ``decide=False``: store only; the worker makes the claims."""
    if isinstance(path_or_bytes, bytes):
        data = path_or_bytes
    else:
        data = Path(path_or_bytes).read_bytes()
        file_name = file_name or Path(path_or_bytes).name
    report = ImportReport(file_name=file_name)
    region = receiving_region(actor, fund_region)
    try:
        items = list(iter_records(data, file_name))
    except SettlementError as exc:
        report.errors.append(exc)
        return report
    batch = SettlementImport.objects.create(
        file_name=file_name[:200], sha256=hashlib.sha256(data).hexdigest(), fund_region=region,
        created_by=actor if getattr(actor, "pk", None) else None)
    report.batch = batch
    report.records = len(items)
    receipt = settlements_receive([item for _n, item in items], actor=actor, fund_region=region,
                                  source=SettlementSource.FILE, batch=batch, as_of=as_of,
                                  numbers=[n for n, _item in items], decide=decide)
    report.errors = receipt.errors
    report.created, report.versions = receipt.created, receipt.versions
    report.unchanged, report.matched = receipt.unchanged, receipt.matched
    from .models import Claim

    ids = [pk for pk, _outcome in receipt.outcomes.values()]
    setl_ids = list(Settlement.objects.filter(among(Settlement, "id", ids))
                    .values_list("setl_id", flat=True))
    report.claims = dict(Claim.objects.filter(among(Claim, "setl_id", setl_ids, "text"),
                                              source="auto")
                         .values_list("status").annotate(n=Count("id")).order_by())
    SettlementImport.objects.filter(pk=batch.pk).update(
        records=report.records, created=report.created, versions=report.versions,
        unchanged=report.unchanged, error_count=len(report.errors),
        errors=[e.as_dict() for e in report.errors[:1000]])
    events_record_many([{"action": "settlement.imported", "object_type": "claims.settlementimport",
                         "object_id": str(batch.pk), "org_path": region.path,
                         "after": {"file": file_name, "records": report.records,
                                   "created": report.created, "versions": report.versions,
                                   "errors": len(report.errors)}}], actor=actor)
    return report


def settlement_match_retry(*, settlements: Any, actor: Actor = None) -> int:
    """Match unmatched current settlements again (a member may have registered since);
    return how many found their member. Matched ones get their automatic claims."""
    pending = list(settlements.filter(member__isnull=True, is_current=True))
    if not pending:
        return 0
    members = {(m.id_number_bidx, m.fund_region_id): m for m in Member.objects.filter(
        id_number_bidx__in={s.certno_bidx for s in pending})}
    matched = []
    now = timezone.now()
    with transaction.atomic():
        for s in pending:
            member = members.get((s.certno_bidx, s.fund_region_id))
            if member is None:
                continue
            if not Settlement.objects.filter(pk=s.pk, member__isnull=True).update(
                    member=member, matched_at=now, org_path=member.org_path):
                continue  # matched meanwhile
            SettlementDecision.objects.get_or_create(settlement_id=s.pk)
            s.member, s.matched_at, s.org_path = member, now, member.org_path
            matched.append(s)
            event_record(action="settlement.matched", actor=actor, obj=s,
                         after={"setl_id": s.setl_id, "version": s.version, "member": member.pk})
    if matched:
        from .bulk import settlements_decide

        settlements_decide([s.pk for s in matched], actor=actor)
    return len(matched)
