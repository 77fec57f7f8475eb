"""Enrollment-season load on the platform (issue 13 part 9), for ``bench/load.py``.

Four kinds of people, each waiting 5-15 s between actions (the bureau's delivery excepted):

- unit agents (经办人): the unit's enrollment page, the roster template, a roster of five new
  people uploaded, checked and committed;
- members: their cover and their claims;
- reviewers: the review queue and the claims in it;
- the bureau: a settlement delivery running, one record a second through the API.

The configuration (accounts, ids, the token, the records to push) comes from the JSON file
named by ``HUZHU_LOAD_CONFIG``, written by bench/load.py. What the users created (members
committed, settlements stored) is written to ``HUZHU_LOAD_TALLY`` when the run stops, for the
before/after comparison.

Logging in is :func:`login`, one function: a second factor for staff (TOTP) goes there.
"""

from __future__ import annotations

import datetime
import io
import json
import os
import random
import re
import threading
from typing import Any

from locust import HttpUser, between, constant_pacing, events, task

CONFIG: dict[str, Any] = json.loads(open(os.environ["HUZHU_LOAD_CONFIG"]).read())
TALLY = {"members_committed": 0, "rosters_committed": 0, "settlements_created": 0,
         "settlements_pushed": 0}
_lock = threading.Lock()
_serial = iter(range(10**9))
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
CLAIM_LINK = re.compile(r'href="/claims/(\d+)/"')


_logged_in = 0


def _logged(user: HttpUser) -> None:
    """Once every person has logged in, start the statistics afresh: the logins (a slow
    password hash by design) are the ramp, not the season."""
    global _logged_in
    with _lock:
        _logged_in += 1
        n = _logged_in
    runner = user.environment.runner
    if runner is not None and n == runner.target_user_count - 1:  # the bureau does not log in
        runner.stats.reset_all()


def count(key: str, n: int = 1) -> None:
    with _lock:
        TALLY[key] += n


@events.test_stop.add_listener
def _write_tally(**_: Any) -> None:
    path = os.environ.get("HUZHU_LOAD_TALLY")
    if path:
        with open(path, "w") as handle:
            json.dump(TALLY, handle)


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    if not found:
        raise RuntimeError("no CSRF token on the page")
    return found.group(1)


def login(user: HttpUser, role: str) -> None:
    """Log in through the login page as the configured account of ``role``. The one place to
    add a second factor (a TOTP code from the account's secret) when staff need one."""
    username, password = CONFIG["accounts"][role]
    page = user.client.get("/login/", name="/login/")
    with user.client.post("/login/", name="/login/ [POST]", catch_response=True,
                          data={"username": username, "password": password,
                                "csrfmiddlewaretoken": csrf_of(page.text)},
                          headers={"Referer": user.host + "/login/"}) as response:
        if "/login/" in response.url:
            response.failure(f"login of {username} failed")
            return
    _logged(user)


class Agent(HttpUser):
    weight = 3
    wait_time = between(5, 15)

    def on_start(self) -> None:
        login(self, "agent")
        self.unit = CONFIG["unit_id"]

    @task(4)
    def unit_page(self) -> None:
        self.client.get(f"/enrollment/units/{self.unit}/", name="/enrollment/units/[id]/")

    @task(2)
    def template(self) -> None:
        self.client.get(f"/enrollment/units/{self.unit}/template.xlsx",
                        name="/enrollment/units/[id]/template.xlsx")

    @task(1)
    def roster(self) -> None:
        page = self.client.get(f"/enrollment/units/{self.unit}/", name="/enrollment/units/[id]/")
        data = roster_file(5)
        response = self.client.post(
            f"/enrollment/units/{self.unit}/upload/", name="/enrollment/units/[id]/upload/",
            data={"csrfmiddlewaretoken": csrf_of(page.text)},
            files={"file": ("花名册.xlsx", data, "application/vnd.openxmlformats-"
                                                "officedocument.spreadsheetml.sheet")},
            headers={"Referer": self.host + "/"})
        found = re.search(r"/enrollment/rosters/(\d+)/", response.url)
        if not found:
            return
        roster = found.group(1)
        with self.client.post(f"/enrollment/rosters/{roster}/commit/",
                              name="/enrollment/rosters/[id]/commit/",
                              data={"csrfmiddlewaretoken": csrf_of(response.text)},
                              headers={"Referer": self.host + "/"},
                              catch_response=True) as done:
            made = re.search(r"新增会员 (\d+) 人", done.text)
            if made:
                count("members_committed", int(made.group(1)))
                count("rosters_committed")
            else:
                done.failure("roster not committed")


def roster_file(rows: int) -> bytes:
    import xlsxwriter

    from huzhu.demo.identities import resident_id

    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    sheet = book.add_worksheet("花名册")
    sheet.write_row(0, 0, CONFIG["roster_headers"])
    base = CONFIG["roster_seed"]
    for r in range(rows):
        n = base + next(_serial)
        birth = datetime.date(1970, 1, 1) + datetime.timedelta(days=n % 12000)
        values = [f"压测{n}", resident_id("450103", birth, (n // 12000) % 1000), "", "", "",
                  "职工医保", "是", "否", "否", "否", CONFIG["product_name"], "1"]
        for c, v in enumerate(values):
            sheet.write_string(r + 1, c, v)
    book.close()
    return out.getvalue()


class Member(HttpUser):
    weight = 5
    wait_time = between(5, 15)

    def on_start(self) -> None:
        login(self, "member")

    @task(1)
    def home(self) -> None:
        self.client.get("/", name="/")

    @task(3)
    def cover(self) -> None:
        self.client.get(f"/enrollment/members/{CONFIG['member_id']}/",
                        name="/enrollment/members/[id]/")

    @task(3)
    def claims(self) -> None:
        self.client.get("/claims/mine/", name="/claims/mine/")


class Reviewer(HttpUser):
    weight = 2
    wait_time = between(5, 15)

    def on_start(self) -> None:
        login(self, "reviewer")
        self.claims: list[str] = []

    @task(2)
    def queue(self) -> None:
        page = self.client.get("/claims/queue/", name="/claims/queue/")
        self.claims = CLAIM_LINK.findall(page.text)[:20] or self.claims

    @task(3)
    def claim(self) -> None:
        if self.claims:
            self.client.get(f"/claims/{random.choice(self.claims)}/", name="/claims/[id]/")


class Bureau(HttpUser):
    """The bureau's interface pushing one delivery: one record a second."""

    fixed_count = 1
    wait_time = constant_pacing(1)

    def on_start(self) -> None:
        self.records = iter(CONFIG["settlements"])

    @task
    def push(self) -> None:
        record = next(self.records, None)
        if record is None:
            return
        with self.client.post("/api/claims/settlements", name="/api/claims/settlements",
                              json=record, catch_response=True,
                              headers={"Authorization": f"Bearer {CONFIG['bureau_token']}"}
                              ) as response:
            count("settlements_pushed")
            if response.status_code in (200, 201):
                if response.json().get("outcome") in ("created", "version"):  # a new row
                    count("settlements_created")
            else:
                response.failure(f"push answered {response.status_code}")
