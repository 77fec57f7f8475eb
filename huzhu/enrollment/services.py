"""Roster upload, processing and commit; the error workbook and the template."""

from __future__ import annotations

import hashlib
import io
import logging
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from huzhu.actors import Actor
from huzhu.errors import DomainError
from huzhu.members.models import Member
from huzhu.organisations.models import Unit
from huzhu.pii.crypto import DecryptionError, blind_index, index_aliases
from huzhu.pii.files import is_sealed, sealed_read, sealed_write
from huzhu.products.models import Period

from .masks import MASKS, Sight
from .models import Roster, RosterStatus
from .roster import (
    NeedsSecondApproval,
    Validation,
    members_of_unit,
    roster_commit,
    roster_validate,
)
from .roster_file import HEADER_OF, RosterFileError, RosterTable, read_roster

INLINE_BYTES = 256 * 1024  # smaller files are validated during the upload request
ROSTER_AAD = "enrollment.roster.file"
_log = logging.getLogger("huzhu.enrollment")


def rosters_dir() -> Path:
    path = Path(settings.MEDIA_ROOT) / "rosters"
    path.mkdir(parents=True, exist_ok=True)
    return path


def roster_file_path(roster: Roster) -> Path:
    suffix = ".csv" if roster.file_name.lower().endswith(".csv") else ".xlsx"
    return rosters_dir() / f"{roster.sha256}{suffix}"


def _label(roster: Roster) -> str:
    return f"{ROSTER_AAD}:{roster.sha256}"


def roster_store(roster: Roster, data: bytes) -> None:
    """Keep the uploaded file sealed (huzhu.pii.files): the bytes on disk hold no ID number."""
    sealed_write(roster_file_path(roster), data, label=_label(roster))


def roster_file_read(roster: Roster) -> bytes:
    """The uploaded file's bytes, unsealed. A file removed after the retention period (huzhu
    files purge), one an older version left in plaintext (until ``huzhu files seal``) and one
    that fails authentication (changed on disk) are each a DomainError in Chinese; the last two
    are logged, with the roster's number only."""
    path = roster_file_path(roster)
    if not path.exists():
        raise DomainError("该花名册文件已超过保存期限并已删除，请重新上传", code="roster_purged")
    if not is_sealed(path):
        _log.warning("花名册 %s 的文件仍是明文，请运行 huzhu files seal", roster.pk)
        raise DomainError("该花名册文件尚待系统管理员加密处理，请稍后再试", code="roster_unsealed")
    try:
        return sealed_read(path, label=_label(roster))
    except DecryptionError:
        _log.error("花名册 %s 的文件未通过完整性校验（已损坏或被改动）", roster.pk)
        raise DomainError("花名册文件校验失败：保存的文件已损坏或被改动，请重新上传",
                          code="roster_corrupt") from None


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
    if not path.exists() or not is_sealed(path):
        # A file an older version left in plaintext under the same hash is the same bytes:
        # this upload seals it now.
        roster_store(roster, data)
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
        table = read_roster(roster_file_read(roster), roster.file_name)
    except (RosterFileError, DomainError) as exc:
        Roster.objects.filter(pk=roster.pk).exclude(status=RosterStatus.COMMITTED).update(
            status=RosterStatus.INVALID, progress=100, error_count=1,
            errors=[{"row": 0, "field": "文件", "message": exc.message}])
        return None
    validation = roster_validate(table=table, unit=roster.unit, period=roster.period,
                                 progress=_progress(roster))
    errors = validation.errors
    Roster.objects.filter(pk=roster.pk).exclude(status=RosterStatus.COMMITTED).update(
        status=RosterStatus.INVALID if errors else RosterStatus.VALID, progress=100,
        rows_total=len(validation.rows), rows_valid=len(validation.rows) - len(validation.bad_rows),
        error_count=len(errors), errors=errors[:5000], warnings=validation.warnings[:5000])
    return validation


def roster_confirm(*, roster: Roster, actor: Actor, skip_listed: bool = False) -> dict[str, int]:
    """Commit a checked roster; with ``skip_listed`` the rows listed as wrong are left out."""
    if roster.status == RosterStatus.COMMITTED:
        return {"members_created": 0, "members_updated": 0, "enrollments": 0}
    validation = roster_check(roster)
    if validation is None:
        raise DomainError("文件本身有错误，无法提交", code="roster_invalid")
    skip = validation.bad_rows if skip_listed else []
    try:
        return roster_commit(roster=roster, validation=validation, actor=actor, skip_rows=skip)
    except NeedsSecondApproval as exc:
        # The commit rolled back; the count the approver is asked about is kept outside it.
        Roster.objects.filter(pk=roster.pk).update(pi_changes=exc.changes)
        raise


def claim_next_roster() -> Roster | None:
    """Claim one roster waiting for validation (conditional UPDATE: one worker wins)."""
    for roster in Roster.objects.filter(status=RosterStatus.VALIDATING, progress=0)[:5]:
        if Roster.objects.filter(pk=roster.pk, status=RosterStatus.VALIDATING,
                                 progress=0).update(progress=1) == 1:
            return roster
    return None


def error_workbook(roster: Roster, sight: Sight | None = None) -> bytes:
    """The uploaded rows plus a 错误原因 column, wrong cells marked red. Personal values are
    shown as ``sight`` allows (masked by default); a row whose ID number is a member of the unit
    carries his 会员编号, so a corrected workbook uploaded again keeps what is still masked."""
    from huzhu.sheets import Sheet, workbook

    sight = sight or Sight(numbers=False, names=False)
    table = read_roster(roster_file_read(roster), roster.file_name)
    by_row: dict[int, list[dict[str, Any]]] = {}
    for e in roster.errors:
        by_row.setdefault(e["row"], []).append(e)
    kinds = {index: key for key, index in table.columns.items() if key in MASKS}
    key_col = table.columns.get("member_key")
    header = list(table.header)
    if key_col is None:
        key_col = len(header)
        header.append(HEADER_OF["member_key"])
    keys = _member_keys(table, roster.unit)  # for the rows naming members of the unit
    out = io.BytesIO()
    book = workbook(out)
    sheet = Sheet(book, "错误清单")
    head = book.add_format({"bold": True, "bg_color": "#DDE6F3", "border": 1})
    bad = book.add_format({"bg_color": "#F8CBAD", "border": 1})
    text = book.add_format({"num_format": "@"})
    reason_fmt = book.add_format({"font_color": "#C00000", "text_wrap": True})
    headers = [*header, "错误原因"]
    sheet.row(0, 0, headers, head)
    title_to_col = {h.strip(): i for i, h in enumerate(table.header)}
    out_row = 1
    for number, cells in table.rows:
        problems = by_row.get(number, [])
        shown = [sight.show(kinds[col], _plain(v)) if col in kinds and v not in (None, "")
                 else ("" if v is None else _plain(v)) for col, v in enumerate(cells)]
        if any(cells):
            sight.rows += 1
        for col, value in enumerate(shown):
            sheet.cell(out_row, col, value, text)
        if number in keys and not (key_col < len(shown) and shown[key_col]):
            sheet.cell(out_row, key_col, keys[number], text)
        for e in problems:
            marked = title_to_col.get(e["field"])
            if marked is not None:
                sheet.cell(out_row, marked, shown[marked] if marked < len(shown) else "", bad)
        if problems:
            sheet.cell(out_row, len(header),
                       "；".join(f"{e['field']}：{e['message']}" for e in problems), reason_fmt)
        out_row += 1
    sheet.ws.set_column(0, len(headers), 18)
    sheet.ws.set_column(len(header), len(header), 60)
    sheet.ws.freeze_panes(1, 0)
    book.close()
    return out.getvalue()


def _member_keys(table: RosterTable, unit: Unit) -> dict[int, str]:
    """Row number → 会员编号, for the rows whose ID number is a member of the unit."""
    index = table.columns.get("id_number")
    if index is None:
        return {}
    rows: dict[str, list[int]] = {}
    plain: list[str] = []
    for number, cells in table.rows:
        value = cells[index] if index < len(cells) else None
        if isinstance(value, str) and value.strip():
            bidx = blind_index(value.strip().upper(), field="id_number")
            rows.setdefault(bidx, []).append(number)
            plain.append(value.strip().upper())
    found: dict[str, int] = {}
    alias = index_aliases(plain, field="id_number")  # every index key: a rotation may be running
    indexes = list(alias)
    for start in range(0, len(indexes), 900):
        found.update((alias[b], pk) for b, pk in Member.objects.filter(
            id_number_bidx__in=indexes[start:start + 900]).values_list("id_number_bidx", "id"))
    mine = members_of_unit(unit, sorted(set(found.values())))
    return {number: str(member_id) for bidx, member_id in found.items() if member_id in mine
            for number in rows[bidx]}


def _plain(value: Any) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def roster_pi_approve(*, roster: Roster, actor: Any) -> Roster:
    """The second person's approval of a roster that changes many registered members' personal
    data (TRUST S-21): union staff who manage members over the roster's unit, not the person who
    uploaded it. Recorded with the count."""
    from django.utils import timezone

    from huzhu.accounts.roles import Perm, Role
    from huzhu.audit.models import Action
    from huzhu.audit.services import event_record
    from huzhu.errors import NotAllowed

    org = getattr(actor, "organisation", None)
    if (not actor.can(Perm.MANAGE_MEMBERS) or actor.role in (Role.AGENT, Role.MEMBER)
            or org is None or not roster.org_path.startswith(org.path)):
        raise NotAllowed("只有上级工会管理会员的工作人员可以复核")
    if roster.created_by_id == actor.pk:
        raise NotAllowed("上传花名册的人不能复核自己的花名册（须由另一人复核）")
    with transaction.atomic():
        locked = Roster.objects.select_for_update().get(pk=roster.pk)
        if locked.status == RosterStatus.COMMITTED:
            raise DomainError("花名册已提交，无需复核")
        if not locked.pi_changes:
            raise DomainError("该花名册不需要复核")
        if locked.pi_approved_by_id is None:
            now = timezone.now()
            Roster.objects.filter(pk=locked.pk).update(pi_approved_by=actor, pi_approved_at=now)
            event_record(action=Action.ROSTER_PI_APPROVED, actor=actor, obj=locked,
                         after={"members_changed": locked.pi_changes, "file": locked.file_name})
    roster.refresh_from_db()
    return roster
