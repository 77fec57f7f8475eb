"""A member changes the bank card their benefit is paid to, confirmed by a code sent by SMS
to the phone on record.

The code is six random digits, kept only as a salted HMAC; it is good once, for
:data:`CODE_TTL`, and for :data:`MAX_ATTEMPTS` wrong tries. A member gets at most one code a
:data:`RESEND_AFTER` and :data:`DAILY_LIMIT` a day. The card is checked as everywhere else
(:func:`huzhu.pii.identifiers.check_bank_card`); a number that fails the Luhn check is refused
here outright, since nobody is there to confirm it with the card holder. Sending the code, a
wrong code and the change itself are events; the change re-queues payouts the bank failed
for the old card, in the same transaction (as a staff member's correction does)."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import secrets

from django.conf import settings
from django.utils import timezone

from huzhu.actors import Actor
from huzhu.audit.models import Action
from huzhu.audit.services import atomic_events, event_record
from huzhu.errors import DomainError
from huzhu.members.models import Member
from huzhu.members.services import member_snapshot
from huzhu.notices.services import notice_enqueue
from huzhu.pii.identifiers import IdentifierError, check_bank_card
from huzhu.pii.masking import mask_bank_card

from .models import CardChange

CODE_TTL = datetime.timedelta(minutes=10)
RESEND_AFTER = datetime.timedelta(seconds=60)
DAILY_LIMIT = 5
MAX_ATTEMPTS = 5


def _digest(salt: str, code: str) -> str:
    key = hashlib.sha256(("huzhu.portal.card:" + settings.SECRET_KEY).encode()).digest()
    return salt + "$" + hmac.new(key, f"{salt}:{code}".encode(), hashlib.sha256).hexdigest()[:48]


def _matches(stored: str, code: str) -> bool:
    salt = stored.split("$", 1)[0]
    return hmac.compare_digest(stored, _digest(salt, code))


def card_change_start(*, actor: Actor, member: Member, bank_card: str, bank_cnaps: str = "",
                      bank_required: bool = False) -> tuple[CardChange, str]:
    """Check the new card and send a code to the member's phone. Returns the pending change
    and the code (for the SMS only: the caller must not show or log it). The new card's
    开户行 is an entry of the bank list chosen by its 联行号 (blank keeps the one on record,
    unless ``bank_required``: the page asks for it); anything else is refused on
    ``bank_cnaps``."""
    from huzhu.payouts import banklist

    if not member.phone:
        raise DomainError("您没有登记手机号，无法发送验证码：请联系单位经办人更改银行卡")
    try:
        checked = check_bank_card(bank_card)
    except IdentifierError as exc:
        raise DomainError(f"银行卡号：{exc}", field_errors={"bank_card": [str(exc)]}) from exc
    if checked.warnings:
        msg = "银行卡号未通过校验，请对照银行卡逐位核对"
        raise DomainError(msg, field_errors={"bank_card": [msg]})
    if checked.value == (member.bank_card or ""):
        msg = "这张卡就是您现在登记的银行卡"
        raise DomainError(msg, field_errors={"bank_card": [msg]})
    if bank_required and not (bank_cnaps or "").strip():
        msg = "请选择新卡的开户行"
        raise DomainError(msg, field_errors={"bank_cnaps": [msg]})
    bank = banklist.pick(bank_cnaps) if (bank_cnaps or "").strip() else None
    now = timezone.now()
    with atomic_events():
        Member.objects.select_for_update().filter(pk=member.pk).first()  # one request at a time
        recent = list(CardChange.objects.filter(
            member=member, created_at__gte=now - datetime.timedelta(days=1))
            .values_list("created_at", flat=True))
        if len(recent) >= DAILY_LIMIT:
            raise DomainError(f"今天已发送 {DAILY_LIMIT} 次验证码，请明天再试")
        last = max(recent, default=None)
        if last is not None and now - last < RESEND_AFTER:
            wait = int((RESEND_AFTER - (now - last)).total_seconds()) + 1
            raise DomainError(f"验证码刚刚发送过，请 {wait} 秒后再试")
        code = f"{secrets.randbelow(10 ** 6):06d}"
        change = CardChange.objects.create(
            member=member, bank_card=checked.value,
            bank_name=bank.name if bank is not None else "",
            bank_cnaps=bank.cnaps if bank is not None else "",
            code_hash=_digest(secrets.token_hex(8), code), expires_at=now + CODE_TTL)
        notice_enqueue(key=f"card-code:{change.pk}", template="VERIFY_CODE", phone=member.phone,
                       params={"code": code, "minutes": str(int(CODE_TTL.total_seconds() // 60))},
                       member_id=member.pk, org_path=member.org_path)
        event_record(action=Action.CARD_CODE_SENT, actor=actor, obj=member,
                     after={"bank_card": mask_bank_card(checked.value)})
    return change, code


def card_change_confirm(*, actor: Actor, member: Member, change_id: int, code: str) -> Member:
    """Apply the pending card if ``code`` is its code; a wrong code counts an attempt."""
    code = (code or "").strip()
    now = timezone.now()
    error = ""
    with atomic_events():
        change = (CardChange.objects.select_for_update()
                  .filter(pk=change_id, member=member).first())
        if change is None:
            raise DomainError("没有待确认的银行卡变更，请重新获取验证码")
        if change.used_at is not None:
            raise DomainError("这个验证码已经用过，请重新获取验证码")
        if now > change.expires_at:
            raise DomainError("验证码已过期，请重新获取验证码")
        if change.attempts >= MAX_ATTEMPTS:
            raise DomainError("验证码错误次数过多，请重新获取验证码")
        if not (len(code) == 6 and code.isdigit() and _matches(change.code_hash, code)):
            change.attempts += 1
            change.save(update_fields=["attempts"])
            event_record(action=Action.CARD_CODE_FAILED, actor=actor, obj=member,
                         outcome="denied", after={"attempts": change.attempts})
            left = MAX_ATTEMPTS - change.attempts
            error = (f"验证码不正确，还可以再试 {left} 次" if left
                     else "验证码错误次数过多，请重新获取验证码")
        else:
            change.used_at = now
            change.save(update_fields=["used_at"])
            member = Member.objects.select_for_update().get(pk=member.pk)
            before = member_snapshot(member)
            member.bank_card = change.bank_card
            if change.bank_name:
                member.bank_name, member.bank_cnaps = change.bank_name, change.bank_cnaps
            member.bank_card_warning_confirmed = False
            member.save(update_fields=["bank_card", "bank_name", "bank_cnaps",
                                       "bank_card_warning_confirmed", "updated_at"])
            after = member_snapshot(member)
            changed = [k for k in after if after[k] != before[k]]
            event_record(action=Action.MEMBER_UPDATED, actor=actor, obj=member,
                         before={k: before[k] for k in changed},
                         after={**{k: after[k] for k in changed}, "confirmed_by": "短信验证码"})
            from huzhu.payouts.services import payouts_requeue_corrected

            payouts_requeue_corrected(member_ids=[member.pk], actor=actor)
    if error:
        raise DomainError(error, field_errors={"code": [error]})
    return member


def card_code_pending(member: Member) -> CardChange | None:
    """The member's latest change still waiting for its code, if any."""
    c = CardChange.objects.filter(member=member, used_at__isnull=True).order_by("-id").first()
    if c is None or timezone.now() > c.expires_at or c.attempts >= MAX_ATTEMPTS:
        return None
    return c


__all__ = ["card_change_confirm", "card_change_start", "card_code_pending"]
