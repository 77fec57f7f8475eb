"""The second factor after the password (TRUST S-05, docs/adr/0010).

Staff (every role but member and agent, :data:`~huzhu.accounts.roles.STAFF_ROLES`) must show a
TOTP code from an authenticator app after their password; members and agents may enrol one from
their 账户安全 page, and then must show it too. Until the code is shown the session reaches
only the code and enrolment pages and logout (``huzhu.web.middleware.SecondStepMiddleware``).

The devices are django-otp's: a :class:`TOTPDevice` (its ``last_t`` refuses a code that was
already used) and our :class:`~huzhu.accounts.models.RecoveryDevice` of ten hashed single-use
recovery codes. A wrong code counts toward the same lock-out as a wrong password.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any

from django.db import transaction
from django.utils import timezone
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from huzhu.audit.models import Action
from huzhu.audit.services import event_record
from huzhu.errors import NotAllowed

from .models import RecoveryCode, RecoveryDevice, User
from .roles import STAFF_ROLES, Perm

RECOVERY_CODES = 10
# 31 characters that cannot be mistaken for each other (no 0/o, 1/l/i); 12 of them ≈ 59 bits.
_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
_CODE_LENGTH = 12
# The session key the login sets when the user has a second factor to show (members and agents
# who enrolled one; staff are recognised by their role on every request).
SECOND_STEP = "second_step"


def required_by_role(user: Any) -> bool:
    return getattr(user, "role", "") in STAFF_ROLES


def confirmed_totp(user: Any) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def must_verify(user: Any) -> bool:
    """Whether the user must show a code after the password: staff always, anyone else once
    they have enrolled a device."""
    return required_by_role(user) or confirmed_totp(user) is not None


def mark_login(sender: object, request: Any, user: Any, **kwargs: object) -> None:
    """``user_logged_in``: remember, for users who are not staff, whether a code is due."""
    if hasattr(request, "session") and not required_by_role(user):
        request.session[SECOND_STEP] = confirmed_totp(user) is not None


def recovery_digest(code: str) -> str:
    normal = "".join(c for c in code.lower() if c.isalnum())
    return hashlib.sha256(normal.encode()).hexdigest()


def _new_code() -> str:
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(_CODE_LENGTH))
    return "-".join(raw[i:i + 4] for i in range(0, _CODE_LENGTH, 4))


def pending_device(user: User) -> TOTPDevice:
    """The device being enrolled (not yet confirmed), made on first need; its key stays the
    same while the enrolment page is reloaded."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="身份验证器", confirmed=False)
    return device


def secret_text(device: TOTPDevice) -> str:
    """The key as people type it into an authenticator app: base32 in groups of four."""
    text = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(text[i:i + 4] for i in range(0, len(text), 4))


def qr_svg(device: TOTPDevice) -> str:
    """The ``otpauth://`` address as an inline SVG QR code (made here, no outside service)."""
    import segno

    return str(segno.make(device.config_url, error="m", micro=False).svg_inline(
        scale=4, title="用身份验证器扫描此二维码"))


def _clean(code: str) -> str:
    return "".join(c for c in code if not c.isspace())


def recovery_codes_new(user: User) -> list[str]:
    """Replace the user's recovery codes with ten new ones; returned once, stored hashed."""
    RecoveryDevice.objects.filter(user=user).delete()
    device = RecoveryDevice.objects.create(user=user, name="恢复码", confirmed=True)
    codes = [_new_code() for _ in range(RECOVERY_CODES)]
    RecoveryCode.objects.bulk_create(
        [RecoveryCode(device=device, digest=recovery_digest(c)) for c in codes])
    return codes


def recovery_codes_left(user: User) -> int:
    return RecoveryCode.objects.filter(device__user=user).count()


@transaction.atomic
def enrol_confirm(*, request: Any, user: User, code: str) -> list[str] | None:
    """Confirm the pending device with a code from the app. Returns the ten recovery codes, or
    None (and counts a failure) when the code is wrong."""
    device = pending_device(user)
    device = TOTPDevice.objects.select_for_update().get(pk=device.pk)
    if not device.verify_token(_clean(code)):
        code_failed(request=request, user=user, outcome="enrol_failed")
        return None
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    codes = recovery_codes_new(user)
    otp_login(request, device)
    _passed(user)
    event_record(action=Action.OTP_ENROLLED, actor=user, object_type="accounts.user",
                 object_id=str(user.pk), after={"recovery_codes": RECOVERY_CODES})
    return codes


@transaction.atomic
def code_verify(*, request: Any, user: User, code: str) -> bool:
    """Check a TOTP code (six digits) or a recovery code; a code is good once only."""
    code = _clean(code)
    if code.isdigit():
        device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True).first()
        if device is not None and device.verify_token(code):
            otp_login(request, device)
            _passed(user)
            event_record(action=Action.OTP_VERIFIED, actor=user, object_type="accounts.user",
                         object_id=str(user.pk))
            return True
    else:
        recovery = RecoveryDevice.objects.select_for_update().filter(user=user).first()
        if recovery is not None and recovery.verify_token(code):
            otp_login(request, recovery)
            _passed(user)
            event_record(action=Action.OTP_RECOVERY_USED, actor=user,
                         object_type="accounts.user", object_id=str(user.pk),
                         after={"codes_left": recovery_codes_left(user)})
            return True
    code_failed(request=request, user=user, outcome="failed")
    return False


def _passed(user: User) -> None:
    """Both factors shown: only now is the failure count cleared."""
    User.objects.filter(pk=user.pk).update(failed_logins=0, locked_until=None)


def code_failed(*, request: Any, user: User, outcome: str) -> bool:
    """Record a wrong code as a failed login; True when it locked the account."""
    from .services import record_failure

    return record_failure(user.username, user, timezone.now(), action=Action.OTP_FAILED,
                          outcome=outcome)


def is_locked(user: User) -> bool:
    user.refresh_from_db(fields=["locked_until"])
    return bool(user.locked_until and user.locked_until > timezone.now())


@transaction.atomic
def second_factor_reset(*, actor: User, user: User) -> None:
    """The security administrator clears a user's devices: the user enrols anew at the next
    login (staff) or may (members, agents). Nobody resets their own."""
    if not actor.can(Perm.RESET_SECOND_FACTOR):
        raise NotAllowed("您的角色无权重置双因素认证")
    if actor.pk == user.pk:
        raise NotAllowed("不能重置本人的双因素认证，请由另一位安全管理员办理")
    had = TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    TOTPDevice.objects.filter(user=user).delete()
    RecoveryDevice.objects.filter(user=user).delete()
    event_record(action=Action.OTP_RESET, actor=actor, object_type="accounts.user",
                 object_id=str(user.pk), before={"enrolled": had},
                 after={"username": user.username, "enrolled": False})
