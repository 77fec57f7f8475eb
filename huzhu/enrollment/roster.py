"""Roster validation and commit: the whole file is checked first; nothing is written unless
every row passes or the agent explicitly skips the rows listed as wrong (DESIGN decision 9)."""

from __future__ import annotations

import datetime
import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from huzhu import bulk
from huzhu.actors import Actor
from huzhu.audit.services import event_record, events_last
from huzhu.errors import DomainError
from huzhu.members.models import InsuranceType, Member
from huzhu.members.services import (
    FLAG_FIELDS,
    MemberInput,
    MemberUpsert,
    member_clean,
    members_upsert_many,
)
from huzhu.organisations.models import Unit
from huzhu.pii.crypto import blind_index, index_aliases
from huzhu.products.models import Offer, Period
from huzhu.products.services import offers_for, product_rules, split_premium

from .eligibility import eligibility_errors
from .masks import MASKS, is_masked, same_mask
from .models import Enrollment, EnrollmentStatus, Roster, RosterStatus, Source
from .roster_file import HEADER_OF, RosterTable

INSURANCE_WORDS = {
    "职工医保": InsuranceType.EMPLOYEE, "职工": InsuranceType.EMPLOYEE,
    "城镇职工基本医疗保险": InsuranceType.EMPLOYEE,
    "居民医保": InsuranceType.RESIDENT, "居民": InsuranceType.RESIDENT,
    "城乡居民基本医疗保险": InsuranceType.RESIDENT,
    "未参加基本医保": InsuranceType.NONE, "无": InsuranceType.NONE, "未参保": InsuranceType.NONE,
}
YES = {"是", "Y", "y", "1", "√", "yes", "Yes", "TRUE", "true"}
NO = {"否", "N", "n", "0", "×", "no", "No", "FALSE", "false", ""}
EXACT_NUMBER_COLUMNS = {"id_number": 18, "bank_card": 16}


@dataclass(eq=False)
class RowResult:
    row: int
    cells: list[Any]
    values: dict[str, Any] = field(default_factory=dict)
    offer: Offer | None = None
    shares: int = 1
    errors: list[tuple[str, str]] = field(default_factory=list)
    # What is written but needs looking at later (a 开户行 the bank list does not know).
    warnings: list[tuple[str, str]] = field(default_factory=list)
    member_id: int | None = None
    already_enrolled: bool = False

    def error(self, key: str, message: str) -> None:
        self.errors.append((key, message))


@dataclass
class Validation:
    table: RosterTable
    rows: list[RowResult]

    @property
    def errors(self) -> list[dict[str, Any]]:
        return [{"row": r.row, "field": HEADER_OF.get(k, k), "message": m}
                for r in self.rows for k, m in r.errors]

    @property
    def warnings(self) -> list[dict[str, Any]]:
        """Rows written as they are but named for later (not refused: rosters come from
        units): a 开户行 text the bank list does not know, kept with no 联行号."""
        return [{"row": r.row, "field": HEADER_OF.get(k, k), "message": m}
                for r in self.rows if not r.errors for k, m in r.warnings]

    @property
    def bad_rows(self) -> list[int]:
        return [r.row for r in self.rows if r.errors]


def _text(value: Any, key: str, row: RowResult) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float | int):
        if key in EXACT_NUMBER_COLUMNS and abs(value) >= 10 ** (EXACT_NUMBER_COLUMNS[key] - 3):
            row.error(key, f"{HEADER_OF[key]}被 Excel 当作数字保存（{value:.6g}），后几位已丢失；"
                           "请把该列设为“文本”后重新填写")
            return ""
        if float(value).is_integer():
            return str(int(value))
        return str(value)
    if isinstance(value, datetime.date | datetime.datetime):
        return value.isoformat()
    return str(value).strip()


def _flag(text: str, key: str, default: bool, row: RowResult) -> bool:
    if text == "":
        return default
    if text in YES:
        return True
    if text in NO:
        return False
    row.error(key, f"{HEADER_OF[key]}只能填“是”或“否”")
    return default


def _cell(cells: list[Any], columns: dict[str, int], key: str) -> Any:
    index = columns.get(key)
    return cells[index] if index is not None and index < len(cells) else None


def _offer_lookup(offers: dict[str, Offer]) -> dict[str, Offer]:
    lookup: dict[str, Offer] = {}
    for code, offer in offers.items():
        lookup[code] = offer
        lookup[offer.product_version.name] = offer
    return lookup


def members_of_unit(unit: Unit, member_ids: list[int]) -> dict[int, Member]:
    """The members among ``member_ids`` a row of this unit's roster may name by member
    number: those in the unit now, or enrolled through it (a renewal row of someone who has
    since moved). Anyone else (another unit, another fund region) is not found."""
    found: dict[int, Member] = {}
    for start in range(0, len(member_ids), 900):
        chunk = member_ids[start:start + 900]
        enrolled = set(Enrollment.objects.filter(unit=unit, member_id__in=chunk)
                       .values_list("member_id", flat=True))
        for m in Member.objects.filter(pk__in=chunk):
            if m.unit_id == unit.pk or m.pk in enrolled:
                found[m.pk] = m
    return found


def _keyed_members(table: RosterTable, unit: Unit) -> dict[int, Member]:
    index = table.columns.get("member_key")
    if index is None:
        return {}
    keys = set()
    for _, cells in table.rows:
        value = cells[index] if index < len(cells) else None
        key = _key_text(value)
        if key.isdigit() and any(is_masked(str(c or "")) for c in cells):
            keys.add(int(key))
    return members_of_unit(unit, sorted(keys))


def _key_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value or "").strip()


def _unmask(row: RowResult, text: dict[str, str], members: dict[int, Member]) -> None:
    """Put the stored values in the cells a mask-only downloader got masked, when the row's
    member number names a member of this unit whose stored values those masks are; anything
    else is an error on the masked cell (row and field), and the row is not written."""
    masked = [k for k in MASKS if is_masked(text[k])]
    if not masked:
        return  # full values only: the member number plays no part
    key = text["member_key"]
    member = members.get(int(key)) if key.isdigit() else None
    if member is None:
        why = (f"会员编号“{key}”不是本单位的会员" if key
               else "本行没有会员编号，无法对应到已登记的会员")
        for k in masked:
            row.error(k, f"{HEADER_OF[k]}是遮盖后的值（含 *），{why}；请填写完整的{HEADER_OF[k]}")
        return
    if "id_number" not in masked and text["id_number"].upper() != (member.id_number or ""):
        row.error("id_number", f"身份证号与会员编号“{key}”登记的会员不是同一人；"
                               "新增人员请删除会员编号并填写完整号码")
        return
    if "id_number" in masked and "name" not in masked and text["name"] != member.name:
        # Two members' masks can coincide (same district, same last four digits): a row
        # whose number was changed must not lend one member's ID to another's name.
        row.error("name", f"姓名与会员编号“{key}”登记的不同；如需更正姓名，请同时填写完整的身份证号")
        return
    stored = {"name": member.name, "id_number": member.id_number or "",
              "phone": member.phone or "", "bank_card": member.bank_card or ""}
    wrong = [k for k in masked if not same_mask(text[k], k, stored[k])]
    for k in wrong:
        row.error(k, f"{HEADER_OF[k]}是遮盖后的值，但与会员编号“{key}”登记的不符；"
                     f"要修改请填写完整的{HEADER_OF[k]}")
    if not wrong:
        for k in masked:
            text[k] = stored[k]


def _parse_row(number: int, cells: list[Any], columns: dict[str, int],
               offers: dict[str, Offer], unit: Unit,
               members: dict[int, Member] | None = None) -> RowResult:
    row = RowResult(row=number, cells=cells)
    text = {key: _text(_cell(cells, columns, key), key, row) for key in HEADER_OF}
    _unmask(row, text, members or {})
    if row.errors:
        return row  # a refused masked row is not looked at further
    insurance = INSURANCE_WORDS.get(text["insurance_type"])
    if insurance is None:
        row.error("insurance_type", "医保类型应为：职工医保、居民医保或未参加基本医保")
        insurance = InsuranceType.EMPLOYEE
    flags = {k: _flag(text[k], k, k == "is_union_member", row) for k in FLAG_FIELDS}
    card_confirmed = _flag(text["card_confirmed"], "card_confirmed", False, row)
    card_restored = is_masked(str(_cell(cells, columns, "bank_card") or ""))
    try:
        clean = member_clean(MemberInput(
            name=text["name"], id_number=text["id_number"], phone=text["phone"],
            bank_card=text["bank_card"], bank_name=text["bank_name"], insurance_type=insurance,
            is_union_member=flags["is_union_member"], is_hardship=flags["is_hardship"],
            is_model_worker=flags["is_model_worker"],
            is_new_form_worker=flags["is_new_form_worker"], unit=unit))
        row.values = clean.values
        if clean.bank_unlisted:
            row.warnings.append(("bank_name", f"第 {number} 行 开户行“{clean.bank_unlisted}”"
                                              "不在银行名录中，发放前须由工作人员选定"))
        for warning in clean.warnings.get("bank_card", []):
            if not (card_confirmed or card_restored):  # a stored card was confirmed before
                row.error("bank_card", f"{warning}；核对无误请在“银行卡号已核对”列填“是”")
    except DomainError as exc:
        for key, messages in exc.field_errors.items():
            for message in messages:
                row.error(key, message)
    row.offer = offers.get(text["product"])
    if row.offer is None:
        row.error("product", f"保障产品“{text['product']}”不在本期可选范围内" if text["product"]
                  else "请选择保障产品")
    shares = text["shares"] or "1"
    if shares.isdigit() and int(shares) >= 1:
        row.shares = int(shares)
    else:
        row.error("shares", "份数应为正整数")
    return row


def _check_eligibility(row: RowResult, period: Period, held: set[str]) -> None:
    if row.offer is None or not row.values:
        return
    product = product_rules(row.offer.product_version)
    for key, message in eligibility_errors(product, row.values, row.shares, held,
                                           period.coverage_start):
        row.error(key, message)


def roster_validate(*, table: RosterTable, unit: Unit, period: Period,
                    progress: Callable[[int], None] | None = None) -> Validation:
    """Check every row: identifiers, eligibility, duplicates in the file and in other units."""
    offers = _offer_lookup(offers_for(org_path=unit.org_path, period=period))
    members = _keyed_members(table, unit)
    rows: list[RowResult] = []
    blank_seen: list[int] = []
    total = max(len(table.rows), 1)
    for i, (number, cells) in enumerate(table.rows):
        if all(c in (None, "") for c in cells):
            blank_seen.append(number)
            continue
        rows.append(_parse_row(number, cells, table.columns, offers, unit, members))
        if progress and i % 2000 == 0:
            progress(int(60 * i / total))
    for number in blank_seen:
        blank = RowResult(row=number, cells=[])
        blank.error("name", "空行：请删除该行，或补全信息")
        rows.append(blank)
    rows.sort(key=lambda r: r.row)
    _check_duplicates(rows)
    _match_existing(rows, unit, period)
    held_by_member: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        if r.values and r.offer:
            held_by_member[r.values["id_number"]].add(r.offer.product_version.code)
    for r in rows:
        if r.values:
            _check_eligibility(r, period, held_by_member[r.values["id_number"]])
    if progress:
        progress(80)
    return Validation(table=table, rows=rows)


def _check_duplicates(rows: list[RowResult]) -> None:
    seen: dict[tuple[str, str], int] = {}
    for r in rows:
        if not r.values or r.offer is None:
            continue
        key = (r.values["id_number"], r.offer.product_version.code)
        if key in seen:
            first = seen[key]
            r.error("id_number", f"与第 {first} 行重复：同一会员同一产品只能登记一次")
            for other in rows:
                if other.row == first and not any("重复" in m for _, m in other.errors):
                    other.error("id_number", f"与第 {r.row} 行重复")
        else:
            seen[key] = r.row


def _match_existing(rows: list[RowResult], unit: Unit, period: Period) -> None:
    """Find members already registered, and enrollments of this period elsewhere."""
    by_index: dict[str, list[RowResult]] = defaultdict(list)  # a person may hold 2 products
    for r in rows:
        if r.values:
            by_index[blind_index(r.values["id_number"], field="id_number")].append(r)
    # Under every configured index key, so a member not yet re-indexed by a rotation is found.
    alias = index_aliases((r.values["id_number"] for r in rows if r.values), field="id_number")
    keys = list(alias)
    members: dict[str, int] = {}
    for start in range(0, len(keys), 900):
        chunk = keys[start:start + 900]
        members.update((alias[b], pk) for b, pk in Member.objects.filter(
            id_number_bidx__in=chunk).values_list("id_number_bidx", "id"))
    id_to_index = {v: k for k, v in members.items()}
    for key, member_id in members.items():
        for r in by_index[key]:
            r.member_id = member_id
    ids = list(id_to_index)
    existing: list[tuple[int, int, int | None, str | None]] = []
    for start in range(0, len(ids), 900):
        existing.extend(
            Enrollment.objects.filter(period=period, member_id__in=ids[start:start + 900])
            .exclude(status__in=[EnrollmentStatus.CANCELLED, EnrollmentStatus.REFUNDED])
            .select_related("unit", "product_version")
            .values_list("member_id", "product_version_id", "unit_id", "unit__name"))
    taken = {(m, pv): (u, name) for m, pv, u, name in existing}
    for r in rows:
        if r.member_id is None or r.offer is None:
            continue
        holder = taken.get((r.member_id, r.offer.product_version_id))
        if holder is None:
            continue
        if holder[0] == unit.pk:
            r.already_enrolled = True
        else:
            r.error("id_number", f"该会员本期已由其他单位（{holder[1] or '个人参保'}）参保")


def _premium(offer: Offer, shares: int, gifted: bool,
             cache: dict[tuple[int, int, bool], list[dict[str, Any]]]) -> list[dict[str, Any]]:
    key = (offer.pk, shares, gifted)
    if key not in cache:
        total = offer.premium_per_share_fen * shares
        if gifted:
            cache[key] = [{"payer": offer.gift_payer, "fen": total}]
        else:
            cache[key] = [{"payer": p.payer, "fen": p.fen} for p in split_premium(
                split=offer.split, per_share_fen=offer.premium_per_share_fen, shares=shares)]
    return cache[key]


ENROLLMENT_COLUMNS = (
    "member_id", "period_id", "product_version_id", "offer_id", "unit_id", "roster_id",
    "source", "status", "shares", "gifted", "premium_fen", "split", "first_time", "org_path",
    "fund_region_id", "created_at",
)


class NeedsSecondApproval(DomainError):
    """A bulk change of personal data waits for a second person (TRUST S-21); ``changes`` is
    how many registered members the roster would change."""

    def __init__(self, message: str, *, changes: int, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.changes = changes


PI_CHANGE_FIELDS = ("name", "phone", "bank_card")


def pi_changes_of(rows: list[RowResult]) -> int:
    """How many registered members the rows would change a name, phone or bank card of."""
    ids = [r.member_id for r in rows if r.member_id is not None]
    stored: dict[int, tuple[str, str, str]] = {}
    for start in range(0, len(ids), 900):
        for m in Member.objects.filter(pk__in=ids[start:start + 900]):
            stored[m.pk] = (m.name or "", m.phone or "", m.bank_card or "")
    changed = set()
    for r in rows:
        if r.member_id is None or r.member_id not in stored:
            continue
        now = tuple(str(r.values.get(k) or "") for k in PI_CHANGE_FIELDS)
        if any(new and new != old for new, old in zip(now, stored[r.member_id], strict=True)):
            changed.add(r.member_id)
    return len(changed)


@transaction.atomic
def roster_commit(*, roster: Roster, validation: Validation, actor: Actor,
                  skip_rows: list[int] | None = None) -> dict[str, int]:
    """Write the roster in one transaction. Rows with errors must all be listed in
    ``skip_rows`` (the agent's explicit choice); anything else refuses the whole file.

    The members are written by :func:`members_upsert_many` (with their events); the events
    of the whole commit are appended when it ends, the event chain's head the last lock."""
    skip = set(skip_rows or [])
    unlisted = [r.row for r in validation.rows if r.errors and r.row not in skip]
    if unlisted:
        raise DomainError(f"还有 {len(unlisted)} 行有错误，未提交任何数据", code="roster_invalid")
    with events_last():
        roster = Roster.objects.select_for_update(no_key=True).get(pk=roster.pk)
        if roster.status == RosterStatus.COMMITTED:
            return {"members_created": 0, "members_updated": 0, "enrollments": 0}
        unit, period = roster.unit, roster.period
        good = [r for r in validation.rows if not r.errors and r.row not in skip]
        changes = pi_changes_of(good)
        if changes > settings.BULK_PI_CHANGE_LIMIT and roster.pi_approved_by_id is None:
            raise NeedsSecondApproval(
                f"本花名册将修改 {changes} 名已登记会员的手机号、银行卡号或姓名（超过 "
                f"{settings.BULK_PI_CHANGE_LIMIT} 名），须由上级工会另一位工作人员复核同意后才能提交",
                changes=changes, code="roster_needs_approval")
        now = bulk.db_datetime(timezone.now())
        # The members (new, changed, a new card's failed payouts requeued) through their
        # service, placed in the unit as it is now; each row learns its member.
        for r in good:
            r.values["unit"] = unit
        members = members_upsert_many(
            actor=actor, people=[MemberUpsert(r.values, r.member_id) for r in good])
        for r, member_id in zip(good, members.member_ids, strict=True):
            r.member_id = member_id
        cache: dict[tuple[int, int, bool], list[dict[str, Any]]] = {}
        fresh = [r for r in good if not r.already_enrolled]
        bulk.insert_rows(Enrollment, ENROLLMENT_COLUMNS,
                         (_enrollment_row(r, unit, period, roster, cache, now) for r in fresh))
        counts = {"members_created": members.created, "members_updated": members.updated,
                  "enrollments": len(fresh)}
        Roster.objects.filter(pk=roster.pk).update(
            status=RosterStatus.COMMITTED, committed_at=timezone.now(), progress=100,
            skipped_rows=sorted(skip))
        event_record(action="roster.committed", actor=actor, obj=roster,
                     after={**counts, "skipped_rows": len(skip), "file": roster.file_name})
    return counts


def _enrollment_row(r: RowResult, unit: Unit, period: Period, roster: Roster,
                    cache: dict[tuple[int, int, bool], list[dict[str, Any]]], now: Any) -> tuple:
    offer = r.offer
    assert offer is not None
    gifted = bool({f for f, attr in (("model_worker", "is_model_worker"),
                                     ("hardship", "is_hardship")) if r.values.get(attr)}
                  & set(offer.gift_flags))
    split = _premium(offer, r.shares, gifted, cache)
    return (
        r.member_id, period.pk, offer.product_version_id, offer.pk, unit.pk, roster.pk,
        Source.ROSTER, EnrollmentStatus.PENDING, r.shares, gifted,
        offer.premium_per_share_fen * r.shares, json.dumps(split), True, unit.org_path,
        period.fund_region_id, now,
    )

