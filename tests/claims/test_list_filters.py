"""Lists staff can work with (issue 17 part 5): the claims list filtered by state, name, dates,
product, union, level and source in the database; a member found by ID number through a POST
(the number never in a URL); the filtered list exported to xlsx, masked and recorded; the
review queue narrowed by level, union and deadline. Nothing outside the user's scope leaks in
through a filter."""

from __future__ import annotations

import datetime
import io
from typing import Any

import pytest
from django.test import Client

from huzhu.audit.models import Action, Event
from tests.enrollment.conftest import period_world  # noqa: F401
from tests.payouts.conftest import file_claim, pay_world  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def listed(pay_world: Any) -> Any:  # noqa: F811
    w = pay_world
    w.c1 = file_claim(w, w.members[2], "LF-1", begin=datetime.date(2026, 3, 2))
    w.c2 = file_claim(w, w.members[3], "LF-2", begin=datetime.date(2026, 6, 1))
    w.c3 = file_claim(w, w.members[4], "LF-3", begin=datetime.date(2026, 9, 1))
    return w


def ids(response: Any) -> set[int]:
    import re

    body = response.content.decode().split('id="claims"', 1)[1]
    return {int(x) for x in re.findall(r'href="/claims/(\d+)/"', body)}


def client(user: Any) -> Client:
    c = Client()
    c.force_login(user)
    return c


def test_filters_narrow_the_list_in_the_database(listed):
    w = listed
    c = client(w.qianjiu)
    assert ids(c.get("/claims/")) == {w.c1.pk, w.c2.pk, w.c3.pk}
    assert ids(c.get("/claims/?date_from=2026-05-01&date_to=2026-08-31")) == {w.c2.pk}
    assert ids(c.get(f"/claims/?q={w.members[4].name}")) == {w.c3.pk}
    assert ids(c.get(f"/claims/?org={w.county_a.pk}&source=agent")) == {
        w.c1.pk, w.c2.pk, w.c3.pk}
    assert ids(c.get("/claims/?source=member")) == set()
    r = c.get("/claims/?date_from=2026-13-01")
    assert "日期格式应为 YYYY-MM-DD" in r.content.decode() and ids(r) == {
        w.c1.pk, w.c2.pk, w.c3.pk}


def test_an_organisation_outside_the_scope_shows_nothing(listed):
    w = listed
    c = client(w.finance_b)  # 北海 finance
    r = c.get(f"/claims/?org={w.county_a.pk}")
    assert ids(r) == set() and "不在您的管理范围内的组织" in r.content.decode()
    assert ids(c.get(f"/claims/?member={w.members[2].pk}")) == set()


def test_the_id_number_is_posted_never_in_the_url(listed):
    w = listed
    c = client(w.qianjiu)
    number = w.members[3].id_number
    r = c.post("/claims/find/", {"id_number": number})
    assert r.status_code == 302 and number not in r["Location"]
    assert r["Location"] == f"/claims/?member={w.members[3].pk}"
    assert ids(c.get(r["Location"])) == {w.c2.pk}
    # Another region's finance officer cannot find him: the same answer as an unknown number.
    r = client(w.finance_b).post("/claims/find/", {"id_number": number}, follow=True)
    assert "在您的管理范围内没有找到该会员" in r.content.decode()
    assert c.get("/claims/find/").status_code == 405


def test_the_export_is_the_filtered_list_masked_and_recorded(listed):
    from openpyxl import load_workbook

    w = listed
    c = client(w.qianjiu)
    r = c.get("/claims/export.xlsx?date_from=2026-05-01")
    assert r.status_code == 200
    ws = load_workbook(io.BytesIO(r.content)).active
    rows = [[cell.value for cell in row] for row in ws.iter_rows()]
    assert rows[0][:3] == ["理赔编号", "会员", "身份证号（脱敏）"]
    exported = {row[0] for row in rows[1:] if isinstance(row[0], int)}
    assert exported == {w.c2.pk, w.c3.pk}
    flat = " ".join(str(v) for row in rows for v in row if v is not None)
    assert w.members[3].id_number not in flat and "钱*" in flat
    assert "导出人：qianjiu" in flat
    event = Event.objects.filter(action=Action.EXPORT, object_type="claims.claim").get()
    assert event.after["rows"] == 2 and event.after["filters"] == {"date_from": "2026-05-01"}
    assert client(w.zhangsan_user).get("/claims/export.xlsx").status_code == 403


def test_the_queue_narrows_by_level_union_and_deadline(listed):
    from huzhu.claims.models import ClaimPolicy, ReviewLevel
    from tests.claims.conftest import MEDICAL

    w = listed
    ClaimPolicy.objects.create(product_code=MEDICAL, sample_percent=100)
    ReviewLevel.objects.create(fund_region=w.province, level=1, name="县级初审",
                               org_kind="county", working_days=2)
    ReviewLevel.objects.create(fund_region=w.province, level=2, name="协会终审",
                               org_kind="region", working_days=2)
    q1 = file_claim(w, w.members[5], "LF-Q1", begin=datetime.date(2026, 10, 1))
    q2 = file_claim(w, w.members[6], "LF-Q2", begin=datetime.date(2026, 10, 11))
    from huzhu.claims.models import Claim

    Claim.objects.filter(pk=q2.pk).update(review_level=2, due_on=datetime.date(2020, 1, 2))
    c = client(w.top_reviewer)

    def queue(query: str) -> set[int]:
        import re

        body = c.get(f"/claims/queue/{query}").content.decode().split('id="queue"', 1)[1]
        return {int(x) for x in re.findall(r'href="/claims/(\d+)/"', body)}

    assert queue("") == {q1.pk, q2.pk}
    assert queue("?level=2") == {q2.pk}
    assert queue("?level=1") == {q1.pk}
    assert queue("?due=overdue") == {q2.pk}
    assert queue(f"?org={w.county_a.pk}") == {q1.pk, q2.pk}
    assert queue(f"?org={w.county_rb.pk}") == set()
