"""Pages for the union tree and units. Every lookup goes through organisations.access."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypedDict

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render

from huzhu.accounts.roles import Perm
from huzhu.actors import AuthedRequest
from huzhu.errors import DomainError
from huzhu.members.access import members_visible_to
from huzhu.web.forms import AgentForm, OrganisationForm, UnitForm
from huzhu.web.paging import paginate

from .access import (
    organisation_get_for_user,
    organisations_visible_to,
    unit_get_for_user,
    units_visible_to,
)
from .models import Organisation, OrgKind
from .services import agent_create, org_create, org_move, org_update, unit_create, unit_update

UNIT_HOLDERS = (OrgKind.GRASSROOTS, OrgKind.INDUSTRY, OrgKind.ORGAN_COMMITTEE)


def _require(request: AuthedRequest, perm: Perm) -> None:
    if not request.user.can(perm):
        raise PermissionDenied


class TreeNode(TypedDict):
    org: Organisation
    grassroots: int  # grassroots unions directly below, counted rather than listed
    children: list[TreeNode]


def _tree(orgs: Sequence[Organisation], grassroots: Mapping[int | None, int]) -> list[TreeNode]:
    """Nest a path-ordered list of organisations into a forest."""
    nodes: dict[int, TreeNode] = {
        o.pk: {"org": o, "grassroots": grassroots.get(o.pk, 0), "children": []} for o in orgs}
    roots: list[TreeNode] = []
    for org in orgs:
        parent = nodes.get(org.parent_id) if org.parent_id is not None else None
        (parent["children"] if parent else roots).append(nodes[org.pk])
    return roots


@login_required
def org_tree(request: AuthedRequest) -> HttpResponse:
    _require(request, Perm.VIEW_ORGS)
    orgs = list(
        organisations_visible_to(request.user)
        .exclude(kind=OrgKind.GRASSROOTS)
        .annotate(unit_count=Count("units"))
        .order_by("depth", "name")
    )
    orgs.sort(key=lambda o: o.path)
    grassroots = (
        organisations_visible_to(request.user).filter(kind=OrgKind.GRASSROOTS)
        .values("parent_id").annotate(n=Count("id"))
    )
    counts = {row["parent_id"]: row["n"] for row in grassroots}
    return render(request, "organisations/tree.html", {
        "forest": _tree(orgs, counts), "can_manage": request.user.can(Perm.MANAGE_ORGS),
    })


@login_required
def org_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    org, can_write = organisation_get_for_user(request.user, pk)
    children = organisations_visible_to(request.user).filter(parent=org).order_by("name")
    units = units_visible_to(request.user).filter(organisation=org).order_by("name")[:200]
    ancestors = organisations_visible_to(request.user).filter(
        pk__in=[int(p) for p in org.path.strip("/").split("/")[:-1]]
    ).order_by("depth")
    return render(request, "organisations/detail.html", {
        "org": org, "children": children, "units": units, "ancestors": ancestors,
        "can_write": can_write,
    })


@login_required
def org_edit(request: AuthedRequest, pk: int | None = None) -> HttpResponse:
    _require(request, Perm.MANAGE_ORGS)
    visible = organisations_visible_to(request.user).exclude(kind=OrgKind.GRASSROOTS)
    org = organisation_get_for_user(request.user, pk)[0] if pk else None
    initial: dict[str, Any]
    if org is None and request.method == "GET" and request.GET.get("parent"):
        initial = {"parent": request.GET["parent"]}
    else:
        initial = {"name": org.name, "kind": org.kind, "parent": org.parent_id,
                   "is_fund_region": org.is_fund_region, "code": org.code} if org else {}
    form = OrganisationForm(request.POST or None, initial=initial,
                            parents=visible.order_by("path"))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        parent = None
        if data["parent"]:
            parent = organisation_get_for_user(request.user, data["parent"])[0]
        if parent is None and (org is None or org.parent_id is not None):
            form.add_error("parent", "请选择上级组织")
        else:
            try:
                if org is None:
                    org = org_create(actor=request.user, name=data["name"], kind=data["kind"],
                                     parent=parent, is_fund_region=data["is_fund_region"],
                                     code=data["code"])
                else:
                    org = org_update(actor=request.user, org=org, name=data["name"],
                                     kind=data["kind"], is_fund_region=data["is_fund_region"],
                                     code=data["code"])
                    if parent is not None and parent.pk != org.parent_id:
                        org = org_move(actor=request.user, org=org, new_parent=parent)
            except DomainError as exc:
                form.apply_error(exc)
            else:
                messages.success(request, f"已保存：{org.name}")
                return redirect("web:org_detail", pk=org.pk)
    return render(request, "organisations/form.html", {"form": form, "org": org})


@login_required
def unit_list(request: AuthedRequest) -> HttpResponse:
    _require(request, Perm.VIEW_UNITS)
    qs = units_visible_to(request.user).select_related("organisation")
    q = request.GET.get("q", "").strip()
    if q:
        qs = qs.filter(Q(name__contains=q) | Q(uscc=q.upper()))
    org_id = request.GET.get("org", "")
    if org_id.isdigit():
        org = organisation_get_for_user(request.user, int(org_id))[0]
        qs = qs.filter(org_path__startswith=org.path)
    page = paginate(request, qs.order_by("org_path", "id"))
    return render(request, "organisations/unit_list.html", {
        "page": page, "q": q, "can_create": request.user.can(Perm.MANAGE_UNITS),
    })


@login_required
def unit_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    unit, can_write = unit_get_for_user(request.user, pk)
    agents = list(unit.agents.all())
    member_count = members_visible_to(request.user).filter(unit=unit).count()
    return render(request, "organisations/unit_detail.html", {
        "unit": unit, "agents": agents, "can_write": can_write, "member_count": member_count,
        "agent_form": AgentForm() if can_write else None,
    })


def _unit_holders(request: AuthedRequest) -> QuerySet[Organisation]:
    return organisations_visible_to(request.user).filter(kind__in=UNIT_HOLDERS).order_by("path")


@login_required
def unit_edit(request: AuthedRequest, pk: int | None = None) -> HttpResponse:
    _require(request, Perm.MANAGE_UNITS)
    unit = None
    initial: dict = {}
    if pk is not None:
        unit, can_write = unit_get_for_user(request.user, pk)
        if not can_write:
            raise PermissionDenied
        initial = {"name": unit.name, "uscc": unit.uscc, "organisation": unit.organisation_id,
                   "address": unit.address}
    form = UnitForm(request.POST or None, initial=initial, organisations=_unit_holders(request))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        organisation = organisation_get_for_user(request.user, data["organisation"])[0]
        kwargs = dict(actor=request.user, name=data["name"], uscc=data["uscc"],
                      organisation=organisation, address=data["address"],
                      confirm_warnings=data["confirm_warnings"])
        try:
            unit = unit_update(unit=unit, **kwargs) if unit else unit_create(**kwargs)
        except DomainError as exc:
            form.apply_error(exc)
        else:
            messages.success(request, f"已保存单位：{unit.name}")
            return redirect("web:unit_detail", pk=unit.pk)
    return render(request, "organisations/unit_form.html", {"form": form, "unit": unit})


@login_required
def agent_add(request: AuthedRequest, pk: int) -> HttpResponse:
    unit, can_write = unit_get_for_user(request.user, pk)
    if not can_write or request.method != "POST":
        raise Http404
    form = AgentForm(request.POST)
    if form.is_valid():
        try:
            agent_create(actor=request.user, unit=unit, **form.cleaned_data)
        except DomainError as exc:
            form.apply_error(exc)
        else:
            messages.success(request, "已添加经办人")
            return redirect("web:unit_detail", pk=unit.pk)
    return render(request, "organisations/unit_detail.html", {
        "unit": unit, "agents": list(unit.agents.all()), "can_write": can_write,
        "agent_form": form, "member_count": members_visible_to(request.user).filter(unit=unit).count(),
    })
