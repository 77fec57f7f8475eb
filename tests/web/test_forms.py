"""Create and edit forms: per-field Chinese errors, warnings to confirm, nothing saved on error."""

from __future__ import annotations

import datetime
import re

from django.test import Client
from django.urls import reverse

from huzhu.demo.identities import resident_id, social_credit_code
from huzhu.members.models import Member
from huzhu.organisations.models import Unit


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def field_errors(html: str, field: str) -> str:
    match = re.search(rf'<ul class="errorlist" data-field="{field}">(.*?)</ul>', html, re.S)
    return match.group(1) if match else ""


def member_post(world, **overrides):
    data = {
        "name": "刘新", "id_number": resident_id("450103", datetime.date(1992, 3, 3), 55),
        "phone": "13811112222", "bank_card": "6225881414207430", "bank_name": "建设银行",
        "insurance_type": "employee", "employment_status": "employed", "unit": world.unit_a.pk,
        "is_union_member": "on",
    }
    data.update(overrides)
    return data


def test_member_create_works(world):
    response = client_for(world.wangwu).post(reverse("web:member_create"), member_post(world))
    assert response.status_code == 302
    member = Member.objects.get(name="刘新")
    assert member.gender == "M" and member.unit == world.unit_a  # order 055 is odd
    assert member.org_path == world.grassroots_a.path


def test_bad_fields_get_chinese_errors_and_nothing_is_saved(world):
    before = Member.objects.count()
    response = client_for(world.wangwu).post(reverse("web:member_create"), member_post(
        world, id_number="11010519491331002X", phone="12345", bank_card="6225 8814"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "出生日期" in field_errors(html, "id_number")
    assert "手机号" in field_errors(html, "phone")
    assert "16–19 位" in field_errors(html, "bank_card")
    assert Member.objects.count() == before


def test_excel_number_and_duplicate_are_refused(world):
    client = client_for(world.wangwu)
    html = client.post(reverse("web:member_create"),
                       member_post(world, id_number="4.50103E+17")).content.decode()
    assert "Excel" in field_errors(html, "id_number")
    html = client.post(reverse("web:member_create"),
                       member_post(world, id_number=world.zhangsan.id_number)).content.decode()
    assert "已登记" in field_errors(html, "id_number")


def test_luhn_failure_needs_confirmation(world):
    client = client_for(world.wangwu)
    data = member_post(world, bank_card="6225881414207431")
    html = client.post(reverse("web:member_create"), data).content.decode()
    assert "Luhn" in html and not Member.objects.filter(name="刘新").exists()
    response = client.post(reverse("web:member_create"), {**data, "confirm_warnings": "on"})
    assert response.status_code == 302
    assert Member.objects.get(name="刘新").bank_card_warning_confirmed is True


def test_edit_keeps_personal_data_when_left_blank(world):
    client = client_for(world.wangwu)
    data = member_post(world, name="张三", id_number="", phone="", bank_card="")
    response = client.post(reverse("web:member_edit", args=[world.zhangsan.pk]), data)
    assert response.status_code == 302
    member = Member.objects.get(pk=world.zhangsan.pk)
    assert member.id_number == world.zhangsan.id_number
    assert member.phone == "13812341234"


def test_agent_cannot_put_a_member_into_another_unit(world):
    response = client_for(world.lisi).post(reverse("web:member_create"),
                                           member_post(world, unit=world.unit_b.pk))
    assert response.status_code == 200  # the foreign unit is not a choice
    assert not Member.objects.filter(name="刘新").exists()


def test_unit_uscc_checksum_warning_then_confirm(world):
    client = client_for(world.wangwu)
    data = {"name": "青秀电子厂", "uscc": "91350211M0000XUF46",
            "organisation": world.grassroots_a.pk, "address": ""}
    html = client.post(reverse("web:unit_create"), data).content.decode()
    assert "校验位不符" in html and not Unit.objects.filter(name="青秀电子厂").exists()
    response = client.post(reverse("web:unit_create"), {**data, "confirm_warnings": "on"})
    assert response.status_code == 302
    assert Unit.objects.get(name="青秀电子厂").uscc_warning_confirmed is True


def test_unit_errors(world):
    client = client_for(world.wangwu)
    html = client.post(reverse("web:unit_create"), {
        "name": "某单位", "uscc": "91350100M0001", "organisation": world.grassroots_a.pk,
    }).content.decode()
    assert "18 位" in field_errors(html, "uscc")
    html = client.post(reverse("web:unit_create"), {
        "name": "重复单位", "uscc": world.unit_a.uscc, "organisation": world.grassroots_a.pk,
    }).content.decode()
    assert "已被其他单位使用" in field_errors(html, "uscc")
    ok = client.post(reverse("web:unit_create"), {
        "name": "新单位", "uscc": social_credit_code("450103", 99),
        "organisation": world.grassroots_a.pk,
    })
    assert ok.status_code == 302


def test_agent_phone_is_validated(world):
    client = client_for(world.wangwu)
    html = client.post(reverse("web:agent_add", args=[world.unit_a.pk]),
                       {"name": "周经办", "phone": "1234"}).content.decode()
    assert "手机号" in field_errors(html, "phone")
    assert client.post(reverse("web:agent_add", args=[world.unit_a.pk]),
                       {"name": "周经办", "phone": "+8613700001111"}).status_code == 302


def test_org_create_and_move_through_pages(world):
    client = client_for(world.zhaoliu)  # 柳州 city staff may manage the tree below 柳州
    response = client.post(reverse("web:org_create"), {
        "name": "鱼峰区总工会", "kind": "county", "parent": world.city_b.pk})
    assert response.status_code == 302
    # 赵六 cannot hang a node under 南宁: that parent is outside his scope.
    response = client.post(reverse("web:org_create"), {
        "name": "越权工会", "kind": "county", "parent": world.city_a.pk})
    assert response.status_code == 200  # 南宁 is not among his choices: the form refuses it
    from huzhu.organisations.models import Organisation

    assert not Organisation.objects.filter(name="越权工会").exists()
    assert Organisation.objects.get(name="鱼峰区总工会").parent_id == world.city_b.pk


def test_a_confirmed_card_is_not_questioned_again(world):
    client = client_for(world.wangwu)
    data = member_post(world, bank_card="6225881414207431")
    client.post(reverse("web:member_create"), {**data, "confirm_warnings": "on"})
    member = Member.objects.get(name="刘新")
    edit = {**data, "name": "刘新民", "id_number": "", "phone": "", "bank_card": ""}
    assert client.post(reverse("web:member_edit", args=[member.pk]), edit).status_code == 302
    member.refresh_from_db()
    assert member.name == "刘新民" and member.bank_card_warning_confirmed is True
