"""Personal data leaves the API masked (TRUST S-11, S-12); a full value only through the
permissioned, recorded reveal."""

from __future__ import annotations

import pytest

from huzhu.audit.models import Event


def full_values(world) -> list[str]:
    values = []
    for member in (world.zhangsan, world.chenba, world.sunqi):
        values += [member.id_number, member.phone or "", member.bank_card or ""]
    return [v for v in values if v]


def member_responses(world, client):
    yield client.get("/members")
    yield client.get("/members", q=world.zhangsan.id_number)
    yield client.post("/members/search", {"q": world.zhangsan.id_number})
    for member in (world.zhangsan, world.chenba, world.sunqi):
        yield client.get(f"/members/{member.pk}")
    yield client.patch(f"/members/{world.zhangsan.pk}", {"bank_name": "中国建设银行"})


@pytest.mark.parametrize("persona", ["lisi", "wangwu", "qianjiu", "zhaoliu", "zhangsan_user"])
def test_responses_never_carry_a_full_id_number_phone_or_card(world, api_as, persona):
    client = api_as(getattr(world, persona))
    seen = 0
    for response in member_responses(world, client):
        body = response.content.decode()
        seen += response.status_code == 200
        for value in full_values(world):
            assert value not in body, (persona, response.request["PATH_INFO"])
            assert value[-8:] not in body  # no longer tail than the mask keeps
    assert seen >= 2


def test_detail_uses_the_one_mask_pattern(world, api_as):
    body = api_as(world.wangwu).get(f"/members/{world.zhangsan.pk}").json()
    zs = world.zhangsan
    assert body["id_number"] == zs.id_number[:6] + "********" + zs.id_number[-4:]
    assert body["phone"] == "138****1234"
    card = zs.bank_card
    assert body["bank_card"].startswith(card[:4] + " **** ") and body["bank_card"].endswith(
        " " + card[-4:])
    assert body["birth_date"] == "1980-05-17" and body["gender"] == "M"


@pytest.mark.parametrize("persona, shown", [
    ("wangwu", "张三"), ("lisi", "张三"), ("zhangsan_user", "张三"), ("qianjiu", "张*"),
])
def test_names_are_full_for_member_managers_and_masked_for_others(world, api_as, persona,
                                                                   shown):
    client = api_as(getattr(world, persona))
    assert client.get(f"/members/{world.zhangsan.pk}").json()["name"] == shown
    listed = {row["id"]: row["name"] for row in client.get("/members").json()["items"]}
    assert listed[world.zhangsan.pk] == shown


@pytest.mark.parametrize("persona", ["qianjiu", "wangwu"])
@pytest.mark.parametrize("field", ["id_number", "phone", "bank_card"])
def test_reveal_returns_the_full_value_and_is_recorded(world, api_as, persona, field):
    user = getattr(world, persona)
    response = api_as(user).post(f"/members/{world.zhangsan.pk}/reveal", {"field": field})
    assert response.status_code == 200
    assert response.json() == {"field": field, "value": getattr(world.zhangsan, field)}
    event = Event.objects.get(action="pii.revealed")
    assert (event.actor_id, event.object_id, event.outcome) == (
        user.pk, str(world.zhangsan.pk), "ok")
    assert event.after == {"field": field}
    assert response["Cache-Control"] == "no-store"


@pytest.mark.parametrize("persona", ["lisi", "zhangsan_user"])
def test_reveal_is_refused_to_roles_without_the_permission_and_the_attempt_recorded(
        world, api_as, persona):
    user = getattr(world, persona)
    response = api_as(user).post(f"/members/{world.zhangsan.pk}/reveal", {"field": "id_number"})
    assert response.status_code == 403
    assert world.zhangsan.id_number not in response.content.decode()
    assert response.json()["code"] == "not_allowed"
    event = Event.objects.get(action="pii.revealed")
    assert (event.actor_id, event.outcome) == (user.pk, "denied")


def test_city_staff_may_not_reveal_in_his_own_city(world, api_as):
    response = api_as(world.zhaoliu).post(f"/members/{world.sunqi.pk}/reveal",
                                          {"field": "bank_card"})
    assert response.status_code == 403
    assert world.sunqi.bank_card not in response.content.decode()


def test_reveal_of_an_unknown_field_is_a_validation_error(world, api_as):
    response = api_as(world.qianjiu).post(f"/members/{world.zhangsan.pk}/reveal",
                                          {"field": "name"})
    assert response.status_code == 422
    assert "field" in response.json()["fields"]
    assert not Event.objects.filter(action="pii.revealed").exists()


def test_agent_phones_are_masked_on_the_unit(world, api_as):
    body = api_as(world.wangwu).get(f"/units/{world.unit_a.pk}").json()
    assert body["agents"] == [{"id": world.agent_record.pk, "name": "李四",
                               "phone": "136****5678", "is_active": True}]
    assert "13612345678" not in str(body)
