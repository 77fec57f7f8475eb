"""The second step after the password, enrolment, 账户安全, changing one's own password, and
the security administrator's reset of a user's second factor (TRUST S-05, S-07, S-08)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import logout, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_otp.plugins.otp_totp.models import TOTPDevice

from huzhu.accounts import second_factor as sf
from huzhu.accounts.models import User
from huzhu.accounts.roles import MACHINE_ROLES, Perm
from huzhu.accounts.services import password_change
from huzhu.actors import AuthedRequest
from huzhu.audit.access import users_in_subtree
from huzhu.audit.models import Action
from huzhu.audit.services import event_record
from huzhu.errors import DomainError
from huzhu.organisations.access import staff_path

from .middleware import PASSWORD_EXPIRED

LOCKED_OUT = "验证码连续错误次数过多，账号已暂时锁定，请稍后重新登录。"
WRONG_CODE = "验证码不正确或已经使用过，请输入身份验证器中最新的 6 位验证码，或一个未用过的恢复码。"


class CodeForm(forms.Form):
    code = forms.CharField(label="验证码", max_length=20,
                           error_messages={"required": "请输入验证码"})


class PasswordChangeForm(forms.Form):
    old_password = forms.CharField(label="原密码", widget=forms.PasswordInput,
                                   error_messages={"required": "请输入原密码"})
    new_password1 = forms.CharField(label="新密码", widget=forms.PasswordInput,
                                    error_messages={"required": "请输入新密码"})
    new_password2 = forms.CharField(label="再次输入新密码", widget=forms.PasswordInput,
                                    error_messages={"required": "请再次输入新密码"})

    def clean(self) -> dict[str, str]:
        data = super().clean() or {}
        if data.get("new_password1") and data.get("new_password1") != data.get("new_password2"):
            self.add_error("new_password2", "两次输入的新密码不一致")
        return data


def _next(request: HttpRequest) -> str:
    target = request.GET.get("next", "")
    return target if target.startswith("/") and not target.startswith("//") else "/"


def _locked_out(request: HttpRequest) -> HttpResponse:
    logout(request)
    messages.error(request, LOCKED_OUT)
    return redirect("web:login")


@login_required
def second_step(request: AuthedRequest) -> HttpResponse:
    """The code page: a TOTP code from the app, or one of the recovery codes."""
    user = request.user
    if user.is_verified():  # type: ignore[attr-defined]
        return redirect(_next(request))
    if sf.is_locked(user):
        return _locked_out(request)
    if sf.confirmed_totp(user) is None:
        if sf.required_by_role(user):
            query = request.GET.urlencode()
            return redirect(reverse("web:enrol") + (f"?{query}" if query else ""))
        request.session[sf.SECOND_STEP] = False  # reset meanwhile: nothing left to show
        return redirect(_next(request))
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if sf.code_verify(request=request, user=user, code=form.cleaned_data["code"]):
            return redirect(_next(request))
        if sf.is_locked(user):
            return _locked_out(request)
        form.add_error(None, WRONG_CODE)
    return render(request, "web/second_step.html", {"form": form})


@login_required
def enrol(request: AuthedRequest) -> HttpResponse:
    """Bind an authenticator app: scan the QR code (or type the key), confirm with a code, then
    see the ten recovery codes, once."""
    user = request.user
    if sf.confirmed_totp(user) is not None:
        verified = user.is_verified()  # type: ignore[attr-defined]
        return redirect("web:account_security" if verified else "web:second_step")
    if sf.is_locked(user):
        return _locked_out(request)
    device = sf.pending_device(user)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        codes = sf.enrol_confirm(request=request, user=user, code=form.cleaned_data["code"])
        if codes is not None:
            request.session[sf.SECOND_STEP] = True
            return render(request, "web/recovery_codes.html",
                          {"codes": codes, "next": _next(request), "enrolled": True})
        if sf.is_locked(user):
            return _locked_out(request)
        form.add_error(None, "验证码不正确，请确认手机时间准确后输入身份验证器中最新的 6 位验证码。")
    return render(request, "web/enrol.html", {
        "form": form, "qr_svg": sf.qr_svg(device), "secret": sf.secret_text(device),
        "required": sf.required_by_role(user)})


@login_required
def account_security(request: AuthedRequest) -> HttpResponse:
    user = request.user
    device = sf.confirmed_totp(user)
    return render(request, "web/account_security.html", {
        "device": device, "codes_left": sf.recovery_codes_left(user) if device else 0,
        "required": sf.required_by_role(user), "password_changed_at": user.password_changed_at,
    })


@require_POST
@login_required
def recovery_codes_renew(request: AuthedRequest) -> HttpResponse:
    user = request.user
    if sf.confirmed_totp(user) is None or not user.is_verified():  # type: ignore[attr-defined]
        raise PermissionDenied("请先启用双因素认证")
    codes = sf.recovery_codes_new(user)
    event_record(action=Action.OTP_ENROLLED, actor=user, object_type="accounts.user",
                 object_id=str(user.pk), after={"recovery_codes": len(codes), "renewed": True})
    return render(request, "web/recovery_codes.html", {"codes": codes, "next": reverse("web:account_security")})


@login_required
def password_change_view(request: AuthedRequest) -> HttpResponse:
    user = request.user
    form = PasswordChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            password_change(user=user, old=form.cleaned_data["old_password"],
                            new=form.cleaned_data["new_password1"])
        except DomainError as exc:
            for name, errors in exc.field_errors.items():
                for message in errors:
                    form.add_error(name, message)
            if sf.is_locked(user):
                return _locked_out(request)
        else:
            update_session_auth_hash(request, user)
            request.session.pop(PASSWORD_EXPIRED, None)
            messages.success(request, "密码已修改。")
            return redirect("web:home")
    return render(request, "web/password_change.html", {
        "form": form, "expired": bool(request.session.get(PASSWORD_EXPIRED))})


def _users_for_reset(actor: User) -> QuerySet[User]:
    if not actor.can(Perm.RESET_SECOND_FACTOR):
        raise PermissionDenied("您的角色无权管理双因素认证")
    prefix = staff_path(actor)
    if prefix is None:
        raise PermissionDenied("您的角色无权管理双因素认证")
    return users_in_subtree(prefix).exclude(role__in=MACHINE_ROLES)


@login_required
def second_factor_admin(request: AuthedRequest) -> HttpResponse:
    users = _users_for_reset(request.user)
    q = request.GET.get("q", "").strip()
    if q:
        users = users.filter(Q(username__icontains=q) | Q(display_name__icontains=q))
    users = (users.annotate(enrolled=Exists(TOTPDevice.objects.filter(
        user=OuterRef("pk"), confirmed=True))).order_by("username")[:50])
    return render(request, "web/second_factor_admin.html", {"users": users, "q": q})


@require_POST
@login_required
def second_factor_reset_view(request: AuthedRequest, pk: int) -> HttpResponse:
    target = _users_for_reset(request.user).filter(pk=pk).first()
    if target is None:
        raise Http404("用户不存在")
    try:
        sf.second_factor_reset(actor=request.user, user=target)
    except DomainError as exc:
        raise PermissionDenied(exc.message) from exc
    messages.success(request, f"已重置 {target} 的双因素认证，其下次登录时须重新绑定身份验证器。")
    return redirect("web:second_factor_admin")
