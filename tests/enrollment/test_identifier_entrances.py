"""Identifiers cleaned at every entrance (issue 16 part 2): the same full-width number becomes
the same ASCII value through a roster, the member page and the API; a number with another
Unicode digit is refused naming the row or field; and a card that fails the Luhn check needs
the same explicit confirmation on a roster row ("银行卡号已核对") as on the page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from huzhu.demo.identities import bank_card
from huzhu.enrollment.models import Enrollment, Roster, RosterStatus
from huzhu.members.models import Member
from tests.api import conftest as api_conftest

from .conftest import person, xlsx
from .test_pages import client_for, upload
from .test_roster import new_id

pytestmark = pytest.mark.django_db
api_as = api_conftest.api_as  # the API tests' client, as a fixture here too


def full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def luhn_broken(card: str) -> str:
    return card[:-1] + str((int(card[-1]) + 1) % 10)


def test_full_width_numbers_become_ascii_at_the_roster(period_world):
    w = period_world
    pid, card = new_id(1), bank_card(8101)
    row = person("刘一", full_width(pid), w.medical.product_version.name,
                 手机号=full_width("138 0000 2222"), 银行卡号=full_width(card),
                 开户行="中国农业银行")
    client = client_for(w.lisi)
    upload(client, w, xlsx([row]))
    roster = Roster.objects.get()
    assert roster.status == RosterStatus.VALID, roster.errors
    client.post(reverse("enrollment:roster_commit", args=[roster.pk]))
    member = Member.objects.get(name="刘一")
    assert (member.id_number, member.phone, member.bank_card) == (pid, "13800002222", card)


def test_other_unicode_digits_are_refused_naming_row_and_field(period_world):
    w = period_world
    card = bank_card(8102)
    row = person("刘二", new_id(2), w.medical.product_version.name,
                 银行卡号=card[:-1] + "²", 开户行="中国农业银行")
    upload(client_for(w.lisi), w, xlsx([row]))
    roster = Roster.objects.get()
    assert roster.status == RosterStatus.INVALID
    assert {"row": 2, "field": "银行卡号", "message": "银行卡号只能由数字组成"} in roster.errors


def test_a_luhn_failure_needs_the_rows_confirmation(period_world):
    w = period_world
    name = w.medical.product_version.name
    card = luhn_broken(bank_card(8103))
    client = client_for(w.lisi)
    upload(client, w, xlsx([person("刘三", new_id(3), name, 银行卡号=card, 开户行="中国农业银行")]))
    refused = Roster.objects.get()
    assert refused.status == RosterStatus.INVALID
    [error] = refused.errors
    assert (error["row"], error["field"]) == (2, "银行卡号")
    assert "Luhn" in error["message"] and "银行卡号已核对" in error["message"]
    client.post(reverse("enrollment:roster_commit", args=[refused.pk]))
    assert not Member.objects.filter(name="刘三").exists() and not Enrollment.objects.exists()

    upload(client, w, xlsx([person("刘三", new_id(3), name, 银行卡号=card, 开户行="中国农业银行",
                                   银行卡号已核对="是")]))
    confirmed = Roster.objects.exclude(pk=refused.pk).get()
    assert confirmed.status == RosterStatus.VALID, confirmed.errors
    client.post(reverse("enrollment:roster_commit", args=[confirmed.pk]))
    assert Member.objects.get(name="刘三").bank_card == card


def test_the_member_page_and_the_api_clean_the_same_way(world, api_as):
    pid, card = new_id(4), bank_card(8104)
    client = client_for(world.lisi)
    client.post(reverse("web:member_create"), {
        "name": "刘四", "id_number": full_width(pid), "phone": full_width("13800003333"),
        "bank_card": full_width(card), "bank_name": "中国农业银行", "insurance_type": "employee",
        "employment_status": "employed", "unit": world.unit_a.pk, "is_union_member": "on"})
    member = Member.objects.get(name="刘四")
    assert (member.id_number, member.phone, member.bank_card) == (pid, "13800003333", card)

    pid5 = new_id(5)
    response = api_as(world.lisi).post("/members", {
        "name": "刘五", "id_number": full_width(pid5), "phone": full_width("+86 138 0000 4444"),
        "bank_card": full_width(bank_card(8105)), "bank_name": "中国农业银行",
        "unit": world.unit_a.pk})
    assert response.status_code == 201, response.content
    member = Member.objects.get(name="刘五")
    assert (member.id_number, member.phone) == (pid5, "13800004444")
    bad = api_as(world.lisi).post("/members", {
        "name": "刘六", "id_number": new_id(6), "bank_card": bank_card(8106)[:-1] + "²",
        "unit": world.unit_a.pk})
    assert bad.status_code in (400, 422) and "银行卡号只能由数字组成" in bad.content.decode()
    assert not Member.objects.filter(name="刘六").exists()
