"""API for members: search, detail, create, update and the recorded reveal of personal data.

Every lookup goes through members.access; personal data leaves the server masked, except
through ``reveal``, which is permissioned and written to the event log.
"""

from __future__ import annotations

import datetime
from typing import Any, Literal

from django.http import Http404
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
    require_member_writer,
)
from huzhu.accounts.roles import Perm
from huzhu.actors import AuthedRequest
from huzhu.errors import DomainError, NotAllowed
from huzhu.idempotency.hooks import idempotency_exempt
from huzhu.organisations.access import organisation_get_for_user, unit_get_for_user
from huzhu.organisations.models import Organisation, Unit
from huzhu.pii.masking import mask_bank_card, mask_id_number, mask_name, mask_phone

from .access import member_get_for_user
from .models import EmploymentStatus, Gender, InsuranceType, Member
from .selectors import full_names_for, member_search
from .services import (
    FLAG_FIELDS,
    MemberInput,
    member_clean,
    member_create,
    member_reveal,
    member_update,
)

router = Router(tags=["会员"])

InsuranceTypeName = Literal["employee", "resident", "none"]
EmploymentStatusName = Literal["employed", "flexible", "retired", "left"]

LIST_COLUMNS = (
    "id", "name", "id_number", "gender", "birth_date", "insurance_type", "employment_status",
    *FLAG_FIELDS, "unit__name", "organisation__name",
)


def _choices(choices: Any) -> str:
    return "、".join(f"{value}={label}" for value, label in choices)


class MemberOut(Schema):
    id: int
    name: str = Field(..., description="全名或 `张*三`（见接口说明中的姓名规则）")
    id_number: str = Field(..., description="脱敏身份证号，如 450103********1234")
    gender: str = Field(..., description=_choices(Gender.choices))
    birth_date: datetime.date
    insurance_type: str = Field(..., description=_choices(InsuranceType.choices))
    employment_status: str = Field(..., description=_choices(EmploymentStatus.choices))
    is_union_member: bool
    is_hardship: bool = Field(..., description="困难职工")
    is_model_worker: bool = Field(..., description="劳模/工匠")
    is_new_form_worker: bool = Field(..., description="新就业形态劳动者")
    unit: OrgRef | None
    organisation: OrgRef


class MemberDetailOut(MemberOut):
    phone: str = Field(..., description="脱敏手机号，如 138****1234；未登记为空")
    bank_card: str = Field(..., description="脱敏银行卡号，如 6222 **** **** 3029；未登记为空")
    bank_name: str
    bank_cnaps: str = Field(
        ..., description="开户行在银行名录中的 12 位联行号；开户行不在名录中（待工作人员选定）或未登记为空")
    bank_card_warning_confirmed: bool
    created_at: datetime.datetime
    updated_at: datetime.datetime
    can_write: bool
    can_reveal: bool


class MemberPage(PageMeta):
    items: list[MemberOut]


class MemberIn(StrictSchema):
    name: str = Field(..., max_length=60)
    id_number: str = Field(..., max_length=40, description="18 位公民身份号码（文本，不是数字）")
    phone: str = Field("", max_length=20, description="手机号，可带 +86")
    bank_card: str = Field("", max_length=40, description="16–19 位银行卡号")
    bank_cnaps: str = Field("", max_length=12, description="开户行：银行名录中的 12 位联行号（优先）")
    bank_name: str = Field("", max_length=100,
                           description="开户行名称：未给联行号时须能对应到银行名录中的一家银行")
    insurance_type: InsuranceTypeName = "employee"
    employment_status: EmploymentStatusName = "employed"
    is_union_member: bool = True
    is_hardship: bool = False
    is_model_worker: bool = False
    is_new_form_worker: bool = False
    unit: int | None = Field(None, description="参保单位 id；单位经办人只能填自己的单位")
    organisation: int | None = Field(None, description="所属工会 id；不填则取参保单位所属工会")
    confirm_warnings: bool = Field(False, description="确认 409 答复中的提示后重新提交")


class MemberPatch(StrictSchema):
    name: str | None = Field(None, max_length=60)
    id_number: str | None = Field(None, max_length=40)
    phone: str | None = Field(None, max_length=20, description="空字符串或 null 清除")
    bank_card: str | None = Field(None, max_length=40, description="空字符串或 null 清除")
    bank_cnaps: str | None = Field(None, max_length=12,
                                   description="银行名录中的 12 位联行号；空字符串或 null 清除开户行")
    bank_name: str | None = Field(None, max_length=100,
                                  description="开户行名称（未给联行号时须能对应到银行名录）")
    insurance_type: InsuranceTypeName | None = None
    employment_status: EmploymentStatusName | None = None
    is_union_member: bool | None = None
    is_hardship: bool | None = None
    is_model_worker: bool | None = None
    is_new_form_worker: bool | None = None
    unit: int | None = Field(None, description="null 表示不再挂在参保单位下（须保留所属工会）")
    organisation: int | None = None
    confirm_warnings: bool = False


class SearchIn(StrictSchema):
    q: str = Field(..., max_length=60, description="姓名开头，或完整的 18 位身份证号")
    unit: int | None = None
    org: int | None = None
    limit: int = Field(50, ge=1, le=500)
    offset: int = Field(0, ge=0)


class RevealIn(StrictSchema):
    field: Literal["id_number", "phone", "bank_card"]


class RevealOut(Schema):
    field: str
    value: str


def _ref(obj: Any) -> dict[str, Any] | None:
    return {"id": obj.pk, "name": obj.name} if obj is not None else None


def _member_out(member: Member, full_name: bool) -> dict[str, Any]:
    return {
        "id": member.pk, "name": member.name if full_name else mask_name(member.name),
        "id_number": mask_id_number(member.id_number or ""), "gender": member.gender,
        "birth_date": member.birth_date, "insurance_type": member.insurance_type,
        "employment_status": member.employment_status,
        **{flag: getattr(member, flag) for flag in FLAG_FIELDS},
        "unit": _ref(member.unit), "organisation": _ref(member.organisation),
    }


def _member_detail_out(user: Any, member: Member, can_write: bool) -> dict[str, Any]:
    full_name = full_names_for(user) or user.member_id == member.pk
    return {
        **_member_out(member, full_name),
        "phone": mask_phone(member.phone or ""), "bank_card": mask_bank_card(member.bank_card or ""),
        "bank_name": member.bank_name, "bank_cnaps": member.bank_cnaps,
        "bank_card_warning_confirmed": member.bank_card_warning_confirmed,
        "created_at": member.created_at, "updated_at": member.updated_at,
        "can_write": can_write, "can_reveal": user.can(Perm.REVEAL_PII),
    }


def _page(request: AuthedRequest, q: str, unit: int | None, org: int | None, limit: int,
          offset: int) -> dict[str, Any]:
    user: Any = request.user
    require(user, Perm.VIEW_MEMBERS, "您的角色无权查看会员")
    qs, _ = member_search(user, {"q": q, "unit": "" if unit is None else str(unit),
                                 "org": "" if org is None else str(org)})
    qs = qs.select_related("unit", "organisation").only(*LIST_COLUMNS).order_by("id")
    full_name = full_names_for(user)
    return page_of(qs, limit, offset,
                   lambda m: _member_out(m, full_name or m.pk == user.member_id))


@router.get("", response={200: MemberPage, **error_responses(404)},
            summary="会员列表与查询")
def member_list(
    request: AuthedRequest,
    q: str = Query("", max_length=60, description="姓名开头，或完整的 18 位身份证号（经盲索引精确查找）"),
    unit: int | None = Query(None, description="只列出该参保单位的会员"),
    org: int | None = Query(None, description="只列出该组织及其下级的会员"),
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0),
) -> dict[str, Any]:
    """List the members in your scope; the cost is the same for any page size."""
    return _page(request, q, unit, org, limit, offset)


@router.post("/search", response={200: MemberPage, **error_responses(400, 404)},
             summary="会员查询（查询条件放在请求体中）")
@idempotency_exempt
def member_search_api(request: AuthedRequest, payload: SearchIn) -> dict[str, Any]:
    """The same search with the query in the body, so a full ID number stays out of URLs and
    access logs."""
    return _page(request, payload.q, payload.unit, payload.org, payload.limit, payload.offset)


@router.get("/{member_id}", response={200: MemberDetailOut, **error_responses(404)},
            summary="会员详情（个人信息脱敏）")
def member_detail(request: AuthedRequest, member_id: int) -> dict[str, Any]:
    member, can_write = member_get_for_user(request.user, member_id)
    return _member_detail_out(request.user, member, can_write)


def _placement(request: AuthedRequest, payload: MemberIn
               ) -> tuple[Unit | None, Organisation | None]:
    """Resolve the unit and union a new member goes to, through the access helpers.

    When they are wrong, the other fields are checked too, so one answer names every bad field.
    """
    errors: dict[str, list[str]] = {}
    unit: Unit | None = None
    org: Organisation | None = None
    try:
        if (unit_id := payload.unit) is not None:
            unit = referenced("unit", "参保单位",
                              lambda: unit_get_for_user(request.user, unit_id))
        if (org_id := payload.organisation) is not None:
            org = referenced("organisation", "所属工会",
                             lambda: organisation_get_for_user(request.user, org_id))
    except DomainError as exc:
        errors.update(exc.field_errors)
    if unit is None and org is None and not errors:
        errors["unit"] = ["请选择参保单位"]
    if errors:
        try:
            member_clean(MemberInput(bank_listed_only=True, **_member_fields(payload)))
        except DomainError as exc:
            errors = {**{k: v for k, v in exc.field_errors.items()
                         if k not in {"unit", "organisation"}}, **errors}
        raise DomainError("请更正标出的字段", field_errors=errors)
    return unit, org


def _member_fields(payload: MemberIn) -> dict[str, Any]:
    return payload.model_dump(exclude={"unit", "organisation", "confirm_warnings"})


@router.post("", response={201: MemberDetailOut, **error_responses(400, 409)},
             summary="新建会员")
def member_create_api(request: AuthedRequest, payload: MemberIn) -> Status:
    """Create a member. A bank card failing the Luhn check answers 409 until confirmed."""
    require_member_writer(request.user)
    unit, org = _placement(request, payload)
    data = MemberInput(unit=unit, organisation=org, bank_listed_only=True,
                       **_member_fields(payload))
    member = member_create(actor=request.user, data=data,
                           confirm_warnings=payload.confirm_warnings)
    return Status(201, _member_detail_out(request.user, member, True))


def _merged(member: Member, given: dict[str, Any]) -> dict[str, Any]:
    """The member's current values overlaid with the fields the client sent."""
    current = {
        "name": member.name, "id_number": member.id_number, "phone": member.phone or "",
        "bank_card": member.bank_card or "", "bank_name": member.bank_name,
        "bank_cnaps": member.bank_cnaps, "insurance_type": member.insurance_type,
        "employment_status": member.employment_status,
        **{flag: getattr(member, flag) for flag in FLAG_FIELDS},
    }
    for key, value in given.items():
        if key not in current:
            continue
        if value is None and key in {"phone", "bank_card", "bank_name", "bank_cnaps"}:
            value = ""
        if value is None:
            raise DomainError("请更正标出的字段", field_errors={key: ["不能为空"]})
        current[key] = value
    if "bank_cnaps" in given and not given["bank_cnaps"] and "bank_name" not in given:
        current["bank_name"] = ""  # clearing the 开户行
    if "bank_cnaps" not in given and "bank_name" in given:
        current["bank_cnaps"] = ""  # a new 开户行 text: matched to the bank list
    # The 开户行 not sent is kept as stored (an entry since gone from the list too); one sent
    # must be a list entry (by 联行号, or a text the list knows).
    current["bank_keep"] = "bank_cnaps" not in given and "bank_name" not in given
    current["bank_listed_only"] = True
    return current


def _new_placement(request: AuthedRequest, member: Member, given: dict[str, Any]
                   ) -> tuple[Any, Any]:
    """The unit and union after a change: a moved member's new unit must be in scope; leaving
    the unit keeps the member in their union unless another is named."""
    if "organisation" in given and given["organisation"] is None:
        raise DomainError("请更正标出的字段", field_errors={"organisation": ["不能为空"]})
    unit = member.unit
    if "unit" in given and given["unit"] is None:
        unit = None
    elif "unit" in given and given["unit"] != member.unit_id:
        unit = referenced("unit", "参保单位",
                          lambda: unit_get_for_user(request.user, given["unit"]))
    if given.get("organisation") is not None:
        org = referenced("organisation", "所属工会",
                         lambda: organisation_get_for_user(request.user, given["organisation"]))
    elif unit is None:
        # Leaving the unit keeps the member in their union, which the user must be able to see:
        # an agent may not push a member out of sight by detaching him from the unit.
        try:
            org = organisation_get_for_user(request.user, member.organisation_id)[0]
        except Http404:
            message = "您不能把会员移出参保单位"
            raise DomainError(message, field_errors={"unit": [message]}) from None
    else:
        org = None
    return unit, org


@router.patch("/{member_id}",
              response={200: MemberDetailOut, **error_responses(400, 404, 409)},
              summary="修改会员")
def member_update_api(request: AuthedRequest, member_id: int, payload: MemberPatch
                      ) -> dict[str, Any]:
    """Change the fields sent; the others keep their values."""
    member, can_write = member_get_for_user(request.user, member_id)
    if not can_write:
        raise NotAllowed("您的角色无权修改会员")
    given = payload.model_dump(exclude_unset=True)
    unit, org = _new_placement(request, member, given)
    # A card whose Luhn warning was confirmed before needs no new confirmation.
    confirmed = payload.confirm_warnings or (
        "bank_card" not in given and member.bank_card_warning_confirmed)
    data = MemberInput(unit=unit, organisation=org, **_merged(member, given))
    member = member_update(actor=request.user, member=member, data=data,
                           confirm_warnings=confirmed)
    return _member_detail_out(request.user, member, can_write)


@router.post("/{member_id}/reveal", response={200: RevealOut, **error_responses(400, 404)},
             summary="查看完整个人信息（有权角色，记入日志）")
@idempotency_exempt
def member_reveal_api(request: AuthedRequest, member_id: int, payload: RevealIn) -> dict[str, Any]:
    """Return one full personal-data value; allowed to reviewers and finance, and recorded
    (a refusal is recorded too)."""
    member, _ = member_get_for_user(request.user, member_id)
    return {"field": payload.field,
            "value": member_reveal(actor=request.user, member=member, field_name=payload.field)}
