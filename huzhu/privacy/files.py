"""Files with personal data on disk: their retention, and sealing the ones written before
sealing existed (docs/adr/0012-files-with-personal-data.md).

Uploaded rosters (accepted or rejected) are kept ``settings.FILE_RETENTION_DAYS`` after their
upload; what was committed lives on in the database. A bank file is kept as long after its batch
closed (all results back, or cancelled): while a batch is still with the bank its file is the
channel's only proof the bank has it (``FileDropChannel.query``), so it is never removed then.
Files no row knows of (an upload that failed half-way) go by their age. Each run that deletes
anything writes one ``files.purged`` event.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from huzhu.actors import Actor
from huzhu.audit.models import Action
from huzhu.audit.services import event_record
from huzhu.enrollment.models import Roster
from huzhu.enrollment.services import ROSTER_AAD, roster_file_path, rosters_dir
from huzhu.payouts.channels import BANK_FILE_AAD, outgoing_dir
from huzhu.payouts.models import BatchStatus, PayoutBatch
from huzhu.pii.files import is_sealed, seal, write_atomic

CLOSED = (BatchStatus.DONE, BatchStatus.CANCELLED)


@dataclass
class FilePlan:
    cutoff: datetime.datetime
    rosters: list[Path] = field(default_factory=list)
    bank_files: list[Path] = field(default_factory=list)
    held_batches: int = 0  # old bank files kept because their batch is still with the bank

    @property
    def paths(self) -> list[Path]:
        return [*self.rosters, *self.bank_files]


def _older(path: Path, cutoff: datetime.datetime) -> bool:
    mtime = datetime.datetime.fromtimestamp(path.stat().st_mtime, tz=datetime.UTC)
    return mtime < cutoff


def files_due(*, days: int | None = None, now: datetime.datetime | None = None) -> FilePlan:
    """The files whose retention period is over, without touching anything."""
    days = settings.FILE_RETENTION_DAYS if days is None else days
    cutoff = (now or timezone.now()) - datetime.timedelta(days=days)
    plan = FilePlan(cutoff=cutoff)
    # Rosters: one file may serve several rosters (the same bytes uploaded for two units); it
    # goes when the youngest of them is old.
    young: set[Path] = set()
    old: set[Path] = set()
    for roster in Roster.objects.only("sha256", "file_name", "created_at").iterator():
        (old if roster.created_at < cutoff else young).add(roster_file_path(roster))
    known = young | old
    root = rosters_dir()
    for path in sorted(root.iterdir()) if root.exists() else []:
        if not path.is_file():
            continue
        if (path in old and path not in young) or (path not in known and _older(path, cutoff)):
            plan.rosters.append(path)
    # Bank files, by their batch's state.
    out = outgoing_dir()
    files = {p.stem: p for p in out.iterdir() if p.is_file()} if out.exists() else {}
    batches = {b.number: b for b in PayoutBatch.objects.filter(number__in=list(files))}
    for number, path in sorted(files.items()):
        batch = batches.get(number)
        if batch is None:
            if _older(path, cutoff):
                plan.bank_files.append(path)
        elif batch.status in CLOSED and (batch.closed_at or batch.created_at) < cutoff:
            plan.bank_files.append(path)
        elif batch.status not in CLOSED and _older(path, cutoff):
            plan.held_batches += 1
    return plan


def files_purge(*, actor: Actor = None, days: int | None = None,
                now: datetime.datetime | None = None) -> FilePlan:
    """Delete the files :func:`files_due` names and record one event saying how many."""
    plan = files_due(days=days, now=now)
    for path in plan.paths:
        path.unlink(missing_ok=True)
    if plan.paths:
        event_record(action=Action.FILES_PURGED, actor=actor, object_type="files",
                     after={"rosters": len(plan.rosters), "bank_files": len(plan.bank_files),
                            "before": plan.cutoff.date().isoformat()})
    return plan


def files_seal_legacy() -> int:
    """Seal, in place, roster and bank files written in plaintext before sealing existed.
    A file's label comes from its name (a roster's SHA-256, a batch's number), as new files'."""
    sealed = 0
    targets: list[tuple[Path, str]] = []
    root = rosters_dir()
    if root.exists():
        targets += [(p, f"{ROSTER_AAD}:{p.stem}") for p in root.iterdir()
                    if p.is_file() and p.suffix in {".xlsx", ".csv"}]
    out = outgoing_dir()
    if out.exists():
        targets += [(p, f"{BANK_FILE_AAD}:{p.stem}") for p in out.iterdir()
                    if p.is_file() and p.suffix == ".csv"]
    for path, label in targets:
        if not is_sealed(path):
            write_atomic(path, seal(path.read_bytes(), label=label))
            sealed += 1
    return sealed
