"""重病关怀 (issue 17 part 6): the region's rule opens a follow-up for a seriously ill member —
benefit granted this year above an amount, or a diagnosis on the list — with the five touches
as tasks for the member's county union, each with a deadline in working days; opened once a
year whatever re-runs (also two at once, on PostgreSQL); each touch recorded, the SMS sent
once, the notes encrypted; the pages scoped to the union tree; every change an event."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from huzhu.audit.models import Action, Event
from huzhu.care.models import CareRule, CareTask, FollowUp, Touch
from huzhu.care.services import CareError, followups_scan, rule_save, task_record
from huzhu.claims.workdays import add_workdays
from huzhu.notices.models import OutboxMessage
from tests.enrollment.conftest import period_world  # noqa: F401
from tests.payouts.conftest import file_claim, pay_world  # noqa: F401

pytestmark = pytest.mark.django_db

AS_OF = datetime.date(2026, 12, 7)


@pytest.fixture
def care_world(pay_world: Any) -> Any:  # noqa: F811
    """钱二 (members[3]) twice in hospital (2 × 1,400 元); 孙三 (members[4]) once, with a
    malignant tumour (C34); 李四海 (members[5]) once for appendicitis."""
    w = pay_world
    file_claim(w, w.members[3], "CARE-1", begin=datetime.date(2026, 3, 2))
    file_claim(w, w.members[3], "CARE-2", begin=datetime.date(2026, 6, 1))
    file_claim(w, w.members[4], "CARE-3", begin=datetime.date(2026, 4, 1),
               diag_code="C34.900", diag_name="肺恶性肿瘤")
    file_claim(w, w.members[5], "CARE-4", begin=datetime.date(2026, 5, 1))
    rule_save(fund_region=w.province, actor=w.qianjiu, enabled=True, min_benefit_fen=200_000,
              diseases="C, I21", working_days=10)
    return w


def test_the_rule_opens_one_follow_up_per_seriously_ill_member_with_five_touches(care_world):
    w = care_world
    result = followups_scan(fund_region=w.province, as_of=AS_OF)
    assert result.opened == 2
    opened = {f.member_id: f for f in FollowUp.objects.all()}
    assert set(opened) == {w.members[3].pk, w.members[4].pk}
    assert opened[w.members[3].pk].reason == "本年度已获给付 2,800.00 元，达到 2,000.00 元"
    assert opened[w.members[4].pk].reason == "诊断属于本统筹区的重病关怀病种"
    f = opened[w.members[4].pk]
    assert f.county == w.county_a and f.org_path == w.members[4].org_path
    due = add_workdays(AS_OF, 10)
    assert sorted((t.kind, t.due_on) for t in f.tasks.all()) == sorted(
        (k, due) for k in Touch.values)
    assert Event.objects.filter(action=Action.CARE_OPENED).count() == 2
    # Again (the command, the button, tomorrow): nothing more.
    assert followups_scan(fund_region=w.province, as_of=AS_OF).opened == 0
    assert FollowUp.objects.count() == 2 and CareTask.objects.count() == 10
    # A disabled rule opens nothing; another region's scan sees none of this region's claims.
    assert followups_scan(fund_region=w.region_b, as_of=AS_OF).opened == 0


def test_a_rule_never_saved_uses_the_default_and_bad_rules_are_refused(care_world):
    w = care_world
    with pytest.raises(CareError) as e:
        rule_save(fund_region=w.province, actor=w.qianjiu, enabled=True, min_benefit_fen=0,
                  diseases="C", working_days=10)
    assert e.value.field_errors == {"min_benefit": ["年度给付金额须大于 0"]}
    with pytest.raises(CareError) as e:
        rule_save(fund_region=w.province, actor=w.qianjiu, enabled=True,
                  min_benefit_fen=100, diseases="C, 肺癌", working_days=10)
    assert "肺癌" in str(e.value) and "diseases" in e.value.field_errors
    rule = CareRule.objects.get(fund_region=w.province)
    assert (rule.min_benefit_fen, rule.diseases) == (200_000, "C,I21")  # unchanged
    change = Event.objects.filter(action=Action.SETTING_CHANGED).order_by("-seq").first()
    assert change is None  # only the creation so far
    rule_save(fund_region=w.province, actor=w.qianjiu, enabled=False, min_benefit_fen=200_000,
              diseases="C,I21", working_days=10)
    change = Event.objects.filter(action=Action.SETTING_CHANGED).order_by("-seq").first()
    assert change.before["enabled"] is True and change.after["enabled"] is False
    assert followups_scan(fund_region=w.province, as_of=AS_OF).opened == 0


def test_each_touch_is_recorded_once_and_the_follow_up_closes(care_world):
    w = care_world
    followups_scan(fund_region=w.province, as_of=AS_OF)
    f = FollowUp.objects.get(member=w.members[3])
    tasks = {t.kind: t for t in f.tasks.all()}
    clerk = w.wangwu
    with pytest.raises(CareError, match="通话要点"):
        task_record(task=tasks[Touch.CALL], actor=clerk)
    with pytest.raises(CareError, match="慰问金金额"):
        task_record(task=tasks[Touch.MONEY], actor=clerk)
    with pytest.raises(CareError, match="本人同意"):
        task_record(task=tasks[Touch.STORY], actor=clerk, note="拟写一篇报道")
    task_record(task=tasks[Touch.SMS], actor=clerk, as_of=AS_OF)
    sms = OutboxMessage.objects.get(template="CARE_GREETING")
    assert sms.member_id == w.members[3].pk and sms.params == {"name": "钱二"}
    with pytest.raises(CareError, match="已办结"):
        task_record(task=tasks[Touch.SMS], actor=clerk)
    assert OutboxMessage.objects.filter(template="CARE_GREETING").count() == 1
    task_record(task=tasks[Touch.CALL], actor=clerk, note="已电话问候，术后恢复良好")
    task_record(task=tasks[Touch.GIFT], actor=clerk, note="慰问品：牛奶、水果")
    task_record(task=tasks[Touch.MONEY], actor=clerk, amount_fen=50_000, note="现场发放")
    f.refresh_from_db()
    assert f.closed_on is None
    task_record(task=tasks[Touch.STORY], actor=clerk, skip=True, note="本人不同意报道",
                as_of=AS_OF + datetime.timedelta(days=1))
    f.refresh_from_db()
    assert f.closed_on == AS_OF + datetime.timedelta(days=1)
    assert CareTask.objects.get(pk=tasks[Touch.MONEY].pk).amount_fen == 50_000
    assert Event.objects.filter(action=Action.CARE_TOUCHED).count() == 5
    # The call notes are encrypted at rest.
    with connection.cursor() as cur:
        cur.execute("SELECT note FROM care_caretask WHERE id = %s", [tasks[Touch.CALL].pk])
        raw = bytes(cur.fetchone()[0])
    assert "术后".encode() not in raw and len(raw) > 20


def test_pages_are_scoped_and_speak_chinese(care_world):
    from huzhu.accounts.models import User
    from huzhu.accounts.roles import Role
    from tests.conftest import PASSWORD

    w = care_world
    followups_scan(fund_region=w.province, as_of=AS_OF)
    f = FollowUp.objects.get(member=w.members[3])
    county = User.objects.create_user(username="xianli", password=PASSWORD,
                                      role=Role.COUNTY_STAFF, organisation=w.county_a,
                                      display_name="县关怀")
    c = Client()
    c.force_login(county)
    body = c.get("/care/").content.decode()
    assert "钱*" in body and "孙*" in body and "钱二" not in body
    detail = c.get(f"/care/{f.pk}/").content.decode()
    assert "问候电话" in detail and "政策宣传报道" in detail
    call = CareTask.objects.get(followup=f, kind=Touch.CALL)
    r = c.post(f"/care/{f.pk}/tasks/{call.pk}/", {"note": ""}, follow=True)
    assert "问候电话：请填写办理记录" in r.content.decode()
    r = c.post(f"/care/{f.pk}/phone/")
    assert w.members[3].phone in r.content.decode()
    seen = Event.objects.get(action=Action.PII_REVEALED, object_id=str(w.members[3].pk),
                             actor_id=county.pk)
    assert seen.after == {"field": "phone", "purpose": "重病关怀问候电话", "followup": f.pk}
    assert seen.outcome != "denied"
    # Not a fund region's union: no rule page, no scan.
    assert c.get("/care/rule/").status_code == 403
    assert c.post("/care/scan/").status_code == 403
    # Another region's county clerk sees none of it.
    outsider = Client()
    outsider.force_login(w.clerk_b)
    assert outsider.get(f"/care/{f.pk}/").status_code == 404
    assert outsider.post(f"/care/{f.pk}/tasks/{call.pk}/", {"note": "篡改"}).status_code == 404
    assert outsider.post(f"/care/{f.pk}/phone/").status_code == 404
    assert "钱*" not in outsider.get("/care/").content.decode()
    # Roles without the follow-up's work: refused.
    finance = Client()
    finance.force_login(w.qianjiu)
    assert finance.get("/care/").status_code == 403
    # The home page tells the county what is overdue.
    CareTask.objects.filter(followup=f).update(due_on=AS_OF - datetime.timedelta(days=3))
    home = c.get("/").content.decode()
    assert "5 项重病关怀事项已逾期" in home


def test_the_rule_page_of_a_fund_region(care_world):
    from huzhu.accounts.models import User
    from huzhu.accounts.roles import Role
    from tests.conftest import PASSWORD

    w = care_world
    region_staff = User.objects.create_user(username="shengjing", password=PASSWORD,
                                            role=Role.CITY_STAFF, organisation=w.province,
                                            display_name="省经办")
    c = Client()
    c.force_login(region_staff)
    r = c.post("/care/rule/", {"enabled": "on", "min_benefit": "五万", "diseases": "C",
                               "working_days": "x"})
    assert r.status_code == 400
    body = r.content.decode()
    assert "请填写金额" in body and "请填写工作日天数" in body
    assert CareRule.objects.get(fund_region=w.province).min_benefit_fen == 200_000
    r = c.post("/care/rule/", {"enabled": "on", "min_benefit": "1000.00", "diseases": "C",
                               "working_days": "5"})
    assert r.status_code == 302
    assert CareRule.objects.get(fund_region=w.province).min_benefit_fen == 100_000
    r = c.post("/care/scan/", follow=True)
    assert "新开启" in r.content.decode()
    assert FollowUp.objects.count() == 3  # every member with 1,000 元 or more now


@pytest.mark.skipif("connection.vendor != 'postgresql'",
                    reason="SQLite serialises every writer; the race needs PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_two_scans_at_once_open_each_follow_up_once(request):
    from tests.concurrency import run_together

    w = request.getfixturevalue("care_world")
    results = run_together([lambda: followups_scan(fund_region=w.province, as_of=AS_OF)
                            for _ in range(4)])
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(r.opened for r in results) == 2
    assert FollowUp.objects.count() == 2 and CareTask.objects.count() == 10
