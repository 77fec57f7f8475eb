"""The holiday calendar (issue 14 part 6): a deadline that reaches a year whose schedule is not
known is marked "节假日安排未录入", never counted silently; the province's system administrator
enters the year through the page, and every deadline that reached into it is counted again.

The package carries schedules up to 2026; 2027 below is entered as staff would type the State
Council's notice. What is tested is the counting, the marking and the recount."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from huzhu.accounts.models import User
from huzhu.accounts.roles import Role
from huzhu.audit.models import Event
from huzhu.claims.calendar import library_knows, notice_year
from huzhu.claims.models import CalendarYear, Claim, WorkdayOverride
from huzhu.claims.workdays import add_workdays, is_workday

from . import test_review
from .test_review import in_review

review_world = test_review.review_world  # the review tests' world, as a fixture here too

pytestmark = pytest.mark.django_db
D = datetime.date
UNKNOWN = "节假日安排未录入"

HOLIDAYS_2027 = """2027-01-01 至 2027-01-03
2027-02-05 至 2027-02-12
2027-04-03 至 2027-04-05
2027-05-01 至 2027-05-05
2027-06-09 至 2027-06-11
2027-09-15 至 2027-09-17
2027-10-01 至 2027-10-07"""
WORKDAYS_2027 = "2027-02-14，2027-02-20\n2027-04-25\n2027-09-26\n2027-10-09"


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def enter_2027(client: Client, **override: str) -> Any:
    data = {"year": "2027", "holidays": HOLIDAYS_2027, "workdays": WORKDAYS_2027,
            "source": "国务院办公厅关于2027年部分节假日安排的通知"}
    data.update(override)
    return client.post(reverse("claims:calendar"), data)


def test_the_package_knows_2026_and_not_2027():
    # If a newer chinesecalendar knows 2027, these tests must pick a later year.
    assert library_knows(2026) and not library_knows(2027)


def test_a_deadline_into_an_unknown_year_is_marked_then_recounted_when_entered(review_world):
    w = review_world
    claim = in_review(w, "S1", filed=D(2026, 12, 30), begin="2026-12-01", end="2026-12-10")
    assert claim.due_on == D(2027, 1, 1)  # Monday to Friday meanwhile: 元旦 counted
    assert claim.level_since == D(2026, 12, 30)
    with time_machine.travel("2026-12-30 10:00 +0800", tick=False):
        reviewer = client_for(w.wangwu)  # sessions have an absolute lifetime: log in that day
        detail = reviewer.get(reverse("claims:detail", args=[claim.pk])).content.decode()
        queue = reviewer.get(reverse("claims:queue")).content.decode()
        home = reviewer.get(reverse("web:home")).content.decode()
    assert 'id="deadline-unknown"' in detail and UNKNOWN in detail
    assert UNKNOWN in queue
    assert "2027 年节假日安排未录入" in home and "1 件审核中的理赔" in home
    assert "请联系自治区总工会系统管理员录入" in home

    with time_machine.travel("2026-12-30 10:00 +0800", tick=False):
        admin = client_for(w.sysadmin)
        assert "去录入" in admin.get(reverse("web:home")).content.decode()
        response = enter_2027(admin)
    assert response.status_code == 302
    claim.refresh_from_db()
    assert claim.due_on == D(2027, 1, 4)  # 12-31 is one, 01-01..03 off, Monday 01-04 is two
    assert add_workdays(D(2026, 12, 30), 2) == D(2027, 1, 4)
    assert not is_workday(D(2027, 2, 8)) and not is_workday(D(2027, 10, 1))
    assert is_workday(D(2027, 2, 14))  # a Sunday made a working day
    with time_machine.travel("2026-12-30 10:00 +0800", tick=False):
        reviewer, admin = client_for(w.wangwu), client_for(w.sysadmin)
        detail = reviewer.get(reverse("claims:detail", args=[claim.pk])).content.decode()
        home = reviewer.get(reverse("web:home")).content.decode()
        page = admin.get(reverse("claims:calendar")).content.decode()
    assert UNKNOWN not in detail and "2027-01-04" in detail
    assert "calendar-notice" not in home
    assert "已录入" in page and "2027-02-14" in page and "郑系统" in page

    entered = Event.objects.get(action="calendar.year")
    assert entered.actor_id == w.sysadmin.pk
    assert entered.after["year"] == 2027 and "2027-01-01" in entered.after["holidays"]
    recount = Event.objects.filter(action="claim.level", object_id=str(claim.pk)).latest("seq")
    assert recount.before["due_on"] == "2027-01-01" and recount.after["due_on"] == "2027-01-04"
    assert "重算" in recount.after["why"]


def test_entering_again_replaces_the_year_with_before_and_after(review_world):
    w = review_world
    admin = client_for(w.sysadmin)
    enter_2027(admin)
    enter_2027(admin, workdays="")
    assert not WorkdayOverride.objects.filter(day__year=2027, is_workday=True).exists()
    second = Event.objects.filter(action="calendar.year").latest("seq")
    assert "2027-02-14" in second.before["workdays"] and second.after["workdays"] == []


@pytest.mark.parametrize(("field", "text", "words"), [
    ("holidays", "2027-01-01\n2027-13-01", ["放假日期第 2 行", "2027-13-01"]),
    ("holidays", "2027-01-01\n2028-01-01", ["第 2 行", "不在 2027 年内"]),
    ("holidays", "2027-02-12 至 2027-02-05", ["结束日期早于开始日期"]),
    ("workdays", "2027-02-15", ["调休上班日应为周六或周日", "2027-02-15"]),
    ("workdays", "2027-01-02", ["同一天不能既放假又上班"]),
])
def test_bad_input_names_the_line_and_changes_nothing(review_world, field, text, words):
    w = review_world
    response = enter_2027(client_for(w.sysadmin), **{field: text})
    assert response.status_code == 200
    body = response.content.decode()
    for word in words:
        assert word in body
    assert not CalendarYear.objects.exists() and not WorkdayOverride.objects.exists()
    assert not Event.objects.filter(action="calendar.year").exists()


def test_a_year_the_package_carries_is_not_entered(review_world):
    body = enter_2027(client_for(review_world.sysadmin), year="2026",
                      holidays="2026-01-01", workdays="").content.decode()
    assert "2026 年的节假日安排已随系统提供" in body
    assert not WorkdayOverride.objects.exists()


def test_only_the_provinces_system_administrator_enters_the_calendar(review_world):
    w = review_world
    city_admin = User.objects.create_user(username="cityadmin", password="x-Unused-2026!",
                                          role=Role.SYSTEM_ADMIN, organisation=w.city_a)
    for user in (w.wangwu, w.top_reviewer, city_admin, w.lisi):
        client = client_for(user)
        assert client.get(reverse("claims:calendar")).status_code == 404
        assert enter_2027(client).status_code == 404
        assert reverse("claims:calendar") not in client.get(reverse("web:home")).content.decode()
    assert not CalendarYear.objects.exists()
    menu = client_for(w.sysadmin).get(reverse("web:home")).content.decode()
    assert reverse("claims:calendar") in menu


def test_the_home_notice_starts_on_the_first_of_november():
    with time_machine.travel("2026-10-31 23:00 +0800", tick=False):
        assert notice_year() is None
    with time_machine.travel("2026-10-31 16:30 +0000", tick=False):  # 00:30 on 11-01 in Beijing
        assert notice_year() == 2027
    with time_machine.travel("2027-03-01 10:00 +0800", tick=False):
        assert notice_year() == 2027  # this year's is missing: asked for all year


def test_claims_entering_review_record_the_day_they_entered(review_world):
    claim = in_review(review_world, "S1", filed=D(2026, 9, 30))
    assert Claim.objects.get(pk=claim.pk).level_since == D(2026, 9, 30)
