"""A member signs up himself (issue 14 part 7, docs/adr/0021).

He gives his ID number, name and mobile phone; when all three match his member record (found
by the ID number's blind index, the phone compared by its blind index) and he has no account
yet, a six-digit code goes by SMS to that phone. With the code he chooses a username and a
password. Nothing in an answer tells whether the ID number is known: the request always answers
the same sentence, and a wrong name, an unknown ID number, a wrong phone and a wrong or used or
expired code all answer ``WRONG_CODE``.

Limits: a code lives ``CODE_MINUTES`` minutes, serves once, and dies after ``MAX_ATTEMPTS``
wrong tries; ``PER_ID_PER_HOUR`` requests per ID number (known or not) and ``PER_IP_PER_HOUR``
per client address an hour; ``FAILS_PER_IP_PER_HOUR`` wrong confirmations per address an hour.
"""

from __future__ import annotations

import datetime
import secrets

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from huzhu.audit.models import Action, Event
from huzhu.audit.services import event_record
from huzhu.errors import DomainError
from huzhu.members.models import Member
from huzhu.pii.crypto import blind_index, blind_indexes, index_matches
from huzhu.pii.identifiers import IdentifierError, check_phone, check_resident_id
from huzhu.web.request_context import acting_as

from .models import SignupCode, User
from .roles import Role

CODE_MINUTES = 10
MAX_ATTEMPTS = 5
PER_ID_PER_HOUR = 3
PER_IP_PER_HOUR = 10
FAILS_PER_IP_PER_HOUR = 20

SENT = "如果您填写的身份证号、姓名和手机号与会员登记信息一致，验证码已发送到该手机，" \
       f"{CODE_MINUTES} 分钟内有效。"
WRONG_CODE = "验证码错误或已失效，或填写的信息与会员登记信息不一致"
TOO_MANY = "请求过于频繁，请一小时后再试"
LABEL = "会员自助注册"


def _ids(id_number: str, phone: str) -> tuple[list[str], list[str]]:
    """Blind indexes of the normalised ID number and phone under every configured index key,
    the current first (``[""]`` where not well formed)."""
    try:
        rid = check_resident_id(id_number).number
    except IdentifierError:
        rid = ""
    try:
        number = check_phone(phone)
    except IdentifierError:
        number = ""
    return (blind_indexes(rid, field="id_number") if rid else [""],
            blind_indexes(number, field="phone") if number else [""])


def _code_digest(row_salt: str, code: str) -> str:
    return blind_index(f"{row_salt}:{code}", field="signup_code")


def _form_errors(id_number: str, name: str, phone: str) -> dict[str, list[str]]:
    """Only the shape of what was typed: nothing here looks at the member records."""
    errors: dict[str, list[str]] = {}
    try:
        check_resident_id(id_number)
    except IdentifierError as exc:
        errors["id_number"] = [exc.message]
    if not (name or "").strip():
        errors["name"] = ["请填写姓名"]
    try:
        check_phone(phone)
    except IdentifierError as exc:
        errors["phone"] = [exc.message]
    return errors


def _match(id_bidx: list[str], name: str, phone_bidx: list[str]) -> Member | None:
    member = Member.objects.filter(id_number_bidx__in=id_bidx).first()
    if (member is None or member.name != name.strip() or not member.phone_bidx
            or member.phone_bidx not in phone_bidx or User.objects.filter(member=member).exists()):
        return None
    return member


@transaction.atomic
def signup_request(*, id_number: str, name: str, phone: str, ip: str = "",
                   now: datetime.datetime | None = None) -> str:
    """Send a code when the three match; answer ``SENT`` either way."""
    from huzhu.notices.services import notice_enqueue

    errors = _form_errors(id_number, name, phone)
    if errors:
        raise DomainError("请检查填写的信息", field_errors=errors)
    now = now or timezone.now()
    hour = now - datetime.timedelta(hours=1)
    id_bidx, phone_bidx = _ids(id_number, phone)
    if (SignupCode.objects.filter(id_bidx__in=id_bidx, created_at__gt=hour).count() >= PER_ID_PER_HOUR
            or (ip and SignupCode.objects.filter(ip=ip, created_at__gt=hour).count()
                >= PER_IP_PER_HOUR)):
        event_record(action=Action.SIGNUP_CODE_SENT, actor_label=LABEL,
                     object_type="accounts.signupcode", outcome="rate_limited")
        raise DomainError(TOO_MANY, code="rate_limited")
    member = _match(id_bidx, name, phone_bidx)
    salt = secrets.token_hex(8)
    code = f"{secrets.randbelow(1_000_000):06d}"
    row = SignupCode.objects.create(
        id_bidx=id_bidx[0], phone_bidx=phone_bidx[0], member=member, ip=ip[:64], created_at=now,
        expires_at=now + datetime.timedelta(minutes=CODE_MINUTES),
        code_digest=f"{salt}${_code_digest(salt, code)}" if member else "")
    if member is not None:
        notice_enqueue(key=f"signup:{row.pk}", template="SIGNUP_CODE", phone=check_phone(phone),
                       params={"code": code, "minutes": str(CODE_MINUTES)},
                       member_id=member.pk, org_path=member.org_path)
    event_record(action=Action.SIGNUP_CODE_SENT, actor_label=LABEL,
                 object_type="accounts.signupcode", object_id=str(row.pk),
                 org_path=member.org_path if member else "",
                 outcome="sent" if member else "no_match")
    return SENT


def _fail(ip: str, row: SignupCode | None, why: str) -> DomainError:
    if row is not None:
        SignupCode.objects.filter(pk=row.pk).update(attempts=row.attempts + 1)
    event_record(action=Action.SIGNUP_FAILED, actor_label=LABEL,
                 object_type="accounts.signupcode", object_id=str(row.pk) if row else "",
                 outcome=why)
    return DomainError(WRONG_CODE, field_errors={"code": [WRONG_CODE]}, code="wrong_code")


def signup_confirm(*, id_number: str, name: str, phone: str, code: str, username: str,
                   password: str, ip: str = "", now: datetime.datetime | None = None) -> User:
    """Create the member's account when the code is right for these three; else ``WRONG_CODE``.
    The failure is recorded (and counted) even though nothing else is written."""
    from .staff import _username_check

    now = now or timezone.now()
    errors = _form_errors(id_number, name, phone)
    try:
        _username_check(username)
    except DomainError as exc:
        errors.update(exc.field_errors)
    if not errors:
        try:
            password_validation.validate_password(password, User(username=username))
        except ValidationError as exc:
            errors["password"] = list(exc.messages)
    if errors:
        raise DomainError("请检查填写的信息", field_errors=errors)
    hour = now - datetime.timedelta(hours=1)
    if ip and Event.objects.filter(action=Action.SIGNUP_FAILED, ip=ip,
                                   created_at__gt=hour).count() >= FAILS_PER_IP_PER_HOUR:
        raise DomainError(TOO_MANY, code="rate_limited")
    id_bidx, phone_bidx = _ids(id_number, phone)
    with transaction.atomic():
        row = (SignupCode.objects.select_for_update()
               .filter(id_bidx__in=id_bidx, used_at__isnull=True, expires_at__gt=now)
               .order_by("-created_at", "-id").first())
        if row is None or not row.code_digest or row.member_id is None:
            failure = _fail(ip, row, "no_code")
        elif row.attempts >= MAX_ATTEMPTS:
            failure = _fail(ip, row, "too_many_attempts")
        else:
            salt, _, digest = row.code_digest.partition("$")
            member = _match(id_bidx, name, phone_bidx)
            right = index_matches(f"{salt}:{(code or '').strip()}", digest, field="signup_code")
            if not right or member is None or member.pk != row.member_id \
                    or row.phone_bidx not in phone_bidx:
                failure = _fail(ip, row, "wrong_code" if not right else "mismatch")
            else:
                SignupCode.objects.filter(pk=row.pk).update(used_at=now)
                user = User(username=username.strip(), role=Role.MEMBER, member=member,
                            display_name=member.name)
                user.set_password(password)
                with acting_as(None, LABEL):
                    user.save()  # recorded by trail.py
                return user
    raise failure
