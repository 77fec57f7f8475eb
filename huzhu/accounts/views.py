"""The administrators' account pages: API tokens (接口令牌, the system administrator) and roles
(用户角色, the security administrator). Both act through the services and signals that record
every change in the event chain (trail.py, tokens.py)."""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from huzhu.actors import AuthedRequest
from huzhu.audit.models import Action
from huzhu.audit.services import event_record
from huzhu.errors import DomainError
from huzhu.organisations.models import Organisation

from .privileges import grant_refusal
from .roles import Perm, Role
from .tokens import (
    AREAS,
    LEVEL_LABELS,
    MAX_DAYS,
    NO_TOKEN_ROLES,
    READ,
    WRITE,
    area_label,
    token_issue,
    token_revoke,
    tokens_visible_to,
)
from .trail import PrivilegeRefused


def _require(request: AuthedRequest, perm: Perm) -> None:
    if not request.user.can(perm) or request.user.organisation_id is None:
        raise PermissionDenied("您的角色无权访问此页面")


def _users_in_scope(actor: Any) -> Any:
    from huzhu.audit.access import users_in_subtree

    return (users_in_subtree(actor.organisation.path)
            .select_related("organisation", "unit", "member").order_by("username"))


def scope_text(scopes: dict[str, str]) -> str:
    return "；".join(f"{area_label(a)}：{LEVEL_LABELS.get(scopes[a], scopes[a])}"
                    for a in AREAS if a in scopes) or "—"


# API tokens.

class TokenForm(forms.Form):
    user = forms.TypedChoiceField(label="令牌所属用户", coerce=int)
    name = forms.CharField(label="用途", max_length=100)
    region = forms.TypedChoiceField(label="数据范围（组织）", coerce=int)
    days = forms.IntegerField(label="有效天数", min_value=1, max_value=MAX_DAYS, initial=90)

    def __init__(self, *args: Any, users: Any = (), regions: Any = (), **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["user"].choices = [  # type: ignore[attr-defined]
            (u.pk, f"{u.display_name or u.username}（{u.username}，{u.get_role_display()}）")
            for u in users]
        self.fields["region"].choices = [  # type: ignore[attr-defined]
            (o.pk, f"{'　' * o.depth}{o.name}") for o in regions]
        levels = [("", "不开放"), (READ, "只读"), (WRITE, "读写")]
        for area, (label, _perms) in AREAS.items():
            self.fields[f"scope_{area}"] = forms.ChoiceField(
                label=f"接口：{label}", choices=levels, required=False)

    def scopes(self) -> dict[str, str]:
        return {a: self.cleaned_data[f"scope_{a}"] for a in AREAS
                if self.cleaned_data.get(f"scope_{a}")}


def _token_row(token: Any, now: datetime.datetime) -> dict[str, Any]:
    status = ("已吊销" if token.revoked_at else
              "已过期" if token.expires_at is None or token.expires_at <= now else "有效")
    return {"token": token, "scope": scope_text(token.scopes or {}), "status": status}


@login_required
def token_list(request: AuthedRequest) -> HttpResponse:
    _require(request, Perm.MANAGE_TOKENS)
    now = timezone.now()
    rows = [_token_row(t, now) for t in tokens_visible_to(request.user).order_by("-created_at")]
    return render(request, "accounts/tokens.html", {"rows": rows})


@login_required
def token_new(request: AuthedRequest) -> HttpResponse:
    _require(request, Perm.MANAGE_TOKENS)
    actor = request.user
    users = [u for u in _users_in_scope(actor).filter(is_active=True)
             if u.role not in NO_TOKEN_ROLES and u.role and u.pk != actor.pk]
    place = actor.organisation
    assert place is not None  # _require
    regions = Organisation.objects.filter(path__startswith=place.path)
    form = TokenForm(request.POST or None, users=users, regions=regions)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        owner = next(u for u in users if u.pk == data["user"])
        region = regions.get(pk=data["region"])
        try:
            token, plain = token_issue(
                actor=actor, user=owner, name=data["name"], scopes=form.scopes(),
                region=region,
                expires_at=timezone.now() + datetime.timedelta(days=data["days"]))
        except DomainError as exc:
            for field, msgs in exc.field_errors.items():
                for msg in msgs:
                    form.add_error(field if field in form.fields else None, msg)
            if not exc.field_errors:
                form.add_error(None, exc.message)
        else:
            # Shown once, on this answer only (no-store, like every page); never again.
            return render(request, "accounts/token_issued.html", {
                "token": token, "plain": plain, "scope": scope_text(token.scopes)})
    return render(request, "accounts/token_form.html", {"form": form})


@login_required
@require_POST
def token_revoke_view(request: AuthedRequest, pk: int) -> HttpResponse:
    _require(request, Perm.MANAGE_TOKENS)
    token = tokens_visible_to(request.user).filter(pk=pk).first()
    if token is None:
        raise Http404("令牌不存在")
    token_revoke(actor=request.user, token=token)
    messages.success(request, f"已吊销令牌 {token.prefix}…（{token.name}）")
    return redirect("web:token_list")


# Roles.

def _roles_for(actor: Any, user: Any) -> list[tuple[str, str]]:
    """The roles the actor may give this account (its place decides which fit)."""
    fitting: set[str]
    if user.member_id:
        fitting = {Role.MEMBER}
    elif user.unit_id:
        fitting = {Role.AGENT}
    else:
        fitting = set(Role.values) - {Role.AGENT, Role.MEMBER}
    return [(value, label) for value, label in Role.choices
            if value in fitting and grant_refusal(actor.role, value) is None]


def _refusal(actor: Any, user: Any) -> str | None:
    """Why the actor may change no role of this account at all."""
    if user.pk == actor.pk:
        return "不能修改自己的角色"
    return grant_refusal(actor.role, user.role) if user.role else None


@login_required
def user_roles(request: AuthedRequest) -> HttpResponse:
    _require(request, Perm.MANAGE_ROLES)
    actor = request.user
    rows = []
    for user in _users_in_scope(actor):
        choices = [] if _refusal(actor, user) else _roles_for(actor, user)
        rows.append({"user": user, "choices": choices,
                     "place": user.organisation or user.unit or user.member})
    return render(request, "accounts/roles.html", {"rows": rows})


@login_required
@require_POST
def user_role_set(request: AuthedRequest, pk: int) -> HttpResponse:
    _require(request, Perm.MANAGE_ROLES)
    user = _users_in_scope(request.user).filter(pk=pk).first()
    if user is None:
        raise Http404("用户不存在")
    role = request.POST.get("role", "")
    why = _refusal(request.user, user)
    if why is None and role not in dict(_roles_for(request.user, user)):
        why = grant_refusal(request.user.role, role) or "该角色不适用于此账号"
    if why is not None:
        event_record(action=Action.USER_ROLE_CHANGED, actor=request.user,
                     object_type="accounts.user", object_id=str(user.pk),
                     before={"role": user.role}, after={"role": role[:20], "reason": why},
                     outcome="denied")
        messages.error(request, f"未能变更 {user.username} 的角色：{why}")
        return redirect("web:user_roles")
    user.role = role
    try:
        with transaction.atomic():
            user.save(update_fields=["role"])  # checked and recorded by trail.py
    except (PrivilegeRefused, IntegrityError) as exc:
        why = exc.message if isinstance(exc, PrivilegeRefused) else "该角色不适用于此账号"
        # The refusal's own event went back with the transaction: record it again.
        event_record(action=Action.USER_ROLE_CHANGED, actor=request.user,
                     object_type="accounts.user", object_id=str(user.pk),
                     after={"role": role, "reason": why}, outcome="denied")
        messages.error(request, f"未能变更 {user.username} 的角色：{why}")
    else:
        messages.success(request, f"已将 {user.username} 的角色改为{user.get_role_display()}")
    return redirect("web:user_roles")
