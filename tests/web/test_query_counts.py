"""List pages cost a fixed number of queries whatever the page size."""

from __future__ import annotations

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from huzhu.demo.identities import resident_id
from huzhu.members.services import MemberInput, member_create


def _add_members(world, n: int) -> None:
    import datetime

    for i in range(n):
        member_create(actor=None, data=MemberInput(
            name=f"测试{i}", id_number=resident_id("450103", datetime.date(1985, 1, 1), i),
            unit=world.unit_a))


def _queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_member_list_query_count_is_fixed(world):
    _add_members(world, 60)
    client = Client()
    client.force_login(world.wangwu)
    client.get(reverse("web:home"))  # the first request stamps the session's last_seen
    small = _queries(client, reverse("web:member_list") + "?size=20")
    large = _queries(client, reverse("web:member_list") + "?size=100")
    filtered = _queries(client, reverse("web:member_list") + f"?size=50&org={world.county_a.pk}")
    assert small == large
    assert small <= 6  # session, user + organisation, second-factor device, page rows, count
    assert filtered == small + 1  # the organisation filter is one lookup


def test_unit_list_query_count_is_fixed(world):
    client = Client()
    client.force_login(world.wangwu)
    client.get(reverse("web:home"))
    assert _queries(client, reverse("web:unit_list") + "?size=20") == _queries(
        client, reverse("web:unit_list") + "?size=200")
