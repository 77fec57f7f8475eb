"""API lists cost a fixed number of queries whatever the page size (STYLE §10 rule 34)."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from huzhu.demo.identities import bank_card, resident_id, social_credit_code
from huzhu.members.services import MemberInput, member_create
from huzhu.organisations.models import OrgKind
from huzhu.organisations.services import org_create, unit_create


@pytest.fixture
def crowded(world):
    """Sixty more members in unit A, and a dozen grassroots unions with a unit each."""
    for i in range(60):
        member_create(actor=None, data=MemberInput(
            name=f"测试{i}", id_number=resident_id("450103", datetime.date(1985, 1, 1), i),
            phone=f"1390000{i:04d}", bank_card=bank_card(1000 + i), unit=world.unit_a))
    for i in range(12):
        org = org_create(actor=None, name=f"青秀区第{i}基层工会", kind=OrgKind.GRASSROOTS,
                         parent=world.county_a)
        unit_create(actor=None, name=f"青秀区第{i}厂", uscc=social_credit_code("450103", 100 + i),
                    organisation=org)
    return world


def queries(client, path, **params) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path, **params)
    assert response.status_code == 200, response.content
    return len(ctx.captured_queries)


def test_member_list_query_count_is_fixed(crowded, api_as):
    client = api_as(crowded.wangwu)
    small = queries(client, "/members", limit=5)
    large = queries(client, "/members", limit=60)
    assert len(client.get("/members", limit=60).json()["items"]) == 60
    assert small == large
    # token lookup, its last-used stamp, COUNT, the page with unit and organisation joined
    assert small == 4
    assert queries(client, "/members", limit=50, offset=10, q="测试") == small
    assert queries(client, "/members", limit=50, q=crowded.zhangsan.id_number) == small
    # the organisation and unit filters are one access lookup each
    assert queries(client, "/members", limit=50, org=crowded.county_a.pk) == small + 1
    assert queries(client, "/members", limit=50, unit=crowded.unit_a.pk) == small + 1


def test_member_search_by_post_costs_the_same(crowded, api_as):
    client = api_as(crowded.wangwu)

    def post(limit):
        with CaptureQueriesContext(connection) as ctx:
            assert client.post("/members/search", {"q": "测试", "limit": limit}
                               ).status_code == 200
        return len(ctx.captured_queries)

    assert post(5) == post(60) == 4


def test_unit_and_organisation_lists_query_counts_are_fixed(crowded, api_as):
    client = api_as(crowded.wangwu)
    assert queries(client, "/units", limit=2) == queries(client, "/units", limit=200) == 4
    assert queries(client, "/organisations", limit=2) == queries(
        client, "/organisations", limit=200) == 4


def test_a_page_past_the_end_is_empty_and_skips_the_row_query(crowded, api_as):
    client = api_as(crowded.wangwu)
    body = client.get("/members", limit=50, offset=1000).json()
    assert body == {"count": 62, "limit": 50, "offset": 1000, "items": []}
    assert queries(client, "/members", limit=50, offset=1000) == 3


def test_limit_is_bounded(world, api_as):
    response = api_as(world.wangwu).get("/members", limit=5000)
    assert response.status_code == 422
    assert response.json()["fields"] == {"limit": ["不能大于 500"]}
