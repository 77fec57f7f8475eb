"""Member pages: search, detail with masked personal data, create, edit, reveal."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from huzhu.accounts.roles import Perm, Role
from huzhu.actors import AuthedRequest
from huzhu.errors import DomainError, NotAllowed
from huzhu.organisations.access import (
    unit_get_for_user,
    units_visible_to,
)
from huzhu.web.forms import MemberForm
from huzhu.web.paging import paginate

from .access import member_get_for_user
from .models import Member
from .selectors import full_names_for, member_search
from .services import PII_FIELDS, MemberInput, member_create, member_reveal, member_update

LIST_COLUMNS = (
    "id", "name", "id_number", "gender", "birth_date", "insurance_type", "is_union_member",
    "is_hardship", "is_model_worker", "is_new_form_worker", "unit__name", "organisation__name",
    "org_path",
)


@login_required
def member_list(request: AuthedRequest) -> HttpResponse:
    if request.user.role == Role.MEMBER:
        return redirect("portal:home")  # a member's own record is 我的保障, not a staff list
    if not request.user.can(Perm.VIEW_MEMBERS):
        raise PermissionDenied
    # The search box posts, so a full ID number never lands in a URL, a log or the history.
    params = request.GET.copy()
    if request.method == "POST":
        params["q"] = request.POST.get("q", "")
    qs, filters = member_search(request.user, params)
    qs = qs.select_related("unit", "organisation").only(*LIST_COLUMNS).order_by("id")
    page = paginate(request, qs)
    page.query = urlencode({k: v for k, v in filters.items()
                            if v and k in {"q", "org", "unit"}})
    template = "members/partials/rows.html" if request.htmx else "members/list.html"
    return render(request, template, {
        "page": page, "filters": filters, "full_names": full_names_for(request.user),
        "can_create": request.user.can(Perm.MANAGE_MEMBERS) and request.user.role != Role.MEMBER,
    })


@login_required
def member_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    if request.user.role == Role.MEMBER and request.user.member_id == pk:
        return redirect("portal:home")  # their own record is 我的保障
    member, can_write = member_get_for_user(request.user, pk)
    return render(request, "members/detail.html", {
        "member": member, "can_write": can_write,
        "can_reveal": request.user.can(Perm.REVEAL_PII),
        # An agent or an agency point files a claim for this member from here (代办理赔).
        "can_file": request.user.can(Perm.FILE_CLAIMS) and request.user.role != Role.MEMBER,
        "full_names": full_names_for(request.user) or request.user.member_id == member.pk,
    })


@login_required
@require_POST
def member_reveal_view(request: AuthedRequest, pk: int, field: str) -> HttpResponse:
    member, _ = member_get_for_user(request.user, pk)
    if field not in PII_FIELDS:
        raise PermissionDenied
    try:
        value = member_reveal(actor=request.user, member=member, field_name=field)
    except NotAllowed:
        raise PermissionDenied from None
    return render(request, "members/partials/revealed.html", {"value": value, "field": field})


def _member_input(form: MemberForm, unit: Any, member: Member | None = None) -> MemberInput:
    data = {k: v for k, v in form.cleaned_data.items() if k not in {"unit", "confirm_warnings"}}
    data["bank_cnaps"] = (data.get("bank_cnaps") or "").strip()
    if member is not None and data["bank_cnaps"] == member.bank_cnaps and (
            member.bank_cnaps or member.bank_name):
        # The 开户行 left as it was (an entry since gone from the list, or a roster's text
        # staff have not picked yet) is kept as stored.
        return MemberInput(unit=unit, bank_name=member.bank_name, bank_keep=True, **data)
    return MemberInput(unit=unit, bank_listed_only=True, **data)


@login_required
def member_edit(request: AuthedRequest, pk: int | None = None) -> HttpResponse:
    if not request.user.can(Perm.MANAGE_MEMBERS) or request.user.role == Role.MEMBER:
        raise PermissionDenied
    member = None
    initial: dict[str, Any] = {}
    if pk is not None:
        member, can_write = member_get_for_user(request.user, pk)
        if not can_write:
            raise PermissionDenied
        # Personal data is never put back into the page: blank keeps the stored value.
        initial = {f: getattr(member, f) for f in MemberForm.base_fields
                   if f not in {"unit", "confirm_warnings", *PII_FIELDS}}
        initial["unit"] = member.unit_id
    elif request.GET.get("unit", "").isdigit():
        initial["unit"] = int(request.GET["unit"])
    units = units_visible_to(request.user).order_by("name")
    form = MemberForm(request.POST or None, initial=initial, units=units, existing=member)
    if request.method == "POST" and form.is_valid():
        unit = unit_get_for_user(request.user, form.cleaned_data["unit"])[0]
        data = _member_input(form, unit, member)
        if member is not None:
            for field in PII_FIELDS:
                if not getattr(data, field):
                    setattr(data, field, getattr(member, field) or "")
        confirm = form.cleaned_data["confirm_warnings"]
        try:
            if member is None:
                member = member_create(actor=request.user, data=data, confirm_warnings=confirm)
            else:
                member = member_update(actor=request.user, member=member, data=data,
                                       confirm_warnings=confirm)
        except DomainError as exc:
            form.apply_error(exc)
        else:
            messages.success(request, f"已保存会员：{member.name}")
            return redirect("web:member_detail", pk=member.pk)
    return render(request, "members/form.html", {"form": form, "member": member})


EXPORT_LIMIT = 100_000


@login_required
def member_export(request: AuthedRequest) -> HttpResponse:
    """The filtered member list as xlsx, personal data masked; every export is an event."""
    import io

    from huzhu.audit.models import Action
    from huzhu.audit.services import event_record
    from huzhu.pii.masking import mask_id_number, mask_name
    from huzhu.sheets import Sheet, watermark, workbook

    if not request.user.can(Perm.VIEW_MEMBERS) or request.user.role == Role.MEMBER:
        raise PermissionDenied
    qs, filters = member_search(request.user, request.GET)
    qs = qs.select_related("unit", "organisation").only(*LIST_COLUMNS).order_by("id")
    full = full_names_for(request.user)
    buffer = io.BytesIO()
    book = workbook(buffer)
    sheet = Sheet(book, "会员")
    header = ["姓名", "身份证号（脱敏）", "性别", "出生日期", "医保类型", "参保单位", "所属工会",
              "工会会员", "困难职工", "劳模/工匠", "新就业形态"]
    sheet.row(0, 0, header, book.add_format({"bold": True}))
    sheet.ws.set_column(3, 3, 12)
    rows = 0
    for rows, m in enumerate(qs[:EXPORT_LIMIT].iterator(chunk_size=2000), start=1):
        sheet.row(rows, 0, [
            m.name if full else mask_name(m.name), mask_id_number(m.id_number),
            m.get_gender_display(), m.birth_date, m.get_insurance_type_display(),
            m.unit.name if m.unit else "", m.organisation.name,
            *["是" if getattr(m, f) else "否" for f in
              ("is_union_member", "is_hardship", "is_model_worker", "is_new_form_worker")],
        ])
    sheet.cell(rows + 2, 0, watermark(request.user))
    book.close()
    event_record(action=Action.EXPORT, actor=request.user, object_type="members.member",
                 after={"rows": rows, "filters": {k: v for k, v in filters.items()
                                                  if k in {"org", "unit"}}})
    response = HttpResponse(
        buffer.getvalue(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = "attachment; filename=members.xlsx"
    return response
