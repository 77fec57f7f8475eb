"""A bulk change of personal data needs a second approver (TRUST S-21): a roster that changes
the phone, card or name of more registered members than HUZHU_BULK_PI_CHANGE_LIMIT is refused
at commit, changing nothing, until union staff over the unit — not the uploader — approve it;
the approval is an event with the count. New members and unchanged rows do not count."""

from __future__ import annotations

import pytest
from django.urls import reverse

from huzhu.audit.models import Event
from huzhu.demo.identities import bank_card
from huzhu.enrollment.models import Roster
from huzhu.enrollment.services import roster_pi_approve
from huzhu.errors import NotAllowed
from huzhu.members.models import Member

from .conftest import person, xlsx
from .test_pages import client_for, upload
from .test_roster import new_id

pytestmark = pytest.mark.django_db


def rows(w, phones):
    name = w.medical.product_version.name
    return [person(f"刘{i}", new_id(i + 1), name, 手机号=phone, 银行卡号=bank_card(8200 + i),
                   开户行="中国农业银行") for i, phone in enumerate(phones)]


def commit(client, roster):
    return client.post(reverse("enrollment:roster_commit", args=[roster.pk]), follow=True)


def test_many_changes_wait_for_a_second_person(period_world, settings):
    settings.BULK_PI_CHANGE_LIMIT = 1
    w = period_world
    agent = client_for(w.lisi)
    upload(agent, w, xlsx(rows(w, ["13800000001", "13800000002", "13800000003"])))
    first = Roster.objects.get()
    commit(agent, first)  # three new members: nothing registered changes
    assert Member.objects.filter(name__startswith="刘").count() == 3

    upload(agent, w, xlsx(rows(w, ["13900000001", "13900000002", "13800000003"])))
    second = Roster.objects.exclude(pk=first.pk).get()
    page = commit(agent, second).content.decode()
    assert "将修改 2 名已登记会员" in page and "复核同意后才能提交" in page
    second.refresh_from_db()
    assert second.status != "committed" and second.pi_changes == 2
    assert sorted(Member.objects.filter(name__startswith="刘").values_list("phone", flat=True)) == [
        "13800000001", "13800000002", "13800000003"]  # nothing changed

    with pytest.raises(NotAllowed):
        roster_pi_approve(roster=second, actor=w.lisi)  # the uploader, and an agent
    with pytest.raises(NotAllowed):
        roster_pi_approve(roster=second, actor=w.zhaoliu)  # staff of another city
    assert 'id="approve-pi"' not in agent.get(
        reverse("enrollment:roster_detail", args=[second.pk])).content.decode()

    reviewer = client_for(w.wangwu)  # the unit's county union
    detail = reviewer.get(reverse("enrollment:roster_detail", args=[second.pk])).content.decode()
    assert 'id="approve-pi"' in detail
    reviewer.post(reverse("enrollment:roster_pi_approve", args=[second.pk]))
    event = Event.objects.get(action="roster.pi_approved")
    assert event.actor_id == w.wangwu.pk and event.after["members_changed"] == 2

    commit(agent, second)
    second.refresh_from_db()
    assert second.status == "committed" and second.pi_approved_by_id == w.wangwu.pk
    assert sorted(Member.objects.filter(name__startswith="刘").values_list("phone", flat=True)) == [
        "13800000003", "13900000001", "13900000002"]


def test_changes_within_the_limit_commit_at_once(period_world, settings):
    settings.BULK_PI_CHANGE_LIMIT = 1
    w = period_world
    agent = client_for(w.lisi)
    upload(agent, w, xlsx(rows(w, ["13800000001", "13800000002"])))
    commit(agent, Roster.objects.get())
    upload(agent, w, xlsx(rows(w, ["13900000001", "13800000002"])))
    second = Roster.objects.order_by("-pk").first()
    commit(agent, second)
    second.refresh_from_db()
    assert second.status == "committed" and second.pi_changes == 0
    assert not Event.objects.filter(action="roster.pi_approved").exists()
