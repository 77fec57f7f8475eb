"""Writes to members. Validation of identifiers lives here so forms, the API and roster
imports share it; every write and every reveal of personal data writes an event."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from django.db import IntegrityError, transaction
from django.utils import timezone

from huzhu import bulk
from huzhu.accounts.roles import Perm
from huzhu.actors import Actor
from huzhu.audit.models import Action
from huzhu.audit.services import event_record, events_last
from huzhu.errors import DomainError, NeedsConfirmation, NotAllowed
from huzhu.organisations.models import Organisation, Unit
from huzhu.pii.crypto import blind_index, blind_indexes, cipher
from huzhu.pii.identifiers import (
    IdentifierError,
    check_bank_card,
    check_phone,
    check_resident_id,
)
from huzhu.pii.masking import mask_bank_card, mask_id_number, mask_phone

from .models import EmploymentStatus, InsuranceType, Member

if TYPE_CHECKING:
    from huzhu.accounts.models import User

PII_FIELDS = ("id_number", "phone", "bank_card")
INSURANCE_TYPES = frozenset(InsuranceType.values)  # Enum.values builds a list on every call
EMPLOYMENT_STATUSES = frozenset(EmploymentStatus.values)
FLAG_FIELDS = ("is_union_member", "is_hardship", "is_model_worker", "is_new_form_worker")


@dataclass
class MemberInput:
    name: str
    id_number: str
    phone: str = ""
    bank_card: str = ""
    bank_name: str = ""
    # The 开户行 chosen from the bank list by its 联行号; without one a ``bank_name`` text is
    # matched to the list (:func:`bank_resolve`). ``bank_listed_only`` refuses a text the
    # list does not know (the pages and the API); a roster keeps it, with a warning.
    # ``bank_keep`` carries ``bank_name``/``bank_cnaps`` over as stored (an edit that left
    # the 开户行 alone).
    bank_cnaps: str = ""
    bank_listed_only: bool = False
    bank_keep: bool = False
    insurance_type: str = InsuranceType.EMPLOYEE
    employment_status: str = EmploymentStatus.EMPLOYED
    is_union_member: bool = True
    is_hardship: bool = False
    is_model_worker: bool = False
    is_new_form_worker: bool = False
    unit: Unit | None = None
    organisation: Organisation | None = None


@dataclass
class CleanMember:
    values: dict[str, Any]
    warnings: dict[str, list[str]] = field(default_factory=dict)
    # A 开户行 text the bank list does not know, kept as text with no 联行号 (a roster's).
    bank_unlisted: str = ""


def bank_resolve(data: MemberInput, errors: dict[str, list[str]]) -> tuple[str, str, str]:
    """(bank_name, bank_cnaps, unlisted text) of the input's 开户行: the chosen entry's name
    and code, a text's match in the bank list, or the text with no code when it matches
    nothing (and the input allows that). A refusal is added to ``errors``."""
    from huzhu.payouts import banklist  # the bank list lives with the payouts that use it

    name, cnaps = (data.bank_name or "").strip(), (data.bank_cnaps or "").strip()
    if data.bank_keep:
        return name[:100], cnaps, ""
    if cnaps:
        try:
            bank = banklist.pick(cnaps)
        except DomainError as exc:
            errors.update(exc.field_errors)
            return "", "", ""
        return bank.name, bank.cnaps, ""
    if not name:
        return "", "", ""
    found = banklist.match(name)
    if found is not None:
        return found.name, found.cnaps, ""
    if data.bank_listed_only:
        errors["bank_name"] = [banklist.PICK_MESSAGE]
        return "", "", ""
    return name[:100], "", name


def member_clean(data: MemberInput) -> CleanMember:
    """Validate a member's fields; raise DomainError naming every bad field in Chinese."""
    errors: dict[str, list[str]] = {}
    warnings: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    name = (data.name or "").strip()
    if not name:
        errors["name"] = ["姓名不能为空"]
    elif len(name) > 60:
        errors["name"] = ["姓名不能超过 60 个字"]
    values["name"] = name
    try:
        rid = check_resident_id(data.id_number)
        values.update(id_number=rid.number, birth_date=rid.birth_date, gender=rid.gender)
    except IdentifierError as exc:
        errors["id_number"] = [exc.message]
    values["phone"] = None
    if (data.phone or "").strip():
        try:
            values["phone"] = check_phone(data.phone)
        except IdentifierError as exc:
            errors["phone"] = [exc.message]
    values["bank_card"] = None
    if (data.bank_card or "").strip():
        try:
            card = check_bank_card(data.bank_card)
            values["bank_card"] = card.value
            if card.warnings:
                warnings["bank_card"] = card.warnings
        except IdentifierError as exc:
            errors["bank_card"] = [exc.message]
    bank_name, bank_cnaps, unlisted = bank_resolve(data, errors)
    if data.insurance_type not in INSURANCE_TYPES:
        errors["insurance_type"] = ["基本医保类型应为：职工医保、居民医保或未参加基本医保"]
    if data.employment_status not in EMPLOYMENT_STATUSES:
        errors["employment_status"] = ["就业状态无效"]
    organisation = data.organisation or (data.unit.organisation if data.unit else None)
    if organisation is None:
        errors["organisation"] = ["请选择参保单位或所属工会"]
    elif data.unit is not None and data.unit.organisation_id != organisation.pk:
        errors["unit"] = ["参保单位不属于所选工会"]
    if errors:
        raise DomainError("请更正标出的字段", field_errors=errors)
    values.update(
        bank_name=bank_name,
        bank_cnaps=bank_cnaps,
        insurance_type=data.insurance_type,
        employment_status=data.employment_status,
        unit=data.unit,
        organisation=organisation,
        **{flag: bool(getattr(data, flag)) for flag in FLAG_FIELDS},
    )
    return CleanMember(values, warnings, bank_unlisted=unlisted)


def member_snapshot(member: Member) -> dict[str, Any]:
    """Return the member's fields for the event log, personal data masked."""
    return {
        "name": member.name,
        "id_number": mask_id_number(member.id_number or ""),
        "phone": mask_phone(member.phone or ""),
        "bank_card": mask_bank_card(member.bank_card or ""),
        "bank_name": member.bank_name,
        "bank_cnaps": member.bank_cnaps,
        "insurance_type": member.insurance_type,
        "employment_status": member.employment_status,
        "unit": member.unit_id,
        "organisation": member.organisation_id,
        **{flag: getattr(member, flag) for flag in FLAG_FIELDS},
    }


def _apply(member: Member, values: dict[str, Any], confirmed: bool) -> None:
    for key, value in values.items():
        setattr(member, key, value)
    member.id_number_bidx = blind_index(values["id_number"], field="id_number")
    member.phone_bidx = blind_index(values["phone"], field="phone") if values["phone"] else ""
    member.bank_card_warning_confirmed = confirmed
    org = values["organisation"]
    member.org_path, member.fund_region_id = org.path, org.fund_region_id


def _check_confirmation(clean: CleanMember, confirm_warnings: bool) -> bool:
    if clean.warnings and not confirm_warnings:
        first = next(iter(clean.warnings.values()))[0]
        raise NeedsConfirmation(first, warnings=clean.warnings)
    return bool(clean.warnings)


def _check_unique(id_number: str, exclude_pk: int | None = None) -> None:
    qs = Member.objects.filter(id_number_bidx__in=blind_indexes(id_number, field="id_number"))
    if exclude_pk is not None:
        qs = qs.exclude(pk=exclude_pk)
    if qs.exists():
        raise DomainError("该身份证号已登记", field_errors={"id_number": ["该身份证号已登记为会员"]},
                          code="duplicate")


@transaction.atomic
def member_create(*, actor: Actor, data: MemberInput, confirm_warnings: bool = False) -> Member:
    """Validate and create a member. Warnings (a card failing Luhn) need confirmation."""
    clean = member_clean(data)
    confirmed = _check_confirmation(clean, confirm_warnings)
    _check_unique(clean.values["id_number"])
    member = Member()
    _apply(member, clean.values, confirmed)
    try:
        with transaction.atomic():
            member.save()
    except IntegrityError:  # a concurrent request registered the same ID number first
        raise DomainError("该身份证号已登记", field_errors={"id_number": ["该身份证号已登记为会员"]},
                          code="duplicate") from None
    event_record(action=Action.MEMBER_CREATED, actor=actor, obj=member,
                 after=member_snapshot(member))
    return member


@transaction.atomic
def member_update(
    *, actor: Actor, member: Member, data: MemberInput, confirm_warnings: bool = False
) -> Member:
    clean = member_clean(data)
    # A card already confirmed is not questioned again when it is unchanged.
    already = member.bank_card_warning_confirmed and clean.values["bank_card"] == member.bank_card
    confirmed = _check_confirmation(clean, confirm_warnings or already)
    _check_unique(clean.values["id_number"], exclude_pk=member.pk)
    before = member_snapshot(member)
    new_card = bool(clean.values["bank_card"]) and clean.values["bank_card"] != member.bank_card
    _apply(member, clean.values, confirmed)
    member.save()
    after = member_snapshot(member)
    changed = {k for k in after if after[k] != before[k]}
    event_record(action=Action.MEMBER_UPDATED, actor=actor, obj=member,
                 before={k: before[k] for k in changed}, after={k: after[k] for k in changed})
    if new_card:
        # A corrected card puts payouts the bank failed back in the queue, in this transaction.
        from huzhu.payouts.services import payouts_requeue_corrected

        payouts_requeue_corrected(member_ids=[member.pk], actor=actor)
    return member


@dataclass(frozen=True)
class MemberUpsert:
    """One person for :func:`members_upsert_many`: ``values`` as :func:`member_clean` returns
    them, and the registered member they are (found by their ID number's blind index), or
    ``None`` for someone not registered yet."""

    values: dict[str, Any]
    member_id: int | None = None


@dataclass(frozen=True)
class Upserted:
    """What :func:`members_upsert_many` did. ``member_ids`` holds each person's member, in the
    order given (the new ones numbered now); ``new_cards`` the members whose bank card changed."""

    member_ids: list[int]
    created: int
    updated: int
    new_cards: list[int]


MEMBER_COLUMNS = (
    "id", "name", "id_number", "id_number_bidx", "birth_date", "gender", "phone", "phone_bidx",
    "bank_card", "bank_card_warning_confirmed", "bank_name", "bank_cnaps", "insurance_type",
    "is_union_member", "employment_status", "is_hardship", "is_model_worker",
    "is_new_form_worker", "unit_id", "organisation_id", "org_path", "fund_region_id",
    "created_at", "updated_at",
)
# What a list brings a registered member up to (besides a phone or card it gives).
UPSERT_TRACKED = ("name", "unit_id", "insurance_type", *FLAG_FIELDS)
UPSERT_WRITTEN = ("name", "unit", "organisation", "org_path", "fund_region", "insurance_type",
                  "phone", "phone_bidx", "bank_card", "bank_name", "bank_cnaps", *FLAG_FIELDS,
                  "updated_at")
MEMBER_TYPE = Member._meta.label_lower  # the events' object_type, as event_record(obj=member)


def _placement(values: dict[str, Any]) -> tuple[int | None, int, str, int | None]:
    """(unit, organisation, org_path, fund region) of cleaned values: a unit's own when there
    is one (a member of a unit sits where the unit sits), else the organisation's."""
    unit, org = values.get("unit"), values["organisation"]
    if unit is not None:
        return unit.pk, unit.organisation_id, unit.org_path, unit.fund_region_id
    return None, org.pk, org.path, org.fund_region_id


def _values_snapshot(v: dict[str, Any], unit_id: int | None, org_id: int) -> dict[str, Any]:
    """:func:`member_snapshot` of a member about to be created from cleaned values ``v``
    (no model instance built: a roster creates 100,000)."""
    return {
        "name": v["name"],
        "id_number": mask_id_number(v["id_number"] or ""),
        "phone": mask_phone(v["phone"] or ""),
        "bank_card": mask_bank_card(v["bank_card"] or ""),
        "bank_name": v["bank_name"],
        "bank_cnaps": v["bank_cnaps"],
        "insurance_type": str(v["insurance_type"]),
        "employment_status": str(v["employment_status"]),
        "unit": unit_id,
        "organisation": org_id,
        **{flag: v[flag] for flag in FLAG_FIELDS},
    }


def members_upsert_many(*, actor: Actor, people: Sequence[MemberUpsert]) -> Upserted:
    """Register the new people and bring the registered ones up to date, set-wise: the
    members of a roster (100,000 rows stay one COPY of member rows and one of events).

    A new person is inserted as :func:`member_create` would store them (a card failing Luhn
    is not marked confirmed). A registered member takes the given name, unit (joining
    another unit is a transfer), insurance type and flags; a phone or bank card replaces the
    stored one only when given and different (a blank keeps it), the bank name goes with a
    new card; ID number, birth date, gender and employment status stay. Only members whose
    data differ are written. A person listed several times (a roster row per product) is
    one member, their rows applied in order (a later blank phone or card keeps an earlier).

    Events as the one-member services write them: ``member.created`` with the new member's
    :func:`member_snapshot` as ``after``, ``member.updated`` with the snapshot fields that
    changed as ``before``/``after`` — masked, never a full ID number, phone or card. They
    are appended set-wise when the outermost :func:`~huzhu.audit.services.events_last`
    block ends (this call's own, or the caller's: then the event chain's head stays the
    last lock of the caller's transaction, ADR 0008). A new card puts the member's failed
    payouts back in the queue (as :func:`member_update`), in this transaction. Validation
    (:func:`member_clean`) and the ID-number lookup are the caller's."""
    with transaction.atomic(), events_last():
        member_ids: list[int | None] = [p.member_id for p in people]
        new: dict[str, dict[str, Any]] = {}  # ID number -> values: one member per person
        new_at: dict[str, list[int]] = {}
        known: dict[int, dict[str, Any]] = {}
        for i, p in enumerate(people):
            if p.member_id is None:
                number = p.values["id_number"]
                new[number] = _merge(new[number], p.values) if number in new else p.values
                new_at.setdefault(number, []).append(i)
            elif p.member_id in known:
                known[p.member_id] = _merge(known[p.member_id], p.values)
            else:
                known[p.member_id] = p.values
        fresh: list[tuple[int, dict[str, Any]]] = []
        for (number, positions), pk in zip(new_at.items(), bulk.reserve_ids(Member, len(new)),
                                           strict=True):
            fresh.append((pk, new[number]))
            for i in positions:
                member_ids[i] = pk
        now = timezone.now()
        _insert_new(fresh, actor, bulk.db_datetime(now))
        updated, new_cards = _update_known(known, actor, now)
        if new_cards:
            # A corrected card puts payouts the bank failed back in the queue.
            from huzhu.payouts.services import payouts_requeue_corrected

            payouts_requeue_corrected(member_ids=new_cards, actor=actor)
    return Upserted(member_ids=cast(list[int], member_ids),  # every None numbered above
                    created=len(new), updated=updated, new_cards=new_cards)


def _merge(earlier: dict[str, Any], later: dict[str, Any]) -> dict[str, Any]:
    """A person on several rows: the later row's values, but a blank phone or card there
    keeps the earlier row's (the card with its bank name), as rows applied one by one."""
    merged = dict(later)
    if not later["phone"]:
        merged["phone"] = earlier["phone"]
    if not later["bank_card"]:
        for k in ("bank_card", "bank_name", "bank_cnaps"):
            merged[k] = earlier[k]
    return merged


def _insert_new(people: list[tuple[int, dict[str, Any]]], actor: Actor, now: Any) -> None:
    if people:
        bulk.insert_rows(Member, MEMBER_COLUMNS, _new_rows(people, actor, now))


def _new_rows(people: list[tuple[int, dict[str, Any]]], actor: Actor, now: Any
              ) -> Iterator[tuple]:
    """The new members' rows in database form, each one's ``member.created`` event recorded
    as it goes: a generator, so that PostgreSQL takes in the COPY while the next rows are
    encrypted."""
    enc = cipher().encrypt
    for pk, v in people:
        unit_id, org_id, org_path, region_id = _placement(v)
        event_record(action=Action.MEMBER_CREATED, actor=actor, object_type=MEMBER_TYPE,
                     object_id=str(pk), org_path=org_path,
                     after=_values_snapshot(v, unit_id, org_id))
        yield (
            pk, v["name"], enc(v["id_number"], field="members.member.id_number"),
            blind_index(v["id_number"], field="id_number"), v["birth_date"], v["gender"],
            enc(v["phone"], field="members.member.phone") if v["phone"] else None,
            blind_index(v["phone"], field="phone") if v["phone"] else "",
            enc(v["bank_card"], field="members.member.bank_card") if v["bank_card"] else None,
            False, v["bank_name"], v["bank_cnaps"], v["insurance_type"], v["is_union_member"],
            v["employment_status"], v["is_hardship"], v["is_model_worker"],
            v["is_new_form_worker"], unit_id, org_id, org_path, region_id, now, now,
        )


def _update_known(known: dict[int, dict[str, Any]], actor: Actor, now: Any
                  ) -> tuple[int, list[int]]:
    """Write the registered members whose data differ; returns how many, and who got a new
    bank card."""
    if not known:
        return 0, []
    members: dict[int, Member] = {}
    ids = list(known)
    for start in range(0, len(ids), 900):
        members.update(Member.objects.in_bulk(ids[start:start + 900]))
    changed, new_cards = [], []
    for pk, v in known.items():
        m = members[pk]
        unit_id, org_id, org_path, region_id = _placement(v)
        wanted = {"name": v["name"], "unit_id": unit_id, "insurance_type": v["insurance_type"],
                  **{flag: v[flag] for flag in FLAG_FIELDS}}
        numbers = {k: v[k] for k in ("phone", "bank_card") if v[k] and v[k] != getattr(m, k)}
        if all(getattr(m, k) == wanted[k] for k in UPSERT_TRACKED) and not numbers:
            continue
        before = member_snapshot(m)
        for k, value in wanted.items():
            setattr(m, k, value)
        m.organisation_id, m.org_path, m.fund_region_id = org_id, org_path, region_id
        if "phone" in numbers:
            m.phone, m.phone_bidx = v["phone"], blind_index(v["phone"], field="phone")
        if "bank_card" in numbers:
            m.bank_card, m.bank_name, m.bank_cnaps = v["bank_card"], v["bank_name"], v["bank_cnaps"]
            new_cards.append(m.pk)
        m.updated_at = now
        changed.append(m)
        after = member_snapshot(m)
        diff = [k for k in after if after[k] != before[k]]
        event_record(action=Action.MEMBER_UPDATED, actor=actor, object_type=MEMBER_TYPE,
                     object_id=str(m.pk), org_path=m.org_path,
                     before={k: before[k] for k in diff}, after={k: after[k] for k in diff})
    Member.objects.bulk_update(changed, UPSERT_WRITTEN, batch_size=1000)
    return len(changed), new_cards


def member_reveal(*, actor: User, member: Member, field_name: str, purpose: str = "",
                  right: Perm = Perm.REVEAL_PII, context: dict[str, Any] | None = None) -> str:
    """Return one full personal-data value and record who saw it (always a person).

    ``right`` is the permission that allows it: 查看完整个人信息 by default, or a narrower one
    given for one ``purpose`` (a care worker's greeting call: 管理重病关怀, the phone only),
    recorded with the purpose and ``context`` on the event."""
    if field_name not in PII_FIELDS:
        raise DomainError("未知字段", field_errors={"field": ["只能查看身份证号、手机号或银行卡号"]})
    after: dict[str, Any] = {"field": field_name, **({"purpose": purpose} if purpose else {}),
                             **(context or {})}
    if not actor.can(right):
        event_record(action=Action.PII_REVEALED, actor=actor, obj=member, outcome="denied",
                     after=after)
        raise NotAllowed("您的角色无权查看完整个人信息")
    value = getattr(member, field_name) or ""
    event_record(action=Action.PII_REVEALED, actor=actor, obj=member, after=after)
    return value


def member_find_by_id_number(queryset: Any, id_number: str) -> Member | None:
    """Exact lookup of a full ID number through the blind index, within a scoped queryset."""
    normalised = id_number.strip().upper()
    return queryset.filter(
        id_number_bidx__in=blind_indexes(normalised, field="id_number")).first()
