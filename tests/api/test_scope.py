"""Every endpoint answers within the caller's subtree only (TRUST S-10): the persona world.

赵六 (柳州 city staff) gets 404 on every one of 南宁's records and finds none of them in any list
or search; 李四 sees unit A; 张三 sees himself; 王五 sees 张三 and 陈八; the administrators see no
members at all.
"""

from __future__ import annotations

import pytest

from huzhu.members.models import Member
from huzhu.organisations.models import Organisation, Unit

NANNING_DETAILS = [
    "/organisations/{w.city_a.pk}",
    "/organisations/{w.county_a.pk}",
    "/organisations/{w.grassroots_a.pk}",
    "/units/{w.unit_a.pk}",
    "/members/{w.zhangsan.pk}",
    "/members/{w.chenba.pk}",
]

NANNING_FILTERS = [
    "/organisations?parent={w.county_a.pk}",
    "/units?org={w.county_a.pk}",
    "/members?org={w.county_a.pk}",
    "/members?unit={w.unit_a.pk}",
]


@pytest.mark.parametrize("path", NANNING_DETAILS + NANNING_FILTERS)
def test_outsider_gets_404_reading_nannings_records(world, api_as, path):
    response = api_as(world.zhaoliu).get(path.format(w=world))
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize("path", NANNING_DETAILS)
def test_outsider_gets_404_changing_nannings_records_and_nothing_changes(world, api_as, path):
    response = api_as(world.zhaoliu).patch(path.format(w=world), {"name": "篡改"})
    assert response.status_code == 404
    assert not Member.objects.filter(name="篡改").exists()
    assert not Unit.objects.filter(name="篡改").exists()
    assert not Organisation.objects.filter(name="篡改").exists()


@pytest.mark.parametrize("member", ["zhangsan", "chenba"])
def test_outsider_cannot_reveal_nannings_personal_data(world, api_as, member):
    from huzhu.audit.models import Event

    pk = getattr(world, member).pk
    response = api_as(world.zhaoliu).post(f"/members/{pk}/reveal", {"field": "id_number"})
    assert response.status_code == 404
    assert not Event.objects.filter(action="pii.revealed").exists()


@pytest.mark.parametrize("body", [
    lambda w: ("/members", {"name": "混入", "id_number": "450103199001010012",
                            "unit": w.unit_a.pk}, "unit"),
    lambda w: ("/members", {"name": "混入", "id_number": "450103199001010012",
                            "organisation": w.grassroots_a.pk}, "organisation"),
    lambda w: ("/units", {"name": "混入单位", "uscc": "91450103MA5KX0001X",
                          "organisation": w.grassroots_a.pk}, "organisation"),
    lambda w: ("/organisations", {"name": "混入工会", "kind": "grassroots",
                                  "parent": w.county_a.pk}, "parent"),
])
def test_outsider_cannot_create_under_nannings_records(world, api_as, body):
    path, payload, field = body(world)
    counts = (Member.objects.count(), Unit.objects.count(), Organisation.objects.count())
    response = api_as(world.zhaoliu).post(path, payload)
    assert response.status_code == 400
    assert "不存在或不在您的管理范围内" in response.json()["fields"][field][0]
    assert (Member.objects.count(), Unit.objects.count(), Organisation.objects.count()) == counts


def test_outsider_cannot_move_his_records_under_nanning(world, api_as):
    client = api_as(world.zhaoliu)
    assert client.patch(f"/units/{world.unit_b.pk}",
                        {"organisation": world.grassroots_a.pk}).status_code == 400
    assert client.patch(f"/members/{world.sunqi.pk}",
                        {"unit": world.unit_a.pk}).status_code == 400
    assert client.patch(f"/organisations/{world.county_b.pk}",
                        {"parent": world.city_a.pk}).status_code == 400
    world.unit_b.refresh_from_db()
    world.sunqi.refresh_from_db()
    assert world.unit_b.organisation_id == world.grassroots_b.pk
    assert world.sunqi.unit_id == world.unit_b.pk
    assert Organisation.objects.get(pk=world.county_b.pk).parent_id == world.city_b.pk


def outsider_lists(w):
    return [
        ("get", "/organisations", {}),
        ("get", "/organisations", {"q": "南宁"}),
        ("get", "/units", {}),
        ("get", "/units", {"q": "南宁"}),
        ("get", "/units", {"q": w.unit_a.uscc}),
        ("get", "/members", {}),
        ("get", "/members", {"q": "张三"}),
        ("get", "/members", {"q": "张"}),
        ("get", "/members", {"q": "陈八"}),
        ("get", "/members", {"q": w.zhangsan.id_number}),
        ("get", "/members", {"q": w.chenba.id_number}),
        ("post", "/members/search", {"q": w.zhangsan.id_number}),
        ("post", "/members/search", {"q": "张三"}),
    ]


def test_outsider_lists_and_searches_show_nothing_of_nanning(world, api_as):
    client = api_as(world.zhaoliu)
    secrets = ["南宁", "青秀", "张三", "陈八", "张*", "陈*", world.unit_a.uscc,
               world.zhangsan.id_number, world.chenba.id_number,
               world.zhangsan.id_number[-4:], world.chenba.id_number[-4:]]
    for method, path, params in outsider_lists(world):
        if method == "get":
            response = client.get(path, **params)
        else:
            response = client.post(path, params)
        assert response.status_code == 200, (path, params)
        body = response.content.decode()
        for secret in secrets:
            assert secret not in body, (path, params, secret)


def test_outsider_still_sees_his_own_city(world, api_as):
    """The control for the test above: 赵六's lists are not empty by accident."""
    client = api_as(world.zhaoliu)
    assert names(client.get("/members")) == {"孙七"}
    assert names(client.get("/members", q=world.sunqi.id_number)) == {"孙七"}
    assert names(client.get("/units")) == {"柳州钢圈制造公司"}
    assert names(client.get("/organisations")) == {"柳州市总工会", "城中区总工会",
                                                   "城中区企业基层工会"}


def names(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {row["name"] for row in response.json()["items"]}


MEMBERS_SEEN = {
    "lisi": {"张三", "陈八"},
    "wangwu": {"张三", "陈八"},
    "zhangsan_user": {"张三"},
    "qianjiu": {"张*", "陈*", "孙*", "周*"},  # finance sees the province, names masked
    "finance_b": {"周*"},  # a second fund region's finance: its own region only
    "zhaoliu": {"孙七"},
}


@pytest.mark.parametrize("persona", MEMBERS_SEEN)
def test_each_persona_lists_exactly_the_members_in_scope(world, api_as, persona, ):
    assert names(api_as(getattr(world, persona)).get("/members")) == MEMBERS_SEEN[persona]


@pytest.mark.parametrize("persona, member, status", [
    ("lisi", "zhangsan", 200), ("lisi", "chenba", 200), ("lisi", "sunqi", 404),
    ("zhangsan_user", "zhangsan", 200), ("zhangsan_user", "chenba", 404),
    ("zhangsan_user", "sunqi", 404),
    ("wangwu", "zhangsan", 200), ("wangwu", "chenba", 200), ("wangwu", "sunqi", 404),
    ("qianjiu", "sunqi", 200), ("zhaoliu", "sunqi", 200),
    ("auditor", "zhangsan", 404), ("security", "zhangsan", 404), ("sysadmin", "zhangsan", 404),
])
def test_member_detail_answers_only_within_scope(world, api_as, persona, member, status):
    pk = getattr(world, member).pk
    assert api_as(getattr(world, persona)).get(f"/members/{pk}").status_code == status


@pytest.mark.parametrize("persona", ["auditor", "security", "sysadmin"])
def test_administrators_see_no_members(world, api_as, persona):
    """三权分立: the administrators hold no business permission over members."""
    client = api_as(getattr(world, persona))
    assert client.get("/members").status_code == 403
    assert client.get("/members", q=world.zhangsan.id_number).status_code == 403
    assert client.post("/members/search", {"q": "张三"}).status_code == 403
    assert client.post(f"/members/{world.zhangsan.pk}/reveal",
                       {"field": "id_number"}).status_code == 404


def test_agent_sees_only_his_unit(world, api_as):
    client = api_as(world.lisi)
    assert names(client.get("/units")) == {"南宁示范机械厂"}
    assert client.get(f"/units/{world.unit_b.pk}").status_code == 404
    assert client.get("/organisations").status_code == 403
    assert client.get(f"/organisations/{world.grassroots_a.pk}").status_code == 404
    assert names(client.get("/members", q=world.sunqi.id_number)) == set()
    assert client.get("/members", unit=world.unit_b.pk).status_code == 404


def test_member_sees_only_himself(world, api_as):
    client = api_as(world.zhangsan_user)
    assert names(client.get("/members", q="陈")) == set()
    assert names(client.get("/members", q=world.chenba.id_number)) == set()
    assert client.get("/units").status_code == 403
    assert client.get(f"/units/{world.unit_a.pk}").status_code == 404
    assert client.get("/organisations").status_code == 403


def test_county_reviewer_sees_his_county(world, api_as):
    client = api_as(world.wangwu)
    assert names(client.get("/organisations")) == {"青秀区总工会", "青秀区机关基层工会"}
    assert client.get(f"/organisations/{world.city_a.pk}").status_code == 404
    assert names(client.get("/units")) == {"南宁示范机械厂"}
    assert names(client.get("/members", q=world.chenba.id_number)) == {"陈八"}
    assert names(client.get("/members", q=world.sunqi.id_number)) == set()


def test_system_administrator_sees_the_tree_but_no_members(world, api_as):
    client = api_as(world.sysadmin)
    assert len(names(client.get("/organisations"))) == 10
    assert names(client.get("/units")) == {"南宁示范机械厂", "柳州钢圈制造公司", "北海港务公司"}
