"""Creating and changing organisations, units and members through the API: permissions,
scope, per-field Chinese errors, confirmations, and nothing changed by a refused request."""

from __future__ import annotations

import datetime

import pytest

from huzhu.audit.models import Event
from huzhu.demo.identities import bank_card, resident_id, social_credit_code
from huzhu.members.models import Member
from huzhu.organisations.models import Organisation, Unit

NEW_ID = resident_id("450103", datetime.date(1992, 3, 4), 57)


def new_member(world, **overrides):
    body = {"name": "刘一", "id_number": NEW_ID, "phone": "+86 138 0000 1111",
            "bank_card": bank_card(77), "bank_name": "中国农业银行", "unit": world.unit_a.pk,
            "is_new_form_worker": True}
    return {**body, **overrides}


def counts() -> tuple[int, int, int, int]:
    return (Member.objects.count(), Unit.objects.count(), Organisation.objects.count(),
            Event.objects.exclude(action="token.created").count())


def test_agent_creates_a_member_in_his_unit(world, api_as):
    response = api_as(world.lisi).post("/members", new_member(world))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "刘一" and body["phone"] == "138****1111"
    assert body["id_number"] == NEW_ID[:6] + "********" + NEW_ID[-4:]
    assert body["unit"] == {"id": world.unit_a.pk, "name": "南宁示范机械厂"}
    assert body["organisation"]["id"] == world.grassroots_a.pk
    assert body["birth_date"] == "1992-03-04" and body["gender"] == "M"
    member = Member.objects.get(pk=body["id"])
    assert member.phone == "13800001111" and member.is_new_form_worker is True
    event = Event.objects.get(action="member.created", actor_id=world.lisi.pk)
    assert NEW_ID not in str(event.after) and "13800001111" not in str(event.after)


BAD_MEMBERS = [
    ("id_number", "450103199203040572", "校验位"),  # a valid number with its last digit changed
    ("id_number", "11010519491331002X", "出生日期 19491331 不存在"),
    ("id_number", "450103920304057", "15 位"),
    ("id_number", "1.10105E+17", "Excel"),
    ("id_number", "", "不能为空"),
    ("phone", "12345678901", "手机号应为 11 位"),
    ("phone", "1380000111", "手机号应为 11 位"),
    ("bank_card", "622202100000000", "15 位"),
    ("bank_card", "6222-0210-ABCD-0000", "只能由数字组成"),
    ("name", "  ", "姓名不能为空"),
    ("insurance_type", "urban", "可选"),
    ("employment_status", "working", "可选"),
]


@pytest.mark.parametrize("field, value, message", BAD_MEMBERS)
def test_a_bad_member_field_is_named_in_chinese_and_nothing_is_written(
        world, api_as, field, value, message):
    assert NEW_ID[-1] != "2"
    before = counts()
    response = api_as(world.lisi).post("/members", new_member(world, **{field: value}))
    assert response.status_code in {400, 422}
    body = response.json()
    assert message in body["fields"][field][0], body
    assert list(body["fields"]) == [field]
    assert counts() == before


def test_a_duplicate_id_number_is_refused(world, api_as):
    before = counts()
    response = api_as(world.lisi).post("/members",
                                       new_member(world, id_number=world.zhangsan.id_number))
    assert response.status_code == 400
    assert response.json()["code"] == "duplicate"
    assert response.json()["fields"] == {"id_number": ["该身份证号已登记为会员"]}
    assert counts() == before


@pytest.mark.parametrize("unit", [999_999, "unit_b"])
def test_an_unknown_or_foreign_unit_is_refused_on_the_unit_field(world, api_as, unit):
    unit_id = world.unit_b.pk if unit == "unit_b" else unit
    before = counts()
    response = api_as(world.lisi).post("/members", new_member(world, unit=unit_id,
                                                              phone="123"))
    assert response.status_code == 400
    fields = response.json()["fields"]
    assert fields["unit"] == ["参保单位不存在或不在您的管理范围内"]
    assert "phone" in fields  # the other bad fields are named in the same answer
    assert counts() == before


def test_a_member_needs_a_unit_or_a_union(world, api_as):
    response = api_as(world.wangwu).post("/members", new_member(world, unit=None))
    assert response.status_code == 400
    assert response.json()["fields"] == {"unit": ["请选择参保单位"]}


def test_a_member_may_belong_to_a_union_without_a_unit(world, api_as):
    response = api_as(world.wangwu).post(
        "/members", new_member(world, unit=None, organisation=world.grassroots_a.pk))
    assert response.status_code == 201
    assert response.json()["unit"] is None


def test_wrong_types_and_unknown_fields_are_422_in_chinese(world, api_as):
    response = api_as(world.lisi).post(
        "/members", {"name": "刘一", "id_number": 450103199203040571, "unit": "A", "idno": 1})
    assert response.status_code == 422
    assert response.json()["fields"] == {
        "id_number": ["应为文本（字符串）"], "unit": ["应为整数"], "idno": ["不认识的字段"]}
    assert response.json()["code"] == "validation"
    missing = api_as(world.lisi).post("/members", {"unit": world.unit_a.pk})
    assert missing.json()["fields"] == {"name": ["必填"], "id_number": ["必填"]}


def test_a_card_failing_luhn_needs_confirmation(world, api_as):
    card = bank_card(77)
    bad = card[:-1] + str((int(card[-1]) + 1) % 10)
    client = api_as(world.lisi)
    before = counts()
    first = client.post("/members", new_member(world, bank_card=bad))
    assert first.status_code == 409
    assert first.json()["warnings"] == {"bank_card": ["银行卡号未通过 Luhn 校验，请与持卡人核对后确认"]}
    assert counts() == before
    confirmed = client.post("/members", new_member(world, bank_card=bad, confirm_warnings=True))
    assert confirmed.status_code == 201
    assert confirmed.json()["bank_card_warning_confirmed"] is True
    # Later changes to other fields need no new confirmation of the same card.
    renamed = client.patch(f"/members/{confirmed.json()['id']}", {"name": "刘壹"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "刘壹"


@pytest.mark.parametrize("persona", ["qianjiu", "zhangsan_user", "auditor", "sysadmin"])
def test_roles_without_member_management_cannot_create(world, api_as, persona):
    before = counts()
    response = api_as(getattr(world, persona)).post("/members", new_member(world))
    assert response.status_code == 403
    assert counts() == before


def test_patch_changes_only_the_fields_sent(world, api_as):
    zs = world.zhangsan
    response = api_as(world.lisi).patch(f"/members/{zs.pk}", {"phone": "13900002222",
                                                               "is_hardship": True})
    assert response.status_code == 200, response.content
    member = Member.objects.get(pk=zs.pk)
    assert (member.phone, member.is_hardship) == ("13900002222", True)
    assert (member.name, member.id_number, member.bank_card) == (zs.name, zs.id_number,
                                                                 zs.bank_card)
    event = Event.objects.get(action="member.updated")
    assert set(event.after) == {"phone", "is_hardship"}
    assert "13900002222" not in str(event.after)


def test_patch_may_clear_the_card(world, api_as):
    response = api_as(world.wangwu).patch(f"/members/{world.zhangsan.pk}", {"bank_card": None})
    assert response.status_code == 200 and response.json()["bank_card"] == ""
    assert Member.objects.get(pk=world.zhangsan.pk).bank_card is None


def test_patch_with_a_bad_field_changes_nothing(world, api_as):
    before = counts()
    response = api_as(world.lisi).patch(f"/members/{world.zhangsan.pk}",
                                        {"name": "张叁", "id_number": "450103800517031"})
    assert response.status_code == 400
    assert "id_number" in response.json()["fields"]
    assert Member.objects.get(pk=world.zhangsan.pk).name == "张三"
    assert counts() == before


def test_patch_to_another_members_id_number_is_refused(world, api_as):
    response = api_as(world.lisi).patch(f"/members/{world.zhangsan.pk}",
                                        {"id_number": world.chenba.id_number})
    assert response.status_code == 400 and response.json()["code"] == "duplicate"


@pytest.mark.parametrize("persona", ["zhangsan_user", "qianjiu"])
def test_roles_without_member_management_cannot_patch(world, api_as, persona):
    response = api_as(getattr(world, persona)).patch(f"/members/{world.zhangsan.pk}",
                                                     {"name": "改名"})
    assert response.status_code == 403
    assert Member.objects.get(pk=world.zhangsan.pk).name == "张三"


def test_moving_a_member_to_another_unit_in_scope(world, api_as):
    from huzhu.organisations.services import unit_create

    other = unit_create(actor=None, name="青秀区第二厂", uscc=social_credit_code("450103", 9),
                        organisation=world.grassroots_a)
    response = api_as(world.wangwu).patch(f"/members/{world.chenba.pk}", {"unit": other.pk})
    assert response.status_code == 200
    assert Member.objects.get(pk=world.chenba.pk).unit_id == other.pk
    # The agent of unit A cannot see the other unit.
    refused = api_as(world.lisi).patch(f"/members/{world.zhangsan.pk}", {"unit": other.pk})
    assert refused.status_code == 400 and "unit" in refused.json()["fields"]


def test_city_staff_creates_renames_and_moves_organisations(world, api_as):
    client = api_as(world.zhaoliu)
    created = client.post("/organisations", {"name": "柳南区总工会", "kind": "county",
                                             "parent": world.city_b.pk})
    assert created.status_code == 201, created.content
    org_id = created.json()["id"]
    assert created.json()["parent"] == world.city_b.pk and created.json()["depth"] == 2
    renamed = client.patch(f"/organisations/{org_id}", {"name": "柳南区总工会（新）"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "柳南区总工会（新）"
    moved = client.patch(f"/organisations/{world.grassroots_b.pk}", {"parent": org_id})
    assert moved.status_code == 200 and moved.json()["parent"] == org_id
    assert Unit.objects.get(pk=world.unit_b.pk).org_path.startswith(
        Organisation.objects.get(pk=org_id).path)
    assert Member.objects.get(pk=world.sunqi.pk).org_path == Organisation.objects.get(
        pk=world.grassroots_b.pk).path
    assert Event.objects.filter(action="org.moved").count() == 1


def test_an_organisation_cannot_move_under_its_own_subtree(world, api_as):
    response = api_as(world.zhaoliu).patch(f"/organisations/{world.county_b.pk}",
                                           {"parent": world.grassroots_b.pk})
    assert response.status_code == 400
    assert response.json()["fields"] == {"parent": ["不能移动到自身的下级"]}


@pytest.mark.parametrize("body, field", [
    ({"name": " "}, "name"), ({"kind": "village"}, "kind"), ({"parent": None}, "parent"),
    ({"is_fund_region": None}, "is_fund_region"),
])
def test_a_bad_organisation_change_is_refused(world, api_as, body, field):
    response = api_as(world.zhaoliu).patch(f"/organisations/{world.county_b.pk}", body)
    assert response.status_code in {400, 422}
    assert field in response.json()["fields"]
    org = Organisation.objects.get(pk=world.county_b.pk)
    assert (org.name, org.kind) == ("城中区总工会", "county")


@pytest.mark.parametrize("persona", ["wangwu", "qianjiu", "lisi"])
def test_roles_without_tree_management_cannot_change_the_tree(world, api_as, persona):
    client = api_as(getattr(world, persona))
    created = client.post("/organisations", {"name": "新工会", "kind": "grassroots",
                                             "parent": world.county_a.pk})
    assert created.status_code == 403
    changed = client.patch(f"/organisations/{world.grassroots_a.pk}", {"name": "改名"})
    assert changed.status_code in {403, 404}
    assert Organisation.objects.get(pk=world.grassroots_a.pk).name == "青秀区机关基层工会"


def test_reviewer_creates_and_changes_a_unit(world, api_as):
    client = api_as(world.wangwu)
    code = social_credit_code("450103", 5)
    created = client.post("/units", {"name": "青秀区电子厂", "uscc": code.lower(),
                                     "organisation": world.grassroots_a.pk})
    assert created.status_code == 201, created.content
    assert created.json()["uscc"] == code and created.json()["agents"] == []
    changed = client.patch(f"/units/{created.json()['id']}", {"address": "南宁市青秀区民族大道"})
    assert changed.status_code == 200 and changed.json()["address"] == "南宁市青秀区民族大道"
    assert Event.objects.filter(action__in=["unit.created", "unit.updated"],
                                actor_id=world.wangwu.pk).count() == 2


def test_a_uscc_failing_its_check_digit_needs_confirmation_once(world, api_as):
    client = api_as(world.wangwu)
    code = social_credit_code("450103", 5)
    bad = code[:-1] + ("1" if code[-1] != "1" else "2")
    body = {"name": "青秀区电子厂", "uscc": bad, "organisation": world.grassroots_a.pk}
    first = client.post("/units", body)
    assert first.status_code == 409 and "uscc" in first.json()["warnings"]
    assert not Unit.objects.filter(uscc=bad).exists()
    confirmed = client.post("/units", {**body, "confirm_warnings": True})
    assert confirmed.status_code == 201 and confirmed.json()["uscc_warning_confirmed"] is True
    renamed = client.patch(f"/units/{confirmed.json()['id']}", {"name": "青秀区电子二厂"})
    assert renamed.status_code == 200


@pytest.mark.parametrize("body, field, message", [
    ({"uscc": "91450103"}, "uscc", "应为 18 位"),
    ({"uscc": "__unit_b__"}, "uscc", "已被其他单位使用"),
    ({"organisation": "__county_a__"}, "organisation", "基层工会、产业工会或机关工委"),
    ({"organisation": 999_999}, "organisation", "不存在或不在您的管理范围内"),
    ({"name": ""}, "name", "不能为空"),
])
def test_a_bad_unit_is_refused_on_its_field(world, api_as, body, field, message):
    replace = {"__unit_b__": world.unit_b.uscc, "__county_a__": world.county_a.pk}
    body = {k: replace.get(v, v) if isinstance(v, str) else v for k, v in body.items()}
    payload = {"name": "青秀区电子厂", "uscc": social_credit_code("450103", 5),
               "organisation": world.grassroots_a.pk, **body}
    before = counts()
    response = api_as(world.wangwu).post("/units", payload)
    assert response.status_code in {400, 422}
    assert message in response.json()["fields"][field][0]
    assert counts() == before


def test_agents_cannot_create_units(world, api_as):
    response = api_as(world.lisi).post("/units", {
        "name": "私设单位", "uscc": social_credit_code("450103", 6),
        "organisation": world.grassroots_a.pk})
    assert response.status_code == 403
    assert api_as(world.lisi).patch(f"/units/{world.unit_a.pk}",
                                    {"name": "改名"}).status_code == 403


def test_a_body_that_is_not_json_is_refused_in_chinese(world, api_as):
    client = api_as(world.lisi)
    before = counts()
    response = client.client.post("/api/members", "{name: 刘一", content_type="application/json",
                                  **client._auth())
    assert response.status_code == 400
    assert response.json()["code"] == "unparsable" and "JSON" in response.json()["error"]
    assert counts() == before


def test_a_reviewer_may_detach_a_member_from_his_unit_but_an_agent_may_not(world, api_as):
    refused = api_as(world.lisi).patch(f"/members/{world.chenba.pk}", {"unit": None})
    assert refused.status_code == 400
    assert refused.json()["fields"] == {"unit": ["您不能把会员移出参保单位"]}
    assert Member.objects.get(pk=world.chenba.pk).unit_id == world.unit_a.pk
    detached = api_as(world.wangwu).patch(f"/members/{world.chenba.pk}", {"unit": None})
    assert detached.status_code == 200, detached.content
    assert detached.json()["unit"] is None
    assert detached.json()["organisation"]["id"] == world.grassroots_a.pk
