"""Writes to the union tree, units and agents. Each use case is atomic and writes its event."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Value
from django.db.models.functions import Concat, Substr

from huzhu.actors import Actor
from huzhu.audit.models import Action
from huzhu.audit.services import event_record
from huzhu.errors import DomainError, NeedsConfirmation
from huzhu.pii.crypto import blind_index
from huzhu.pii.identifiers import IdentifierError, check_phone, check_uscc
from huzhu.pii.masking import mask_phone

from .models import Agent, Organisation, OrgKind, Unit


def _org_snapshot(org: Organisation) -> dict[str, Any]:
    return {
        "name": org.name, "kind": org.kind, "parent": org.parent_id, "path": org.path,
        "is_fund_region": org.is_fund_region, "code": org.code,
    }


def _place(org: Organisation) -> None:
    """Set path, depth and fund region from the parent (the org must have a pk)."""
    parent = org.parent
    org.path = f"{parent.path if parent else '/'}{org.pk}/"
    org.depth = parent.depth + 1 if parent else 0
    org.fund_region_id = org.pk if org.is_fund_region else (parent.fund_region_id if parent else None)


UNIT_HOLDER_KINDS = (OrgKind.GRASSROOTS, OrgKind.INDUSTRY, OrgKind.ORGAN_COMMITTEE)


def _check_org_fields(name: str, kind: str) -> None:
    if kind not in OrgKind.values:
        raise DomainError("组织类型无效", field_errors={"kind": ["请选择组织类型"]})
    if not name.strip():
        raise DomainError("名称不能为空", field_errors={"name": ["名称不能为空"]})


def _check_unit_holder(organisation: Organisation) -> None:
    if organisation.kind not in UNIT_HOLDER_KINDS:
        raise DomainError("参保单位只能隶属于基层工会、产业工会或机关工委",
                          field_errors={"organisation": ["请选择基层工会、产业工会或机关工委"]})


@transaction.atomic
def org_create(
    *, actor: Actor, name: str, kind: str, parent: Organisation | None,
    is_fund_region: bool = False, code: str = "",
) -> Organisation:
    _check_org_fields(name, kind)
    org = Organisation(
        name=name.strip(), kind=kind, parent=parent, is_fund_region=is_fund_region, code=code,
        path="", depth=0,
    )
    org.save()
    _place(org)
    org.save(update_fields=["path", "depth", "fund_region"])
    event_record(action=Action.ORG_CREATED, actor=actor, obj=org, after=_org_snapshot(org))
    return org


@transaction.atomic
def org_update(
    *, actor: Actor, org: Organisation, name: str, kind: str, is_fund_region: bool, code: str = ""
) -> Organisation:
    _check_org_fields(name, kind)
    before = _org_snapshot(org)
    org.name, org.kind, org.code = name.strip(), kind, code
    region_changed = org.is_fund_region != is_fund_region
    org.is_fund_region = is_fund_region
    org.save(update_fields=["name", "kind", "code", "is_fund_region", "updated_at"])
    if region_changed:
        _refresh_fund_regions(org.path)
        org.refresh_from_db()
    event_record(action=Action.ORG_UPDATED, actor=actor, obj=org, before=before,
                 after=_org_snapshot(org))
    return org


def _refresh_fund_regions(prefix: str) -> None:
    """Recompute fund_region for every org in a subtree, then for its units and members."""
    from huzhu.members.models import Member

    orgs = list(
        Organisation.objects.filter(path__startswith=prefix).select_related("parent")
        .order_by("depth")
    )
    region_of: dict[int, int | None] = {}
    region: int | None
    for org in orgs:
        if org.is_fund_region:
            region = org.pk
        elif org.parent_id in region_of:
            region = region_of[org.parent_id]
        else:
            region = org.parent.fund_region_id if org.parent else None
        region_of[org.pk] = region
        if org.fund_region_id != region:
            Organisation.objects.filter(pk=org.pk).update(fund_region_id=region)
    by_region: dict[int | None, list[int]] = {}
    for org_id, region in region_of.items():
        by_region.setdefault(region, []).append(org_id)
    for region, org_ids in by_region.items():
        Unit.objects.filter(organisation_id__in=org_ids).update(fund_region_id=region)
        Member.objects.filter(organisation_id__in=org_ids).update(fund_region_id=region)


@transaction.atomic
def org_move(*, actor: Actor, org: Organisation, new_parent: Organisation) -> Organisation:
    """Move a node under a new parent; its whole subtree, units and members follow."""
    from huzhu.members.models import Member

    org = Organisation.objects.select_for_update().get(pk=org.pk)
    if new_parent.path.startswith(org.path):
        raise DomainError("不能把组织移动到它自己或它的下级组织之下",
                          field_errors={"parent": ["不能移动到自身的下级"]})
    before = _org_snapshot(org)
    old_prefix = org.path
    new_prefix = f"{new_parent.path}{org.pk}/"
    depth_shift = new_parent.depth + 1 - org.depth
    cut = len(old_prefix) + 1

    def moved(column: str) -> Concat:
        return Concat(Value(new_prefix), Substr(column, cut))

    Organisation.objects.filter(path__startswith=old_prefix).update(
        path=moved("path"), depth=F("depth") + depth_shift
    )
    Organisation.objects.filter(pk=org.pk).update(parent=new_parent)
    Unit.objects.filter(org_path__startswith=old_prefix).update(org_path=moved("org_path"))
    Member.objects.filter(org_path__startswith=old_prefix).update(org_path=moved("org_path"))
    _refresh_fund_regions(new_prefix)
    org.refresh_from_db()
    event_record(action=Action.ORG_MOVED, actor=actor, obj=org, before=before,
                 after=_org_snapshot(org))
    return org


def _checked_uscc(uscc: str, confirm: bool) -> tuple[str, bool]:
    try:
        checked = check_uscc(uscc)
    except IdentifierError as exc:
        raise DomainError(exc.message, field_errors={"uscc": [exc.message]}) from None
    if checked.warnings and not confirm:
        raise NeedsConfirmation(checked.warnings[0], warnings={"uscc": checked.warnings})
    return checked.value, bool(checked.warnings)


def _unit_snapshot(unit: Unit) -> dict[str, Any]:
    return {"name": unit.name, "uscc": unit.uscc, "organisation": unit.organisation_id,
            "address": unit.address}


@transaction.atomic
def unit_create(
    *, actor: Actor, name: str, uscc: str, organisation: Organisation, address: str = "",
    confirm_warnings: bool = False,
) -> Unit:
    """Validate and create a unit. A checksum failure on the USCC needs confirmation."""
    _check_unit_holder(organisation)
    errors: dict[str, list[str]] = {}
    if not name.strip():
        errors["name"] = ["单位名称不能为空"]
    try:
        code, warned = _checked_uscc(uscc, confirm_warnings)
    except NeedsConfirmation:
        if errors:
            raise DomainError("请更正标出的字段", field_errors=errors) from None
        raise
    except DomainError as exc:
        errors.update(exc.field_errors)
    if not errors and Unit.objects.filter(uscc=code).exists():
        errors["uscc"] = [f"统一社会信用代码 {code} 已被其他单位使用"]
    if errors:
        raise DomainError("请更正标出的字段", field_errors=errors)
    try:
        with transaction.atomic():
            unit = Unit.objects.create(
                name=name.strip(), uscc=code, uscc_warning_confirmed=warned,
                organisation=organisation, org_path=organisation.path,
                fund_region_id=organisation.fund_region_id, address=address,
            )
    except IntegrityError:  # a concurrent request registered the same code first
        raise DomainError("请更正标出的字段", field_errors={
            "uscc": [f"统一社会信用代码 {code} 已被其他单位使用"]}) from None
    event_record(action=Action.UNIT_CREATED, actor=actor, obj=unit, after=_unit_snapshot(unit))
    return unit


@transaction.atomic
def unit_update(
    *, actor: Actor, unit: Unit, name: str, uscc: str, organisation: Organisation,
    address: str = "", confirm_warnings: bool = False,
) -> Unit:
    from huzhu.members.models import Member

    _check_unit_holder(organisation)
    before = _unit_snapshot(unit)
    code, warned = _checked_uscc(uscc, confirm_warnings or (
        unit.uscc_warning_confirmed and uscc.strip().upper() == unit.uscc))
    if Unit.objects.filter(uscc=code).exclude(pk=unit.pk).exists():
        raise DomainError("请更正标出的字段",
                          field_errors={"uscc": [f"统一社会信用代码 {code} 已被其他单位使用"]})
    moved = unit.organisation_id != organisation.pk
    unit.name, unit.uscc, unit.address = name.strip(), code, address
    unit.uscc_warning_confirmed = warned
    unit.organisation = organisation
    unit.org_path, unit.fund_region_id = organisation.path, organisation.fund_region_id
    unit.save()
    if moved:
        Member.objects.filter(unit=unit).update(
            organisation=organisation, org_path=organisation.path,
            fund_region_id=organisation.fund_region_id,
        )
    event_record(action=Action.UNIT_UPDATED, actor=actor, obj=unit, before=before,
                 after=_unit_snapshot(unit))
    return unit


@transaction.atomic
def agent_create(*, actor: Actor, unit: Unit, name: str, phone: str) -> Agent:
    try:
        number = check_phone(phone)
    except IdentifierError as exc:
        raise DomainError(exc.message, field_errors={"phone": [exc.message]}) from None
    if not name.strip():
        raise DomainError("姓名不能为空", field_errors={"name": ["姓名不能为空"]})
    agent = Agent.objects.create(
        unit=unit, name=name.strip(), phone=number,
        phone_bidx=blind_index(number, field="phone"),
    )
    event_record(action=Action.AGENT_CREATED, actor=actor, obj=agent,
                 org_path=unit.org_path, after={"name": agent.name, "phone": mask_phone(number)})
    return agent
