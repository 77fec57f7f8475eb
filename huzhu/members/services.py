"""Writes to members. Validation of identifiers lives here so forms, the API and roster
imports share it; every write and every reveal of personal data writes an event."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction

from huzhu.accounts.roles import Perm
from huzhu.actors import Actor
from huzhu.audit.models import Action
from huzhu.audit.services import event_record
from huzhu.errors import DomainError, NeedsConfirmation, NotAllowed
from huzhu.organisations.models import Organisation, Unit
from huzhu.pii.crypto import blind_index
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
        bank_name=(data.bank_name or "").strip(),
        insurance_type=data.insurance_type,
        employment_status=data.employment_status,
        unit=data.unit,
        organisation=organisation,
        **{flag: bool(getattr(data, flag)) for flag in FLAG_FIELDS},
    )
    return CleanMember(values, warnings)


def member_snapshot(member: Member) -> dict[str, Any]:
    """Return the member's fields for the event log, personal data masked."""
    return {
        "name": member.name,
        "id_number": mask_id_number(member.id_number or ""),
        "phone": mask_phone(member.phone or ""),
        "bank_card": mask_bank_card(member.bank_card or ""),
        "bank_name": member.bank_name,
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
    qs = Member.objects.filter(id_number_bidx=blind_index(id_number, field="id_number"))
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


def member_reveal(*, actor: User, member: Member, field_name: str) -> str:
    """Return one full personal-data value and record who saw it (always a person)."""
    if field_name not in PII_FIELDS:
        raise DomainError("未知字段", field_errors={"field": ["只能查看身份证号、手机号或银行卡号"]})
    if not actor.can(Perm.REVEAL_PII):
        event_record(action=Action.PII_REVEALED, actor=actor, obj=member, outcome="denied",
                     after={"field": field_name})
        raise NotAllowed("您的角色无权查看完整个人信息")
    value = getattr(member, field_name) or ""
    event_record(action=Action.PII_REVEALED, actor=actor, obj=member, after={"field": field_name})
    return value


def member_find_by_id_number(queryset: Any, id_number: str) -> Member | None:
    """Exact lookup of a full ID number through the blind index, within a scoped queryset."""
    normalised = id_number.strip().upper()
    return queryset.filter(id_number_bidx=blind_index(normalised, field="id_number")).first()
