"""Roster upload, processing and commit; the error workbook and the template."""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from huzhu.actors import Actor
from huzhu.errors import DomainError
from huzhu.organisations.models import Unit
from huzhu.products.models import Period

from .models import Roster, RosterStatus
from .roster import Validation, roster_commit, roster_validate
from .roster_file import RosterFileError, read_roster

INLINE_BYTES = 256 * 1024  # smaller files are validated during the upload request


def _store_dir() -> Path:
    path = Path(settings.MEDIA_ROOT) / "rosters"
    path.mkdir(parents=True, exist_ok=True)
    return path


def roster_file_path(roster: Roster) -> Path:
    suffix = ".csv" if roster.file_name.lower().endswith(".csv") else ".xlsx"
    return _store_dir() / f"{roster.sha256}{suffix}"


def store_file(path: Path, data: bytes) -> None:
    """Write the file whole or not at all, under a temporary name of this writer's own.

    Two processes storing the same upload at once (the same content, so the same hashed
    name) must not rename each other's part file: each writes its own and the last
    rename wins with identical bytes.
    """
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=path.stem[:16], suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def roster_upload(*, unit: Unit, period: Period, file_name: str, data: bytes, actor: Actor
                  ) -> tuple[Roster, bool]:
    """Keep the file (outside the web root, under its hash) and register the roster.

    Returns (roster, created). The same file for the same unit and period is the same
    roster: uploading it again changes nothing.
    """
    sha = hashlib.sha256(data).hexdigest()
    existing = Roster.objects.filter(unit=unit, period=period, sha256=sha).first()
    if existing is not None:
        return existing, False
    roster = Roster(unit=unit, period=period, file_name=Path(file_name).name[:200], sha256=sha,
                    size=len(data), created_by=actor if getattr(actor, "pk", None) else None,
                    org_path=unit.org_path)
    path = roster_file_path(roster)
    if not path.exists():
        store_file(path, data)
    try:
        with transaction.atomic():
            roster.save()
    except IntegrityError:  # a concurrent upload of the same file won the race
        return Roster.objects.get(unit=unit, period=period, sha256=sha), False
    return roster, True


def _progress(roster: Roster):
    def report(percent: int) -> None:
        Roster.objects.filter(pk=roster.pk).update(progress=min(percent, 99))
    return report


def roster_check(roster: Roster) -> Validation | None:
    """Read and validate the stored file; record the outcome on the roster."""
    try:
        table = read_roster(roster_file_path(roster).read_bytes(), roster.file_name)
    except RosterFileError as exc:
        Roster.objects.filter(pk=roster.pk).update(
            status=RosterStatus.INVALID, progress=100, error_count=1,
            errors=[{"row": 0, "field": "文件", "message": exc.message}])
        return None
    validation = roster_validate(table=table, unit=roster.unit, period=roster.period,
                                 progress=_progress(roster))
    errors = validation.errors
    Roster.objects.filter(pk=roster.pk).exclude(status=RosterStatus.COMMITTED).update(
        status=RosterStatus.INVALID if errors else RosterStatus.VALID, progress=100,
        rows_total=len(validation.rows), rows_valid=len(validation.rows) - len(validation.bad_rows),
        error_count=len(errors), errors=errors[:5000])
    return validation


def roster_confirm(*, roster: Roster, actor: Actor, skip_listed: bool = False) -> dict[str, int]:
    """Commit a checked roster; with ``skip_listed`` the rows listed as wrong are left out."""
    if roster.status == RosterStatus.COMMITTED:
        return {"members_created": 0, "members_updated": 0, "enrollments": 0}
    validation = roster_check(roster)
    if validation is None:
        raise DomainError("文件本身有错误，无法提交", code="roster_invalid")
    skip = validation.bad_rows if skip_listed else []
    return roster_commit(roster=roster, validation=validation, actor=actor, skip_rows=skip)


def claim_next_roster() -> Roster | None:
    """Claim one roster waiting for validation (conditional UPDATE: one worker wins)."""
    for roster in Roster.objects.filter(status=RosterStatus.VALIDATING, progress=0)[:5]:
        if Roster.objects.filter(pk=roster.pk, status=RosterStatus.VALIDATING,
                                 progress=0).update(progress=1) == 1:
            return roster
    return None


def error_workbook(roster: Roster) -> bytes:
    """The original rows plus a 错误原因 column, wrong cells marked red."""
    from huzhu.sheets import Sheet, workbook

    table = read_roster(roster_file_path(roster).read_bytes(), roster.file_name)
    by_row: dict[int, list[dict[str, Any]]] = {}
    for e in roster.errors:
        by_row.setdefault(e["row"], []).append(e)
    out = io.BytesIO()
    book = workbook(out)
    sheet = Sheet(book, "错误清单")
    head = book.add_format({"bold": True, "bg_color": "#DDE6F3", "border": 1})
    bad = book.add_format({"bg_color": "#F8CBAD", "border": 1})
    text = book.add_format({"num_format": "@"})
    reason_fmt = book.add_format({"font_color": "#C00000", "text_wrap": True})
    headers = [*table.header, "错误原因"]
    sheet.row(0, 0, headers, head)
    title_to_col = {h.strip(): i for i, h in enumerate(table.header)}
    out_row = 1
    for number, cells in table.rows:
        problems = by_row.get(number, [])
        for col, value in enumerate(cells):
            sheet.cell(out_row, col, "" if value is None else _plain(value), text)
        for e in problems:
            marked = title_to_col.get(e["field"])
            if marked is not None:
                value = cells[marked] if marked < len(cells) else ""
                sheet.cell(out_row, marked, "" if value is None else _plain(value), bad)
        if problems:
            sheet.cell(out_row, len(table.header),
                       "；".join(f"{e['field']}：{e['message']}" for e in problems), reason_fmt)
        out_row += 1
    sheet.ws.set_column(0, len(headers), 18)
    sheet.ws.set_column(len(table.header), len(table.header), 60)
    sheet.ws.freeze_panes(1, 0)
    book.close()
    return out.getvalue()


def _plain(value: Any) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)
