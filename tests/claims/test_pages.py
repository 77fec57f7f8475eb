"""Claim pages: scope (outsiders get 404), masked personal data, the trace, the queue."""

from __future__ import annotations

import datetime

from django.urls import reverse

from huzhu.claims.ingest import settlement_ingest
from huzhu.claims.models import ClaimPolicy
from huzhu.claims.services import claim_file
from huzhu.settlements.models import Settlement
from tests.enrollment.test_roster import new_id

from .conftest import MEDICAL, record


def _claim(w, setl_id="S1", **kw):
    s = settlement_ingest(record=record(setl_id, w.zhangsan.id_number, **kw),
                          actor=w.bureau).settlement
    return claim_file(member=w.zhangsan, settlement=s, product_code=MEDICAL, actor=w.lisi,
                      source="agent", as_of=datetime.date(2026, 3, 20))


def test_claim_detail_shows_settlement_trace_and_other_claims(claims_world, client):
    w = claims_world
    ClaimPolicy.objects.create(product_code=MEDICAL, sample_percent=100)
    first = _claim(w, "S1", begin="2026-02-01", end="2026-02-03")
    claim = _claim(w, "S2")
    client.force_login(w.wangwu)
    page = client.get(reverse("claims:detail", args=[claim.pk])).content.decode()
    assert "1,400.00" in page or "1400.00" in page
    assert "随机抽检" in page and "3,000.00" in page
    assert w.zhangsan.id_number not in page and "张三" not in page and "张*" in page
    assert reverse("claims:detail", args=[first.pk]) in page  # the member's other claim
    listing = client.get(reverse("claims:list")).content.decode()
    assert reverse("claims:detail", args=[claim.pk]) in listing


def test_outsiders_get_404(claims_world, client):
    w = claims_world
    claim = _claim(w)
    client.force_login(w.zhaoliu)
    assert client.get(reverse("claims:detail", args=[claim.pk])).status_code == 404
    listing = client.get(reverse("claims:list")).content.decode()
    assert reverse("claims:detail", args=[claim.pk]) not in listing and "没有理赔" in listing
    client.force_login(w.lisi)  # the unit's agent sees it
    assert client.get(reverse("claims:detail", args=[claim.pk])).status_code == 200
    client.force_login(w.zhangsan_user)
    assert client.get(reverse("claims:detail", args=[claim.pk])).status_code == 200
    client.force_login(w.auditor)
    assert client.get(reverse("claims:detail", args=[claim.pk])).status_code == 404
    client.logout()
    assert client.get(reverse("claims:detail", args=[claim.pk])).status_code == 302


def test_unmatched_queue_and_retry(world, client):
    from huzhu.members.services import MemberInput, member_create

    number = new_id(9)
    settlement_ingest(record=record("U1", number, psn_name="王小明"), actor=world.bureau)
    client.force_login(world.wangwu)
    page = client.get(reverse("claims:unmatched")).content.decode()
    assert "U1" in page and number not in page and "王小明" not in page
    client.force_login(world.lisi)
    assert client.get(reverse("claims:unmatched")).status_code == 404
    member_create(actor=None, data=MemberInput(name="王小明", id_number=number,
                                               phone="13800000009", unit=world.unit_a))
    client.force_login(world.zhaoliu)  # city staff of the same fund region may match
    response = client.post(reverse("claims:unmatched_retry"), follow=True)
    assert "1 条结算记录已找到会员" in response.content.decode()
    assert Settlement.objects.get(setl_id="U1").member.name == "王小明"
