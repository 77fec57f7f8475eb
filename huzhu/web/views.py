"""Login, the home page, health, and the audit pages."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from huzhu.accounts.roles import Perm
from huzhu.accounts.services import LoginFailed, login_check, password_expired
from huzhu.actors import AuthedRequest
from huzhu.audit.models import Action
from huzhu.audit.services import event_record
from huzhu.members.access import members_visible_to
from huzhu.organisations.access import organisations_visible_to, units_visible_to

from .forms import LoginForm
from .middleware import PASSWORD_EXPIRED


def healthz(request: HttpRequest) -> HttpResponse:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:  # noqa: BLE001 - any database failure means unhealthy
        return JsonResponse({"status": "error", "database": "unreachable"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})


def login_view(request: HttpRequest) -> HttpResponse:
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = login_check(request=request, username=form.cleaned_data["username"],
                               password=form.cleaned_data["password"])
        except LoginFailed as exc:
            form.add_error(None, exc.message)
        else:
            login(request, user)
            if password_expired(user) or user.first_password:
                request.session[PASSWORD_EXPIRED] = True
            target = request.GET.get("next", "")
            return redirect(target if target.startswith("/") and not target.startswith("//")
                            else "web:home")
    return render(request, "web/login.html", {"form": form})


def admin_login(request: HttpRequest) -> HttpResponse:
    """The Django admin has no login of its own: its login address sends the browser to the
    platform's login (lock-outs, audit) and back; only users the admin admits get in."""
    target = request.GET.get("next", "")
    if not (target.startswith("/") and not target.startswith("//")):
        target = reverse("admin:index")
    if request.user.is_authenticated:
        if admin.site.has_permission(request):
            return redirect(target)
        raise PermissionDenied("您的角色无权进入系统配置")
    return redirect_to_login(target, login_url=reverse("web:login"))


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        event_record(action=Action.LOGOUT, actor=request.user, object_type="accounts.user",
                     object_id=str(request.user.pk))
    logout(request)
    messages.info(request, "您已安全退出。")
    return redirect("web:login")


@login_required
def home(request: AuthedRequest) -> HttpResponse:
    user = request.user
    if user.role == "member":
        return redirect("portal:home")  # a member's first page is 我的保障
    stats = []
    if user.can(Perm.VIEW_ORGS):
        stats.append(("工会组织", organisations_visible_to(user).count()))
    if user.can(Perm.VIEW_UNITS):
        stats.append(("参保单位", units_visible_to(user).count()))
    if user.can(Perm.VIEW_MEMBERS):
        stats.append(("会员", members_visible_to(user).count()))
    from .todo import todos_for

    return render(request, "web/home.html", {"stats": stats, "calendar": _calendar_notice(user),
                                             "todos": todos_for(user)})


def _calendar_notice(user: Any) -> dict[str, Any] | None:
    """From 1 November (or whenever this year's is missing) the staff who review claims or keep
    the calendar are told that a year's holiday schedule is not entered, and how many claims'
    deadlines are counted Monday to Friday meanwhile."""
    from huzhu.claims.access import claims_visible_to
    from huzhu.claims.calendar import claims_with_unknown_deadline, notice_year

    if not (user.can(Perm.MANAGE_CALENDAR) or user.can(Perm.REVIEW_CLAIMS)):
        return None
    year = notice_year()
    if year is None:
        return None
    affected = (claims_with_unknown_deadline(claims_visible_to(user)).count()
                if user.can(Perm.REVIEW_CLAIMS) else None)
    org = getattr(user, "organisation", None)
    may_enter = user.can(Perm.MANAGE_CALENDAR) and org is not None and org.parent_id is None
    return {"year": year, "affected": affected, "may_enter": may_enter}

