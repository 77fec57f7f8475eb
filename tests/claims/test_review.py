"""Review level by level against deadlines in statutory working days (chinese-calendar, with
WorkdayOverride rows for years it does not know): the queue, approve → next level → granted,
one person one level, return for documents → resubmit, reject with a reason code, one appeal
heard at the last level, escalate, and reviewers of another county kept out. Every act is a
ClaimReview row and an event; each SMS is sent once.

Claims are sent to review by a ClaimPolicy drawing every claim as a random sample."""

from __future__ import annotations

import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine

from huzhu.audit.models import Event
from huzhu.claims.ingest import settlement_ingest
from huzhu.claims.models import (
    Claim,
    ClaimPolicy,
    ClaimReview,
    ReviewAction,
    ReviewLevel,
    WorkdayOverride,
)
from huzhu.claims.review import claim_appeal, claim_resubmit, claim_review, review_queue
from huzhu.claims.services import claim_file
from huzhu.claims.status import ClaimStatus
from huzhu.claims.workdays import add_workdays
from huzhu.errors import DomainError, NotAllowed
from huzhu.notices.models import OutboxMessage
from huzhu.payouts.models import Payout

from .conftest import MEDICAL, ledger_clean, record

pytestmark = pytest.mark.django_db
D = datetime.date
AS_OF = D(2026, 12, 31)
FILED = D(2026, 3, 20)
APPROVE, RETURN, REJECT, ESCALATE = (ReviewAction.APPROVE, ReviewAction.RETURN,
                                     ReviewAction.REJECT, ReviewAction.ESCALATE)


def on_day(day: datetime.date) -> Any:
    return time_machine.travel(datetime.datetime(day.year, day.month, day.day, 10, 0,
                                                 tzinfo=ZoneInfo("Asia/Shanghai")), tick=False)


@pytest.fixture
def review_world(money_world: Any) -> Any:
    from huzhu.accounts.models import User
    from huzhu.accounts.roles import Role
    from tests.conftest import PASSWORD

    w = money_world
    ClaimPolicy.objects.create(product_code=MEDICAL, sample_percent=100)
    w.second_top = User.objects.create_user(username="wuzhong", password=PASSWORD,
                                            role=Role.REVIEWER, organisation=w.province,
                                            display_name="吴终审")
    w.other_county = User.objects.create_user(username="liucheng", password=PASSWORD,
                                              role=Role.REVIEWER, organisation=w.county_b,
                                              display_name="刘城中")
    return w


def in_review(w: Any, setl_id: str, *, member: Any = None, filed: datetime.date = FILED,
              begin: str = "2026-03-01", end: str = "2026-03-10") -> Claim:
    member = member or w.zhangsan
    with on_day(filed):
        s = settlement_ingest(record=record(setl_id, member.id_number, begin=begin, end=end),
                              actor=w.bureau).settlement
        claim = claim_file(member=member, settlement=s, product_code=MEDICAL, actor=w.lisi,
                           source="agent", as_of=AS_OF)
    assert claim.status == ClaimStatus.IN_REVIEW and claim.review_level == 1
    assert [f["code"] for f in claim.risk] == ["RANDOM_SAMPLE"]
    return claim


def reviewed_events(claim: Claim) -> list[dict[str, Any]]:
    return list(Event.objects.filter(action="claim.reviewed", object_id=str(claim.pk))
                .order_by("seq").values_list("after", flat=True))


def test_working_days_skip_weekends_national_day_and_overridden_holidays(db):
    assert add_workdays(D(2026, 3, 13), 2) == D(2026, 3, 17)  # Fri → Mon, Tue
    assert add_workdays(D(2026, 9, 30), 1) == D(2026, 10, 8)  # 国庆 10-01..07 off
    assert add_workdays(D(2026, 9, 30), 2) == D(2026, 10, 9)
    assert add_workdays(D(2026, 10, 9), 1) == D(2026, 10, 10)  # Saturday 调休 working day
    # 2027: chinese-calendar has no schedule yet, so Monday to Friday until overrides say more
    assert add_workdays(D(2026, 12, 31), 1) == D(2027, 1, 1)
    WorkdayOverride.objects.create(day=D(2027, 1, 1), is_workday=False, note="元旦")
    assert add_workdays(D(2026, 12, 31), 1) == D(2027, 1, 4)
    WorkdayOverride.objects.create(day=D(2027, 1, 2), is_workday=True, note="调休上班")
    assert add_workdays(D(2026, 12, 31), 1) == D(2027, 1, 2)
    assert add_workdays(D(2026, 12, 31), 2) == D(2027, 1, 4)


def test_due_dates_of_each_level_count_working_days_over_national_day(review_world):
    w = review_world
    claim = in_review(w, "S1", filed=D(2026, 9, 30))
    assert claim.due_on == D(2026, 10, 9)  # two working days after 09-30, over the holiday
    claim_review(claim, actor=w.wangwu, action=APPROVE, today=D(2026, 10, 9))
    claim.refresh_from_db()
    assert (claim.status, claim.review_level) == (ClaimStatus.IN_REVIEW, 2)
    assert claim.due_on == D(2026, 10, 12)  # Sat 10-10 is a working day, Sun 10-11 is not
    level_events = Event.objects.filter(action="claim.level", object_id=str(claim.pk))
    assert [e.after["level"] for e in level_events.order_by("seq")] == [1, 2]


def test_the_queue_shows_overdue_claims_first_and_only_the_reviewers_levels(review_world):
    w = review_world
    late = in_review(w, "S1", filed=D(2026, 3, 2))  # due 03-04
    fresh = in_review(w, "S2", filed=D(2026, 3, 18), begin="2026-05-01", end="2026-05-05")
    middle = in_review(w, "S3", member=w.chenba, filed=D(2026, 3, 10))
    assert (late.due_on, middle.due_on, fresh.due_on) == (D(2026, 3, 4), D(2026, 3, 12),
                                                          D(2026, 3, 20))
    assert list(review_queue(w.wangwu)) == [late, middle, fresh]
    assert list(review_queue(w.top_reviewer)) == [late, middle, fresh]
    assert list(review_queue(w.other_county)) == []
    assert list(review_queue(w.lisi)) == []  # an agent reviews nothing

    claim_review(late, actor=w.wangwu, action=APPROVE, today=D(2026, 3, 11))
    review = ClaimReview.objects.get(claim=late)
    assert review.overdue and review.due_on == D(2026, 3, 4)
    assert reviewed_events(late)[0]["overdue"] is True
    # at level 2 it leaves the county's queue
    assert list(review_queue(w.wangwu)) == [middle, fresh]
    assert late in list(review_queue(w.top_reviewer))


def test_approved_at_the_county_then_at_the_province_is_granted(review_world):
    w = review_world
    claim = in_review(w, "S1")
    claim_review(claim, actor=w.wangwu, action=APPROVE, note="材料齐全")
    claim.refresh_from_db()
    assert (claim.status, claim.review_level) == (ClaimStatus.IN_REVIEW, 2)
    assert not Payout.objects.filter(claim=claim).exists()
    with pytest.raises(NotAllowed):
        claim_review(claim, actor=w.wangwu, action=APPROVE)  # the county can't act at level 2
    claim_review(claim, actor=w.top_reviewer, action=APPROVE)
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.APPROVED and claim.payable_fen == 140_000
    assert Payout.objects.get(claim=claim).amount_fen == 140_000
    assert OutboxMessage.objects.filter(key=f"claim-approved:{claim.pk}").count() == 1
    rows = list(ClaimReview.objects.filter(claim=claim).values_list("level", "action", "actor"))
    assert rows == [(1, APPROVE, w.wangwu.pk), (2, APPROVE, w.top_reviewer.pk)]
    assert [e["action"] for e in reviewed_events(claim)] == [APPROVE, APPROVE]
    assert ledger_clean() == []


def test_one_person_may_not_act_at_two_levels_of_a_claim(review_world):
    w = review_world
    claim = in_review(w, "S1")
    claim_review(claim, actor=w.top_reviewer, action=APPROVE)  # the province may act at level 1
    with pytest.raises(NotAllowed, match="同一人不能在两个审核级次"):
        claim_review(claim, actor=w.top_reviewer, action=APPROVE)
    assert Claim.objects.get(pk=claim.pk).status == ClaimStatus.IN_REVIEW
    assert ClaimReview.objects.filter(claim=claim).count() == 1
    claim_review(claim, actor=w.second_top, action=APPROVE)
    assert Claim.objects.get(pk=claim.pk).status == ClaimStatus.APPROVED


def test_a_reviewer_of_another_county_may_not_act(review_world):
    w = review_world
    claim = in_review(w, "S1")
    for who in (w.other_county, w.zhaoliu, w.lisi, w.qianjiu):
        with pytest.raises(NotAllowed):
            claim_review(claim, actor=who, action=APPROVE)
    assert not ClaimReview.objects.filter(claim=claim).exists()
    assert reviewed_events(claim) == []


def test_returned_for_documents_then_resubmitted_to_the_same_level(review_world):
    w = review_world
    claim = in_review(w, "S1")
    claim_review(claim, actor=w.wangwu, action=ESCALATE, today=D(2026, 3, 20))
    claim.refresh_from_db()
    assert claim.review_level == 2
    with pytest.raises(DomainError) as caught:
        claim_review(claim, actor=w.top_reviewer, action=RETURN)
    assert "note" in caught.value.field_errors
    claim_review(claim, actor=w.top_reviewer, action=RETURN, note="请补充出院小结")
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.RETURNED
    review = ClaimReview.objects.get(claim=claim, action=RETURN)
    sms = OutboxMessage.objects.filter(key=f"claim-returned:{review.pk}")
    assert sms.count() == 1 and "出院小结" in sms.get().params["reason"]
    with pytest.raises(DomainError):
        claim_review(claim, actor=w.second_top, action=APPROVE)  # not in review now
    claim_resubmit(claim, actor=w.lisi, note="已补充", today=D(2026, 3, 27))
    claim.refresh_from_db()
    assert (claim.status, claim.review_level, claim.due_on) == (ClaimStatus.IN_REVIEW, 2,
                                                                D(2026, 3, 31))
    with pytest.raises(DomainError):
        claim_resubmit(claim, actor=w.lisi)  # only a returned claim
    claim_review(claim, actor=w.top_reviewer, action=APPROVE)
    assert Claim.objects.get(pk=claim.pk).status == ClaimStatus.APPROVED
    assert list(ClaimReview.objects.filter(claim=claim).values_list("action", flat=True)) == [
        ESCALATE, RETURN, ReviewAction.RESUBMIT, APPROVE]
    assert [e["action"] for e in reviewed_events(claim)] == [ESCALATE, RETURN, APPROVE]
    assert OutboxMessage.objects.filter(key__startswith="claim-returned:").count() == 1


def test_a_rejection_needs_a_reason_code_and_may_be_appealed_once_at_the_last_level(review_world):
    w = review_world
    claim = in_review(w, "S1")
    with pytest.raises(DomainError) as caught:
        claim_review(claim, actor=w.wangwu, action=REJECT)
    assert caught.value.field_errors["reason_code"] == ["请选择不予给付的原因"]
    with pytest.raises(DomainError) as caught:
        claim_review(claim, actor=w.wangwu, action=REJECT, reason_code="NO_SUCH_REASON")
    with pytest.raises(DomainError) as caught:
        claim_review(claim, actor=w.wangwu, action=REJECT, reason_code="OTHER")
    assert "note" in caught.value.field_errors
    with pytest.raises(DomainError):
        claim_review(claim, actor=w.wangwu, action="shrug")
    assert not ClaimReview.objects.filter(claim=claim).exists()  # refused acts leave no row
    assert reviewed_events(claim) == []

    claim_review(claim, actor=w.wangwu, action=REJECT, reason_code="NOT_INPATIENT")
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.REJECTED
    first = ClaimReview.objects.get(claim=claim, action=REJECT)
    sms = OutboxMessage.objects.get(key=f"claim-rejected:{first.pk}")
    assert sms.params["reason"] == "非住院费用"
    with pytest.raises(DomainError):
        claim_appeal(claim, actor=w.zhangsan_user, note="  ")
    claim_appeal(claim, actor=w.zhangsan_user, note="确为住院，附住院证明",
                 today=D(2026, 9, 30))
    claim.refresh_from_db()
    assert (claim.status, claim.review_level, claim.due_on) == (ClaimStatus.IN_REVIEW, 2,
                                                                D(2026, 10, 9))
    with pytest.raises(NotAllowed):
        claim_review(claim, actor=w.wangwu, action=APPROVE)  # heard at the last level only
    claim_review(claim, actor=w.top_reviewer, action=REJECT, reason_code="OTHER",
                 note="住院证明与结算记录不符")
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.REJECTED
    second = ClaimReview.objects.filter(claim=claim, action=REJECT).last()
    assert "住院证明与结算记录不符" in OutboxMessage.objects.get(
        key=f"claim-rejected:{second.pk}").params["reason"]
    with pytest.raises(DomainError) as caught:
        claim_appeal(claim, actor=w.zhangsan_user, note="再次申诉")
    assert caught.value.code == "appealed"
    assert ClaimReview.objects.filter(claim=claim, action=ReviewAction.APPEAL).count() == 1
    assert OutboxMessage.objects.filter(key__startswith="claim-rejected:").count() == 2
    assert not Payout.objects.filter(claim=claim).exists()
    transitions = Event.objects.filter(action__in=["claim.filed", "claim.transition"],
                                       object_id=str(claim.pk))
    assert [e.after["status"] for e in transitions.order_by("seq")] == [
        ClaimStatus.IN_REVIEW, ClaimStatus.REJECTED, ClaimStatus.IN_REVIEW, ClaimStatus.REJECTED]


def test_escalate_moves_up_and_not_past_the_last_level(review_world):
    w = review_world
    claim = in_review(w, "S1")
    claim_review(claim, actor=w.wangwu, action=ESCALATE, today=D(2026, 3, 13))
    claim.refresh_from_db()
    assert (claim.status, claim.review_level, claim.due_on) == (ClaimStatus.IN_REVIEW, 2,
                                                                D(2026, 3, 17))
    with pytest.raises(DomainError) as caught:
        claim_review(claim, actor=w.top_reviewer, action=ESCALATE)
    assert caught.value.field_errors["action"] == ["已是最高审核级次，不能再提交上级"]
    assert ClaimReview.objects.filter(claim=claim).count() == 1


def test_configured_levels_and_a_level_that_may_decide_small_claims(review_world):
    from huzhu.organisations.models import OrgKind

    w = review_world
    for n, (name, kind, days, limit) in enumerate([("县级初审", OrgKind.COUNTY, 3, None),
                                                   ("市级复审", OrgKind.CITY, 5, 200_000),
                                                   ("协会终审", "region", 5, None)], 1):
        ReviewLevel.objects.create(fund_region=w.province, level=n, name=name, org_kind=kind,
                                   working_days=days, final_limit_fen=limit)
    claim = in_review(w, "S1", filed=D(2026, 9, 30))
    assert claim.due_on == D(2026, 10, 10)  # three working days: 10-08, 10-09, Sat 10-10
    claim_review(claim, actor=w.wangwu, action=APPROVE, today=D(2026, 10, 8))
    claim.refresh_from_db()
    assert claim.review_level == 2 and claim.due_on == D(2026, 10, 14)  # 09, Sat 10, 12, 13, 14
    from huzhu.accounts.models import User
    from huzhu.accounts.roles import Role

    city = User.objects.create_user(username="nanning", password="x", role=Role.REVIEWER,
                                    organisation=w.city_a, display_name="南宁复审")
    assert list(review_queue(city)) == [claim]
    with pytest.raises(NotAllowed):
        claim_review(claim, actor=w.wangwu, action=APPROVE)
    claim_review(claim, actor=city, action=APPROVE)  # 1,400 元 ≤ the city's limit: decided here
    assert Claim.objects.get(pk=claim.pk).status == ClaimStatus.APPROVED
