"""A member changes their bank card with a code sent by SMS: single use, short-lived, a few
tries, rate-limited, audited; the card encrypted and Luhn-checked; bad input changes nothing."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from huzhu.audit.models import Action, Event
from huzhu.errors import DomainError
from huzhu.members.models import Member
from huzhu.notices.models import OutboxMessage
from huzhu.portal.card import (
    DAILY_LIMIT,
    MAX_ATTEMPTS,
    card_change_confirm,
    card_change_start,
)
from huzhu.portal.models import CardChange

pytestmark = pytest.mark.django_db

NEW_CARD = "6222020200112233446"  # passes Luhn
NOT_LUHN = "6222020200112233447"


def raw_card_column(member_id: int) -> bytes:
    with connection.cursor() as cur:
        cur.execute("SELECT bank_card FROM members_member WHERE id = %s", [member_id])
        return bytes(cur.fetchone()[0])


def test_the_card_changes_with_the_code_sent_by_sms_once(portal_world, client):
    w = portal_world
    client.force_login(w.zhangsan_user)
    r = client.post(reverse("portal:card"), {"step": "send", "bank_card": NEW_CARD,
                                             "bank_cnaps": "102100099996"})
    assert r.status_code == 302
    sms = OutboxMessage.objects.get(key__startswith="card-code:")
    assert sms.template == "VERIFY_CODE" and sms.phone == "13812341234"
    assert "sealed:" in sms.params["code"]  # a secret: kept encrypted in the outbox
    from huzhu.notices.services import open_params

    code = open_params(sms.params)["code"]
    assert len(code) == 6 and code not in CardChange.objects.get().code_hash
    page = client.get(reverse("portal:card")).content.decode()
    assert 'id="confirm-card"' in page and "3446" in page and NEW_CARD not in page
    wrong = "000000" if code != "000000" else "111111"
    page = client.post(reverse("portal:card"), {"step": "confirm", "code": wrong}).content.decode()
    assert "验证码不正确，还可以再试 4 次" in page
    assert Member.objects.get(pk=w.zhangsan.pk).bank_card != NEW_CARD
    r = client.post(reverse("portal:card"), {"step": "confirm", "code": code})
    assert r.status_code == 302
    member = Member.objects.get(pk=w.zhangsan.pk)
    assert member.bank_card == NEW_CARD and member.bank_name == "中国工商银行"
    assert member.bank_cnaps == "102100099996"
    assert NEW_CARD.encode() not in raw_card_column(member.pk)
    event = Event.objects.filter(action=Action.MEMBER_UPDATED, object_id=str(member.pk)).last()
    assert event.after["confirmed_by"] == "短信验证码" and NEW_CARD not in str(event.after)
    assert event.after["bank_card"].endswith("3446")
    assert Event.objects.filter(action=Action.CARD_CODE_SENT).count() == 1
    assert Event.objects.filter(action=Action.CARD_CODE_FAILED).count() == 1
    with pytest.raises(DomainError, match="已经用过"):  # single use
        card_change_confirm(actor=w.zhangsan_user, member=member,
                            change_id=CardChange.objects.get().pk, code=code)
    page = client.get(reverse("portal:messages")).content.decode()
    assert code not in page and "验证码●●●●●●" in page


def test_a_code_expires_and_dies_after_too_many_tries(portal_world):
    w = portal_world
    change, code = card_change_start(actor=None, member=w.zhangsan, bank_card=NEW_CARD)
    CardChange.objects.filter(pk=change.pk).update(
        expires_at=timezone.now() - datetime.timedelta(seconds=1))
    with pytest.raises(DomainError, match="已过期"):
        card_change_confirm(actor=None, member=w.zhangsan, change_id=change.pk, code=code)
    CardChange.objects.filter(pk=change.pk).update(
        expires_at=timezone.now() + datetime.timedelta(minutes=5))
    wrong = "999999" if code != "999999" else "888888"
    for _ in range(MAX_ATTEMPTS):
        with pytest.raises(DomainError, match="验证码"):
            card_change_confirm(actor=None, member=w.zhangsan, change_id=change.pk, code=wrong)
    with pytest.raises(DomainError, match="错误次数过多"):  # even the right code, now
        card_change_confirm(actor=None, member=w.zhangsan, change_id=change.pk, code=code)
    assert Member.objects.get(pk=w.zhangsan.pk).bank_card != NEW_CARD


def test_codes_are_rate_limited(portal_world):
    w = portal_world
    card_change_start(actor=None, member=w.zhangsan, bank_card=NEW_CARD)
    with pytest.raises(DomainError, match="秒后再试"):
        card_change_start(actor=None, member=w.zhangsan, bank_card=NEW_CARD)
    CardChange.objects.update(created_at=timezone.now() - datetime.timedelta(minutes=2))
    for _ in range(DAILY_LIMIT - 1):
        card_change_start(actor=None, member=w.zhangsan, bank_card=NEW_CARD)
        CardChange.objects.update(created_at=timezone.now() - datetime.timedelta(minutes=2))
    with pytest.raises(DomainError, match=f"今天已发送 {DAILY_LIMIT} 次"):
        card_change_start(actor=None, member=w.zhangsan, bank_card=NEW_CARD)
    assert OutboxMessage.objects.filter(template="VERIFY_CODE").count() == DAILY_LIMIT


def test_a_bad_card_is_refused_naming_the_field_and_nothing_is_sent(portal_world, client):
    w = portal_world
    client.force_login(w.zhangsan_user)
    before = Member.objects.get(pk=w.zhangsan.pk).bank_card
    for number, message in ((NOT_LUHN, "未通过校验"), ("12345", "应为 16–19 位"),
                            ("6222abc", "只能由数字组成")):
        page = client.post(reverse("portal:card"), {"step": "send", "bank_card": number}
                           ).content.decode()
        assert message in page and 'data-field="bank_card"' in page
    assert not OutboxMessage.objects.filter(template="VERIFY_CODE").exists()
    assert not CardChange.objects.exists()
    assert Member.objects.get(pk=w.zhangsan.pk).bank_card == before


def test_without_a_phone_no_code_is_sent(portal_world):
    w = portal_world
    Member.objects.filter(pk=w.zhangsan.pk).update(phone=None)
    member = Member.objects.get(pk=w.zhangsan.pk)
    with pytest.raises(DomainError, match="没有登记手机号"):
        card_change_start(actor=None, member=member, bank_card=NEW_CARD)
    assert not CardChange.objects.exists()
