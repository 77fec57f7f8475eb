"""API for the union tree and units. Every lookup goes through organisations.access."""

from __future__ import annotations

import datetime
from typing import Any, Literal

from django.db import transaction
from django.db.models import Q
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from huzhu.accounts.api import (
    OrgRef,
    PageMeta,
    StrictSchema,
    error_responses,
    page_of,
    referenced,
    require,
)
from huzhu.accounts.roles import Perm
from huzhu.actors import AuthedRequest
from huzhu.errors import DomainError, NotAllowed
from huzhu.pii.masking import mask_phone

from .access import (
    organisation_get_for_user,
    organisations_visible_to,
    unit_get_for_user,
    units_visible_to,
)
from .models import Organisation, OrgKind, Unit
from .services import org_create, org_move, org_update, unit_create, unit_update

router = Router(tags=["组织与单位"])

# Units hang under these kinds of organisation, as on the unit form.
UNIT_HOLDERS = frozenset({OrgKind.GRASSROOTS, OrgKind.INDUSTRY, OrgKind.ORGAN_COMMITTEE})

OrgKindName = Literal["province", "city", "county", "grassroots", "industry", "organ_committee"]


class OrgOut(Schema):
    id: int
    name: str
    kind: str = Field(..., description="类型代码：" + "、".join(
        f"{value}={label}" for value, label in OrgKind.choices))
    kind_label: str
    parent: int | None = Field(..., description="上级组织 id（可能在您的数据范围之外）")
    depth: int
    is_fund_region: bool = Field(..., description="是否统筹区")
    fund_region: int | None = Field(..., description="所属统筹区的组织 id")
    code: str
    created_at: datetime.datetime
    updated_at: datetime.datetime


class OrgPage(PageMeta):
    items: list[OrgOut]


class OrgIn(StrictSchema):
    name: str = Field(..., min_length=1, max_length=120)
    kind: OrgKindName
    parent: int = Field(..., description="上级组织 id，须在您的数据范围内")
    is_fund_region: bool = False
    code: str = Field("", max_length=40)


class OrgPatch(StrictSchema):
    name: str | None = Field(None, min_length=1, max_length=120)
    kind: OrgKindName | None = None
    parent: int | None = Field(None, description="改变上级即移动该组织，其下级、单位和会员随之移动")
    is_fund_region: bool | None = None
    code: str | None = Field(None, max_length=40)


def _org_out(org: Organisation) -> dict[str, Any]:
    return {
        "id": org.pk, "name": org.name, "kind": org.kind, "kind_label": org.get_kind_display(),
        "parent": org.parent_id, "depth": org.depth, "is_fund_region": org.is_fund_region,
        "fund_region": org.fund_region_id, "code": org.code, "created_at": org.created_at,
        "updated_at": org.updated_at,
    }


@router.get("/organisations", response={200: OrgPage, **error_responses(404)},
            summary="组织列表")
def org_list(
    request: AuthedRequest,
    parent: int | None = Query(None, description="只列出该组织的直接下级"),
    kind: OrgKindName | None = None,
    q: str = Query("", description="名称包含"),
    limit: int = Query(100, ge=1, le=500),
    offset: int = Query(0, ge=0),
) -> dict[str, Any]:
    """List the organisations of your subtree, ordered by their place in the tree."""
    require(request.user, Perm.VIEW_ORGS, "您的角色无权查看组织")
    qs = organisations_visible_to(request.user)
    if parent is not None:
        qs = qs.filter(parent=organisation_get_for_user(request.user, parent)[0])
    if kind:
        qs = qs.filter(kind=kind)
    if q.strip():
        qs = qs.filter(name__contains=q.strip())
    return page_of(qs.order_by("path"), limit, offset, _org_out)


@router.get("/organisations/{org_id}", response={200: OrgOut, **error_responses(404)},
            summary="组织详情")
def org_detail(request: AuthedRequest, org_id: int) -> dict[str, Any]:
    return _org_out(organisation_get_for_user(request.user, org_id)[0])


@router.post("/organisations", response={201: OrgOut, **error_responses(400)},
             summary="新建组织")
def org_create_api(request: AuthedRequest, payload: OrgIn) -> Status:
    """Create an organisation under a parent in your subtree."""
    require(request.user, Perm.MANAGE_ORGS, "您的角色无权新建组织")
    parent = referenced("parent", "上级组织",
                        lambda: organisation_get_for_user(request.user, payload.parent))
    org = org_create(actor=request.user, name=payload.name, kind=payload.kind, parent=parent,
                     is_fund_region=payload.is_fund_region, code=payload.code)
    return Status(201, _org_out(org))


@router.patch("/organisations/{org_id}",
              response={200: OrgOut, **error_responses(400, 404)},
              summary="修改或移动组织")
def org_update_api(request: AuthedRequest, org_id: int, payload: OrgPatch) -> dict[str, Any]:
    """Change an organisation; a new ``parent`` moves it with its whole subtree."""
    org, can_write = organisation_get_for_user(request.user, org_id)
    if not can_write:
        raise NotAllowed("您的角色无权修改组织")
    given = payload.model_dump(exclude_unset=True)
    parent = None
    if "parent" in given:
        if given["parent"] is None:
            raise DomainError("请选择上级组织", field_errors={"parent": ["上级组织不能为空"]})
        parent = referenced("parent", "上级组织",
                            lambda: organisation_get_for_user(request.user, given["parent"]))
    for key in ("name", "kind", "is_fund_region", "code"):
        if key in given and (given[key] is None or (key == "name" and not given[key].strip())):
            raise DomainError("请更正标出的字段", field_errors={key: ["不能为空"]})
    with transaction.atomic():
        if given.keys() & {"name", "kind", "is_fund_region", "code"}:
            org = org_update(
                actor=request.user, org=org, name=given.get("name", org.name),
                kind=given.get("kind", org.kind),
                is_fund_region=given.get("is_fund_region", org.is_fund_region),
                code=given.get("code", org.code),
            )
        if parent is not None and parent.pk != org.parent_id:
            org = org_move(actor=request.user, org=org, new_parent=parent)
    return _org_out(org)


class UnitOut(Schema):
    id: int
    name: str
    uscc: str = Field(..., description="统一社会信用代码")
    uscc_warning_confirmed: bool = Field(..., description="校验位不符已由工作人员确认")
    organisation: OrgRef
    address: str
    created_at: datetime.datetime
    updated_at: datetime.datetime


class AgentOut(Schema):
    id: int
    name: str
    phone: str = Field(..., description="脱敏手机号，如 138****1234")
    is_active: bool


class UnitDetailOut(UnitOut):
    agents: list[AgentOut]
    can_write: bool


class UnitPage(PageMeta):
    items: list[UnitOut]


class UnitIn(StrictSchema):
    name: str = Field(..., min_length=1, max_length=200)
    uscc: str = Field(..., max_length=40, description="统一社会信用代码（18 位）")
    organisation: int = Field(..., description="所属基层工会、产业工会或机关工委的 id")
    address: str = Field("", max_length=200)
    confirm_warnings: bool = Field(False, description="确认 409 答复中的提示后重新提交")


class UnitPatch(StrictSchema):
    name: str | None = Field(None, min_length=1, max_length=200)
    uscc: str | None = Field(None, max_length=40)
    organisation: int | None = None
    address: str | None = Field(None, max_length=200)
    confirm_warnings: bool = False


def _unit_out(unit: Unit) -> dict[str, Any]:
    return {
        "id": unit.pk, "name": unit.name, "uscc": unit.uscc,
        "uscc_warning_confirmed": unit.uscc_warning_confirmed,
        "organisation": {"id": unit.organisation_id, "name": unit.organisation.name},
        "address": unit.address, "created_at": unit.created_at, "updated_at": unit.updated_at,
    }


def _unit_detail_out(unit: Unit, can_write: bool) -> dict[str, Any]:
    agents = [{"id": a.pk, "name": a.name, "phone": mask_phone(a.phone), "is_active": a.is_active}
              for a in unit.agents.all()]
    return {**_unit_out(unit), "agents": agents, "can_write": can_write}


def _unit_holder(request: AuthedRequest, org_id: int) -> Organisation:
    org = referenced("organisation", "所属工会",
                     lambda: organisation_get_for_user(request.user, org_id))
    if org.kind not in UNIT_HOLDERS:
        message = "参保单位只能挂在基层工会、产业工会或机关工委之下"
        raise DomainError(message, field_errors={"organisation": [message]})
    return org


@router.get("/units", response={200: UnitPage, **error_responses(404)},
            summary="参保单位列表与查询")
def unit_list(
    request: AuthedRequest,
    q: str = Query("", description="单位名称包含，或完整的统一社会信用代码"),
    org: int | None = Query(None, description="只列出该组织及其下级的单位"),
    limit: int = Query(100, ge=1, le=500),
    offset: int = Query(0, ge=0),
) -> dict[str, Any]:
    require(request.user, Perm.VIEW_UNITS, "您的角色无权查看参保单位")
    qs = units_visible_to(request.user).select_related("organisation")
    if q.strip():
        qs = qs.filter(Q(name__contains=q.strip()) | Q(uscc=q.strip().upper()))
    if org is not None:
        qs = qs.filter(org_path__startswith=organisation_get_for_user(request.user, org)[0].path)
    return page_of(qs.order_by("org_path", "id"), limit, offset, _unit_out)


@router.get("/units/{unit_id}", response={200: UnitDetailOut, **error_responses(404)},
            summary="参保单位详情")
def unit_detail(request: AuthedRequest, unit_id: int) -> dict[str, Any]:
    return _unit_detail_out(*unit_get_for_user(request.user, unit_id))


@router.post("/units", response={201: UnitDetailOut, **error_responses(400, 409)},
             summary="新建参保单位")
def unit_create_api(request: AuthedRequest, payload: UnitIn) -> Status:
    """Create a unit. A USCC failing its check digit answers 409 until confirmed."""
    require(request.user, Perm.MANAGE_UNITS, "您的角色无权新建参保单位")
    organisation = _unit_holder(request, payload.organisation)
    unit = unit_create(actor=request.user, name=payload.name, uscc=payload.uscc,
                       organisation=organisation, address=payload.address,
                       confirm_warnings=payload.confirm_warnings)
    return Status(201, _unit_detail_out(unit, True))


@router.patch("/units/{unit_id}",
              response={200: UnitDetailOut, **error_responses(400, 404, 409)},
              summary="修改参保单位")
def unit_update_api(request: AuthedRequest, unit_id: int, payload: UnitPatch) -> dict[str, Any]:
    """Change a unit; a new ``organisation`` moves it and its members."""
    unit, can_write = unit_get_for_user(request.user, unit_id)
    if not can_write:
        raise NotAllowed("您的角色无权修改参保单位")
    given = payload.model_dump(exclude_unset=True)
    for key in ("name", "uscc", "organisation", "address"):
        if key in given and given[key] is None:
            raise DomainError("请更正标出的字段", field_errors={key: ["不能为空"]})
    organisation = unit.organisation
    if "organisation" in given and given["organisation"] != unit.organisation_id:
        organisation = _unit_holder(request, given["organisation"])
    uscc = given.get("uscc", unit.uscc)
    # A code whose warning was confirmed before needs no new confirmation to rename the unit.
    confirmed = payload.confirm_warnings or (
        uscc.strip().upper() == unit.uscc and unit.uscc_warning_confirmed)
    unit = unit_update(actor=request.user, unit=unit, name=given.get("name", unit.name),
                       uscc=uscc, organisation=organisation,
                       address=given.get("address", unit.address), confirm_warnings=confirmed)
    return _unit_detail_out(unit, can_write)

