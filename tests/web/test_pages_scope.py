"""Every page answers within the user's subtree only: outsiders get 404, lists omit them."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def detail_urls(world) -> list[str]:
    return [
        reverse("web:member_detail", args=[world.zhangsan.pk]),
        reverse("web:member_edit", args=[world.zhangsan.pk]),
        reverse("web:unit_detail", args=[world.unit_a.pk]),
        reverse("web:unit_edit", args=[world.unit_a.pk]),
        reverse("web:org_detail", args=[world.county_a.pk]),
        reverse("web:org_edit", args=[world.county_a.pk]),
        reverse("web:member_list") + f"?org={world.county_a.pk}",
        reverse("web:member_list") + f"?unit={world.unit_a.pk}",
        reverse("web:unit_list") + f"?org={world.county_a.pk}",
    ]


def test_outsider_gets_404_on_every_detail_page(world):
    client = client_for(world.zhaoliu)
    for url in detail_urls(world):
        assert client.get(url).status_code == 404, url


def test_outsider_cannot_post_to_another_citys_records(world):
    client = client_for(world.zhaoliu)
    for url in [
        reverse("web:member_edit", args=[world.zhangsan.pk]),
        reverse("web:unit_edit", args=[world.unit_a.pk]),
        reverse("web:agent_add", args=[world.unit_a.pk]),
    ]:
        assert client.post(url, {"name": "篡改"}).status_code == 404, url
    assert client.post(reverse("web:member_reveal", args=[world.zhangsan.pk, "id_number"])
                       ).status_code == 404
    world.zhangsan.refresh_from_db()
    assert world.zhangsan.name == "张三"


def test_outsider_lists_and_searches_show_nothing_of_nanning(world):
    client = client_for(world.zhaoliu)
    pages = [
        reverse("web:member_list"),
        reverse("web:member_list") + "?q=张三",
        reverse("web:member_list") + f"?q={world.zhangsan.id_number}",
        reverse("web:unit_list"),
        reverse("web:unit_list") + "?q=南宁",
        reverse("web:org_tree"),
        reverse("web:home"),
    ]
    for url in pages:
        body = client.get(url).content.decode()
        body = body.split('id="member-table"', 1)[-1]  # the search box echoes the query
        assert "张三" not in body and "张*" not in body, url
        assert "南宁示范机械厂" not in body, url
        assert "青秀区" not in body, url
    assert "孙" in client.get(reverse("web:member_list")).content.decode()


def test_county_reviewer_sees_own_county(world):
    client = client_for(world.wangwu)
    body = client.get(reverse("web:member_list")).content.decode()
    assert "张三" in body and "陈八" in body and "孙七" not in body
    assert client.get(reverse("web:member_detail", args=[world.sunqi.pk])).status_code == 404
    assert client.get(reverse("web:member_detail", args=[world.zhangsan.pk])).status_code == 200


def test_agent_sees_only_own_unit(world):
    client = client_for(world.lisi)
    body = client.get(reverse("web:member_list")).content.decode()
    assert "张三" in body and "陈八" in body and "孙七" not in body
    assert client.get(reverse("web:unit_detail", args=[world.unit_b.pk])).status_code == 404
    assert client.get(reverse("web:unit_detail", args=[world.unit_a.pk])).status_code == 200
    assert client.get(reverse("web:org_tree")).status_code == 403


def test_member_sees_only_himself(world):
    client = client_for(world.zhangsan_user)
    body = client.get(reverse("web:member_list")).content.decode()
    assert "陈" not in body
    assert client.get(reverse("web:member_detail", args=[world.chenba.pk])).status_code == 404
    # his own record is 我的保障 in the portal, never the staff page
    assert client.get(reverse("web:member_detail", args=[world.zhangsan.pk])).url == \
        reverse("portal:home")
    assert client.get(reverse("portal:home")).status_code == 200
    assert client.get(reverse("web:member_edit", args=[world.zhangsan.pk])).status_code == 403


@pytest.mark.parametrize("who", ["auditor", "security", "sysadmin"])
def test_administrators_see_no_members(world, who):
    client = client_for(getattr(world, who))
    assert client.get(reverse("web:member_list")).status_code == 403
    assert client.get(reverse("web:member_detail", args=[world.zhangsan.pk])).status_code == 404


def test_only_auditor_reads_the_event_log(world):
    assert client_for(world.auditor).get(reverse("web:event_list")).status_code == 200
    for who in ("wangwu", "sysadmin", "security", "lisi"):
        assert client_for(getattr(world, who)).get(reverse("web:event_list")).status_code == 403


def test_anonymous_is_sent_to_login(db):
    response = Client().get(reverse("web:member_list"))
    assert response.status_code == 302 and "/login/" in response["Location"]


def _export_names(response) -> list[str]:
    import io

    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_filelike(io.BytesIO(response.content))
    rows = book.get_sheet_by_name("会员").to_python()
    return [str(r[0]) for r in rows[1:] if r and r[1]]


def test_export_is_scoped_masked_and_recorded(world):
    from huzhu.audit.models import Event

    url = reverse("web:member_export")
    assert _export_names(client_for(world.wangwu).get(url)) == ["张三", "陈八"]
    assert _export_names(client_for(world.zhaoliu).get(url)) == ["孙七"]
    assert client_for(world.zhaoliu).get(url + f"?org={world.county_a.pk}").status_code == 404
    assert _export_names(client_for(world.lisi).get(url)) == ["张三", "陈八"]
    assert _export_names(client_for(world.qianjiu).get(url)) == ["张*", "陈*", "孙*", "周*"]
    import io

    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_filelike(io.BytesIO(client_for(world.wangwu).get(url).content))
    cells = str(book.get_sheet_by_name("会员").to_python())
    assert world.zhangsan.id_number not in cells
    assert world.zhangsan.id_number[:6] + "********" + world.zhangsan.id_number[-4:] in cells
    assert Event.objects.filter(action="data.exported", actor_id=world.wangwu.pk).exists()
    assert client_for(world.zhangsan_user).get(url).status_code == 403
