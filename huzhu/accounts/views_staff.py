"""Account pages (docs/adr/0021): the system administrator's accounts page (create a staff
account, disable, re-enable; agents' accounts in bulk from an xlsx), the security
administrator's unlock and reset page, and a member's own sign-up."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from huzhu.actors import AuthedRequest
from huzhu.errors import DomainError
from huzhu.organisations.models import Organisation

from .roles import ADMIN_ROLES, Perm
from .staff import (
    CREATABLE,
    account_unlock,
    agents_bulk,
    agents_template,
    password_reset,
    staff_create,
    staff_set_active,
    users_in_scope,
)
from .trail import PrivilegeRefused

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _require(request: AuthedRequest, perm: Perm) -> None:
    if not request.user.can(perm) or request.user.organisation_id is None:
        raise PermissionDenied("您的角色无权访问此页面")


def _errors_to_form(form: forms.Form, exc: DomainError) -> None:
    for field, msgs in exc.field_errors.items():
        for msg in msgs:
            form.add_error(field if field in form.fields else None, msg)
    if not exc.field_errors:
        form.add_error(None, exc.message)


class StaffForm(forms.Form):
    username = forms.CharField(label="用户名", max_length=40)
    display_name = forms.CharField(label="姓名", max_length=60)
    role = forms.ChoiceField(label="角色", choices=CREATABLE)
    organisation = forms.TypedChoiceField(label="所属组织", coerce=int)

    def __init__(self, *args: Any, orgs: Any = (), **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].choices = [  # type: ignore[attr-defined]
            (o.pk, f"{'　' * o.depth}{o.name}") for o in orgs]


class BulkForm(forms.Form):
    file = forms.FileField(label="经办人名单（.xlsx）")


@login_required
def staff_accounts(request: AuthedRequest) -> HttpResponse:
    """The accounts of the administrator's subtree; a new staff account's first password is
    shown once, on the answer to its creation only."""
    _require(request, Perm.MANAGE_USERS)
    actor = request.user
    place = actor.organisation
    assert place is not None
    orgs = Organisation.objects.filter(path__startswith=place.path).order_by("path")
    form = StaffForm(request.POST or None, orgs=orgs)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            user, password = staff_create(actor=actor, username=d["username"],
                                          display_name=d["display_name"], role=d["role"],
                                          organisation_id=d["organisation"])
        except (DomainError, PrivilegeRefused) as exc:
            _errors_to_form(form, exc)
        else:
            return render(request, "accounts/staff_created.html", {
                "account": user, "password": password})
    users = users_in_scope(actor).order_by("username")[:500]
    return render(request, "accounts/staff.html", {
        "form": form, "users": users, "bulk": BulkForm(), "me": actor.pk,
        "admin_roles": ADMIN_ROLES})


@login_required
@require_POST
def staff_active(request: AuthedRequest, pk: int) -> HttpResponse:
    _require(request, Perm.MANAGE_USERS)
    user = users_in_scope(request.user).filter(pk=pk).first()
    if user is None:
        raise Http404("用户不存在")
    active = request.POST.get("active") == "1"
    try:
        staff_set_active(actor=request.user, user=user, active=active)
    except (DomainError, PrivilegeRefused) as exc:
        messages.error(request, f"未能{'启用' if active else '停用'} {user.username}：{exc.message}")
    else:
        messages.success(request, f"已{'启用' if active else '停用'}账号 {user.username}")
    return redirect("web:staff_accounts")


@login_required
def agents_template_view(request: AuthedRequest) -> HttpResponse:
    _require(request, Perm.MANAGE_USERS)
    response = HttpResponse(agents_template(), content_type=XLSX)
    response["Content-Disposition"] = "attachment; filename=agents-template.xlsx"
    return response


@login_required
@require_POST
def agents_bulk_view(request: AuthedRequest) -> HttpResponse:
    _require(request, Perm.MANAGE_USERS)
    form = BulkForm(request.POST, request.FILES)
    errors: list[str] = []
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            result = agents_bulk(actor=request.user, data=upload.read(),
                                 file_name=upload.name or "")
        except DomainError as exc:
            errors = exc.field_errors.get("file") or [exc.message]
        else:
            messages.success(request, f"已开通 {result.accounts} 个经办人账号，登记经办人 "
                                      f"{result.agents} 人；初始密码已通过短信发送"
                                      f"（{result.messages} 条），不在页面显示")
            return redirect("web:staff_accounts")
    else:
        errors = ["请选择要上传的 .xlsx 文件"]
    return render(request, "accounts/agents_bulk_errors.html", {"errors": errors[:500],
                                                                "count": len(errors)},
                  status=400)


# The security administrator.

@login_required
def security_accounts(request: AuthedRequest) -> HttpResponse:
    _require(request, Perm.MANAGE_ROLES)
    now = timezone.now()
    rows = [{"user": u, "locked": bool(u.locked_until and u.locked_until > now),
             "may_reset": u.role not in ADMIN_ROLES and u.pk != request.user.pk
             and u.role != "bureau_interface"}
            for u in users_in_scope(request.user).order_by("username")[:500]]
    return render(request, "accounts/security.html", {"rows": rows})


@login_required
@require_POST
def security_unlock(request: AuthedRequest, pk: int) -> HttpResponse:
    _require(request, Perm.MANAGE_ROLES)
    user = users_in_scope(request.user).filter(pk=pk).first()
    if user is None:
        raise Http404("用户不存在")
    account_unlock(actor=request.user, user=user)
    messages.success(request, f"已解锁账号 {user.username}")
    return redirect("web:security_accounts")


@login_required
@require_POST
def security_reset(request: AuthedRequest, pk: int) -> HttpResponse:
    """A single reset: the new first password is shown once to the security administrator,
    to be handed over in person; the holder must change it at the next login."""
    _require(request, Perm.MANAGE_ROLES)
    user = users_in_scope(request.user).filter(pk=pk).first()
    if user is None or user.pk == request.user.pk:
        raise Http404("用户不存在")
    try:
        password = password_reset(actor=request.user, user=user)
    except (DomainError, PrivilegeRefused) as exc:
        messages.error(request, f"未能重置 {user.username} 的密码：{exc.message}")
        return redirect("web:security_accounts")
    response = render(request, "accounts/password_reset_done.html", {
        "account": user, "password": password})
    response["Cache-Control"] = "no-store"
    return response


# A member's own sign-up (no login).

class SignupForm(forms.Form):
    # Not required here: the service names every missing or malformed one at once.
    id_number = forms.CharField(label="身份证号", max_length=30, required=False)
    name = forms.CharField(label="姓名", max_length=60, required=False)
    phone = forms.CharField(label="手机号", max_length=20, required=False)


class SignupConfirmForm(SignupForm):
    code = forms.CharField(label="短信验证码", max_length=10)
    username = forms.CharField(label="设置用户名", max_length=40)
    password = forms.CharField(label="设置密码", widget=forms.PasswordInput, max_length=128)


def signup(request: Any) -> HttpResponse:
    from .services import client_address
    from .signup import signup_confirm, signup_request

    if request.user.is_authenticated:
        return redirect("web:home")
    step = "confirm" if request.POST.get("step") == "confirm" else "request"
    form: forms.Form = (SignupConfirmForm if step == "confirm" else SignupForm)(
        request.POST or None)
    sent = ""
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        ip = client_address(request)
        try:
            if step == "request":
                sent = signup_request(id_number=d["id_number"], name=d["name"],
                                      phone=d["phone"], ip=ip)
                form = SignupConfirmForm(initial=d)
                step = "confirm"
            else:
                signup_confirm(id_number=d["id_number"], name=d["name"], phone=d["phone"],
                               code=d["code"], username=d["username"],
                               password=d["password"], ip=ip)
                messages.success(request, "注册成功，请用新设置的用户名和密码登录")
                return redirect("web:login")
        except DomainError as exc:
            _errors_to_form(form, exc)
    return render(request, "accounts/signup.html", {"form": form, "step": step, "sent": sent})
