"""审核设置 (issue 14 part 5): the fund region's reviewers set its review levels on a page;
bad input is refused naming the level and changes nothing; a level still holding claims in
review cannot be removed; a change applies to what happens next and is recorded."""

from __future__ import annotations

import datetime

import pytest
from django.test import Client
from django.urls import reverse

from huzhu.audit.models import Event
from huzhu.claims.levels import levels_of
from huzhu.claims.models import ReviewLevel

from . import test_review
from .test_review import in_review

review_world = test_review.review_world  # the review tests' world, as a fixture here too
pytestmark = pytest.mark.django_db
D = datetime.date


def post(client: Client, rows: list[tuple[str, str, str, str]]):
    data = {}
    for n, (name, kind, days, limit) in enumerate(rows, start=1):
        data.update({f"name_{n}": name, f"kind_{n}": kind, f"days_{n}": days,
                     f"limit_{n}": limit})
    return client.post(reverse("claims:review_settings"), data, follow=True)


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_regions_reviewer_sets_three_levels_and_the_next_claim_uses_them(review_world):
    w = review_world
    page = client_for(w.top_reviewer)  # a reviewer of the province, the fund region
    assert "县级初审" in page.get(reverse("claims:review_settings")).content.decode()
    done = post(page, [("县级初审", "county", "2", "500.00"), ("市级复审", "city", "3", ""),
                       ("协会终审", "region", "2", "")]).content.decode()
    assert "审核设置已保存：共 3 级" in done
    assert [(lv.name, lv.org_kind, lv.working_days, lv.final_limit_fen)
            for lv in levels_of(w.province.pk)] == [
        ("县级初审", "county", 2, 50_000), ("市级复审", "city", 3, None),
        ("协会终审", "region", 2, None)]
    assert Event.objects.filter(object_type__icontains="reviewlevel").exists()
    claim = in_review(w, "S1", filed=D(2026, 3, 20))
    assert claim.review_level == 1 and claim.due_on == D(2026, 3, 24)


@pytest.mark.parametrize(("rows", "words"), [
    ([("", "county", "2", ""), ("市级复审", "city", "2", "")], "级次须连续"),
    ([("县级初审", "county", "0", "")], "时限应为 1–30 个工作日"),
    ([("县级初审", "county", "2", "五百")], "不是金额"),
    ([("县级初审", "planet", "2", "")], "审核组织层级不正确"),
])
def test_bad_settings_are_refused_and_change_nothing(review_world, rows, words):
    w = review_world
    before = list(ReviewLevel.objects.values_list("level", "name", "working_days"))
    body = post(client_for(w.top_reviewer), rows).content.decode()
    assert words in body
    assert list(ReviewLevel.objects.values_list("level", "name", "working_days")) == before


def test_a_level_with_claims_in_review_is_not_removed(review_world):
    w = review_world
    client = client_for(w.top_reviewer)
    post(client, [("县级初审", "county", "2", ""), ("协会终审", "region", "2", "")])
    claim = in_review(w, "S1")
    from huzhu.claims.review import claim_review

    claim_review(claim, actor=w.wangwu, action="approve")  # now at level 2
    body = post(client, [("县级初审", "county", "2", "")]).content.decode()
    assert "第 2 级还有 1 件审核中的理赔，不能删除该级" in body
    assert len(levels_of(w.province.pk)) == 2


def test_only_the_regions_own_reviewers(review_world):
    w = review_world
    for user in (w.wangwu, w.lisi, w.sysadmin, w.qianjiu):  # county reviewer, agent, admin, finance
        assert client_for(user).get(reverse("claims:review_settings")).status_code == 404
