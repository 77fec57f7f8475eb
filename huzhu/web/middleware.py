"""Request id and client address, security headers, and the session's two time limits."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from .request_context import reset_request_meta, set_request_meta

_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestIdMiddleware:
    """Give each request an id (or keep a sane incoming X-Request-ID) for logs and events."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        token = set_request_meta({"request_id": request_id, "ip": client_address(request)})
        try:
            response = self.get_response(request)
        finally:
            reset_request_meta(token)
        response["X-Request-ID"] = request_id
        return response


def client_address(request: HttpRequest) -> str:
    """The client's address: the TCP peer, or, behind HUZHU_TRUSTED_PROXIES reverse proxies that
    each append to X-Forwarded-For, the entry the outermost trusted proxy wrote (entries further
    left are the client's own claims and are not believed)."""
    from django.conf import settings

    peer = request.META.get("REMOTE_ADDR", "")
    proxies = settings.TRUSTED_PROXIES
    if proxies <= 0:
        return peer
    forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
                 if a.strip()]
    if len(forwarded) < proxies:
        return peer
    return forwarded[-proxies][:64]


class SecurityHeadersMiddleware:
    """Content-Security-Policy and no-store on every page: pages carry personal data."""

    CSP = (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'self'"
    )

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", self.CSP)
        if not request.path.startswith("/static/"):
            response["Cache-Control"] = "no-store"
        return response


LOGIN_AT = "login_at"  # when the session's user logged in (epoch seconds)
LAST_SEEN = "last_seen"


def stamp_login_time(sender: object, request: HttpRequest, user: object, **kwargs: object
                     ) -> None:
    """``user_logged_in``: every login, through whatever path, starts the absolute lifetime."""
    import time

    if hasattr(request, "session"):
        now = int(time.time())
        request.session[LOGIN_AT] = now
        request.session[LAST_SEEN] = now


class IdleTimeoutMiddleware:
    """End a session HUZHU_SESSION_SECONDS after its login, however active it has been, and
    after HUZHU_IDLE_SECONDS without a request (MLPS 8.1.4.1b).

    The login time is written once, at login (:func:`stamp_login_time`), and never moved; an
    authenticated session without one (made before this rule) is ended too. Both endings are
    recorded as ``auth.logout`` with the outcome ``expired`` or ``idle``.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        import time

        from django.conf import settings

        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session"):
            now = int(time.time())
            login_at = request.session.get(LOGIN_AT)
            last = request.session.get(LAST_SEEN, now)
            if not isinstance(login_at, int) or now - login_at >= settings.SESSION_COOKIE_AGE:
                self._end(request, "expired")
            elif now - last > settings.IDLE_SECONDS:
                self._end(request, "idle")
            elif now - last >= 60 or LAST_SEEN not in request.session:
                # Refreshed at most once a minute so most requests write no session row.
                request.session[LAST_SEEN] = now
        return self.get_response(request)

    @staticmethod
    def _end(request: HttpRequest, why: str) -> None:
        from django.contrib.auth import logout

        from huzhu.audit.models import Action
        from huzhu.audit.services import event_record

        user = request.user
        event_record(action=Action.LOGOUT, actor=user if user.is_authenticated else None,
                     object_type="accounts.user", object_id=str(user.pk), outcome=why)
        logout(request)


PASSWORD_EXPIRED = "password_expired"  # set at login when the password is past its age


class SecondStepMiddleware:
    """Until the second factor is shown, a logged-in session reaches nothing but the code and
    enrolment pages and logout (TRUST S-05); until an expired password is changed, nothing but
    the password page and logout (S-08). Pages are sent to the step due; the API answers 401
    with the error body. Runs after django-otp's ``OTPMiddleware``, which tells whether the
    session's device is still the user's and confirmed (a reset undoes it at once).
    """

    OPEN_PREFIXES = ("/static/", "/healthz")

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from django.urls import reverse

        from huzhu.accounts.second_factor import SECOND_STEP, required_by_role

        user = getattr(request, "user", None)
        if (user is None or not user.is_authenticated or not hasattr(request, "session")
                or request.path.startswith(self.OPEN_PREFIXES)):
            return self.get_response(request)
        open_paths = {reverse("web:logout"), "/admin/logout/"}
        if ((required_by_role(user) or request.session.get(SECOND_STEP))
                and not user.is_verified()):
            step = (reverse("web:second_step"), reverse("web:enrol"))
            if request.path in open_paths or request.path in step:
                return self.get_response(request)
            return self._refuse(request, step[0], "second_factor_required",
                                "请先完成双因素认证（输入身份验证器中的动态验证码）")
        if request.session.get(PASSWORD_EXPIRED):
            page = reverse("web:password_change")
            if request.path in open_paths or request.path == page:
                return self.get_response(request)
            return self._refuse(request, page, "password_expired", "密码已过期，请先修改密码")
        return self.get_response(request)

    @staticmethod
    def _refuse(request: HttpRequest, page: str, code: str, message: str) -> HttpResponse:
        import json

        from django.http import HttpResponseRedirect
        from django.utils.http import urlencode

        if request.path.startswith("/api/"):
            return HttpResponse(json.dumps({"error": message, "code": code, "fields": {},
                                            "warnings": {}}, ensure_ascii=False),
                                status=401, content_type="application/json; charset=utf-8")
        target = page
        if request.method == "GET" and not request.headers.get("HX-Request"):
            target += "?" + urlencode({"next": request.get_full_path()})
        response = HttpResponseRedirect(target)
        if request.headers.get("HX-Request"):
            response["HX-Redirect"] = page
        return response


class ActingUserMiddleware:
    """Name the request's user as the one acting, for changes recorded by model signals
    (huzhu/accounts/trail.py). Read when a change is recorded, not now: an API token's user is
    only known once the API has authenticated it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from .request_context import reset_acting, set_acting

        token = set_acting(lambda: getattr(request, "user", None))
        try:
            return self.get_response(request)
        finally:
            reset_acting(token)
