"""Settlement records in, as a push of one record or a file, and their claims: the claims
app's side of the one road. The settlements app receives (validates, stores, matches:
:func:`huzhu.settlements.intake.settlements_receive`; a record is a delivery of one), then this
app decides (:func:`huzhu.claims.bulk.settlements_decide`) every matched current settlement of
the delivery still owed a decision: those just stored and those a crash left undecided, so a
re-run repairs and never doubles (docs/adr/0008). A bad record is reported with its number and
field and writes nothing; good records are kept. Sending the same record again changes nothing
(and finishes its decision if a crash cut it short); a corrected record (same ``setl_id``,
other content) becomes the next version and the claims on it are assessed again.
"""

from __future__ import annotations

import datetime
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db.models import Count

from huzhu.actors import Actor
from huzhu.audit.services import events_record_many
from huzhu.bulk import among, fewer_collections
from huzhu.organisations.models import Organisation
from huzhu.settlements.format import SettlementError, iter_records
from huzhu.settlements.intake import (
    Receipt,
    receiving_region,
    settlements_match,
    settlements_receive,
)
from huzhu.settlements.models import Settlement, SettlementImport, SettlementSource

from .bulk import settlements_decide


def settlements_take(records: list[Any], *, actor: Actor, fund_region: Organisation | None = None,
                     source: str = "api", batch: Any = None, as_of: datetime.date | None = None,
                     numbers: list[int] | None = None, decide: bool = True) -> Receipt:
    """A delivery received (stored and matched by the settlements app, each matched row with
    its owed decision in the same transaction), then decided: the automatic claims of every
    matched current settlement of the delivery still owed a decision, each decided in the same
    transaction as its claims (docs/adr/0008). ``decide=False`` stores only, leaving the
    decisions to the worker (or a later call). ``as_of``: the day the claims are assessed on."""
    receipt = settlements_receive(records, actor=actor, fund_region=fund_region, source=source,
                                  batch=batch, numbers=numbers)
    if decide:
        settlements_decide(receipt.ids, actor=actor, as_of=as_of)
    return receipt


@dataclass
class IngestResult:
    settlement: Settlement
    outcome: str  # created | version | unchanged


def settlement_ingest(*, record: dict[str, Any], actor: Actor, source: str = SettlementSource.API,
                      fund_region: Organisation | None = None, record_no: int = 0,
                      as_of: datetime.date | None = None) -> IngestResult:
    """Receive one record (a delivery of one); raise :class:`SettlementError` when it is
    refused (nothing written). ``as_of``: the day its automatic claims are assessed on."""
    receipt = settlements_take([record], actor=actor, fund_region=fund_region, source=source,
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
    (:func:`settlements_take`) whatever its size, plus one ``settlement.imported`` event
    for the file. ``decide=False``: store only; the worker makes the claims."""
    with fewer_collections():
        return _import_file(path_or_bytes, file_name=file_name, actor=actor,
                            fund_region=fund_region, as_of=as_of, decide=decide)


def _import_file(path_or_bytes: str | Path | bytes, *, file_name: str, actor: Actor,
                 fund_region: Organisation | None, as_of: datetime.date | None,
                 decide: bool) -> ImportReport:
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
    receipt = settlements_take([item for _n, item in items], actor=actor, fund_region=region,
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
    """Match unmatched current settlements again (a member may have registered since:
    :func:`huzhu.settlements.intake.settlements_match`); return how many found their member.
    Matched ones get their automatic claims."""
    matched = settlements_match(settlements, actor=actor)
    if matched:
        settlements_decide(matched, actor=actor)
    return len(matched)
