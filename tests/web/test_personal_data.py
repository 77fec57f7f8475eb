"""Personal data is encrypted at rest, masked on every page, revealed only by permission."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from huzhu.audit.models import Event
from huzhu.members.models import Member
from huzhu.pii.crypto import DecryptionError, cipher


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def raw_member_row(pk: int) -> dict:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id_number, phone, bank_card, id_number_bidx FROM members_member WHERE id = %s",
            [pk],
        )
        id_number, phone, card, bidx = cursor.fetchone()
    return {"id_number": bytes(id_number), "phone": bytes(phone), "bank_card": bytes(card),
            "bidx": bidx}


def test_raw_columns_hold_no_plaintext(world):
    row = raw_member_row(world.zhangsan.pk)
    for field in ("id_number", "phone", "bank_card"):
        plain = getattr(world.zhangsan, field).encode()
        assert plain not in row[field]
        assert plain[-6:] not in row[field]
    assert world.zhangsan.id_number not in row["bidx"]


def test_tampering_one_byte_fails_loudly(world):
    row = raw_member_row(world.zhangsan.pk)
    tampered = bytearray(row["id_number"])
    tampered[-1] ^= 0x01
    with connection.cursor() as cursor:
        cursor.execute("UPDATE members_member SET id_number = %s WHERE id = %s",
                       [bytes(tampered), world.zhangsan.pk])
    with pytest.raises(DecryptionError):
        Member.objects.get(pk=world.zhangsan.pk)


def test_ciphertext_moved_to_another_column_does_not_decrypt(world):
    row = raw_member_row(world.zhangsan.pk)
    with pytest.raises(DecryptionError):
        cipher().decrypt(row["id_number"], field="members.member.phone")


@pytest.mark.parametrize("who", ["wangwu", "lisi", "zhangsan_user", "qianjiu"])
def test_pages_never_show_full_numbers(world, who):
    client = client_for(getattr(world, who))
    urls = [
        reverse("web:member_list"),
        reverse("web:member_detail", args=[world.zhangsan.pk]),
        reverse("web:member_list") + f"?q={world.zhangsan.id_number}",
    ]
    if who in {"wangwu", "lisi"}:
        urls.append(reverse("web:member_edit", args=[world.zhangsan.pk]))
        urls.append(reverse("web:unit_detail", args=[world.unit_a.pk]))
    for url in urls:
        body = client.get(url).content.decode()
        for secret in (world.zhangsan.id_number, world.zhangsan.phone, world.zhangsan.bank_card,
                       "13612345678"):
            assert secret not in body, (url, secret)
    detail = client.get(reverse("web:member_detail", args=[world.zhangsan.pk]),
                        follow=True).content.decode()  # a member: his portal page
    if who == "zhangsan_user":
        for secret in (world.zhangsan.id_number, world.zhangsan.phone, world.zhangsan.bank_card):
            assert secret not in detail
        assert "138****1234" in detail
        return
    assert world.zhangsan.id_number[:6] + "********" + world.zhangsan.id_number[-4:] in detail
    assert "138****1234" in detail


def test_search_by_full_id_number_finds_the_member(world):
    body = client_for(world.wangwu).get(
        reverse("web:member_list") + f"?q={world.zhangsan.id_number}").content.decode()
    table = body.split('id="member-table"', 1)[1]
    assert "张三" in table and "陈八" not in table


def test_reveal_is_recorded_and_permissioned(world):
    url = reverse("web:member_reveal", args=[world.zhangsan.pk, "id_number"])
    response = client_for(world.qianjiu).post(url)
    assert response.status_code == 200
    assert world.zhangsan.id_number in response.content.decode()
    event = Event.objects.filter(action="pii.revealed", object_id=str(world.zhangsan.pk)).first()
    assert event is not None and event.actor_id == world.qianjiu.pk and event.outcome == "ok"
    assert event.after == {"field": "id_number"}
    denied = client_for(world.lisi).post(url)
    assert denied.status_code == 403
    assert world.zhangsan.id_number not in denied.content.decode()
    assert Event.objects.filter(action="pii.revealed", outcome="denied",
                                actor_id=world.lisi.pk).count() == 1


def test_event_log_holds_only_masked_personal_data(world):
    for event in Event.objects.all():
        text = f"{event.before} {event.after}"
        assert world.zhangsan.id_number not in text
        assert world.zhangsan.phone not in text
