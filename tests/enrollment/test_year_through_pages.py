"""A union runs its scheme year through the pages only (issue 14, "done when"): the province
opens the period and offers a product, a new version of the product is drafted in the browser and
activated for the period only once a second person approves it, targets go down two levels, the system
administrator opens an agent's account in bulk (first password by SMS), the agent logs in,
changes it and enrolls the unit's members, a member signs up himself, and completion shows at
every level."""

from __future__ import annotations

import datetime
import io
from typing import Any

import pytest
import time_machine
import xlsxwriter
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from huzhu.accounts.models import User
from huzhu.enrollment.models import Enrollment, Roster, RosterStatus
from huzhu.notices.models import OutboxMessage
from huzhu.notices.services import open_params, outbox_send
from huzhu.products.models import Offer, Period, Target

from ..web.test_account_pages import Capture
from .conftest import person, xlsx

pytestmark = pytest.mark.django_db


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_year_through_the_pages(world: Any) -> None:
    from huzhu.products.services import catalog_import

    versions = {v.code: v for v in catalog_import()}  # part 4 loads versions; not this walk
    medical = versions["chongqing-2015-medical"]
    province = User.objects.create_user(username="sheng", password="x", role="city_staff",
                                        organisation=world.province)
    nanning = User.objects.create_user(username="nanning", password="x", role="city_staff",
                                       organisation=world.city_a)
    with time_machine.travel("2026-10-20 10:00 +0800", tick=False) as traveller:
        # 1. The province opens 2027 (its first period) and offers the medical product.
        p = _client(province)
        assert p.post("/scheme/periods/new/", {
            "code": "2027", "name": "2027 年度", "enroll_opens": "2026-11-01",
            "enroll_closes": "2026-12-31", "coverage_start": "2027-01-01",
            "coverage_end": "2027-12-31"}).status_code == 302
        period = Period.objects.get(code="2027")
        assert p.post(f"/scheme/periods/{period.pk}/", {
            "organisation": world.province.pk, "product_version": medical.pk,
            "premium_yuan": "110", "fixed_employer": "50", "rest_payer": "member",
            "gift_flags": ["hardship"], "gift_payer": "union_province"}).status_code == 302
        offer = Offer.objects.get(period=period)
        # 1b. Finance drafts version 2027.1 (the inpatient ratio from 70 % to 75 %), proposes it
        # from 2027-01-01; the proposer cannot approve it, a second finance officer does, and
        # the period's offer moves to the new version.
        from huzhu.products.models import DraftStatus, ProductDraft, ProductVersion

        document = medical.document.replace('version = "2015.1"', 'version = "2027.1"', 1)
        assert document != medical.document
        fin = _client(world.qianjiu)
        assert fin.post(f"/products/drafts/new/?base={medical.pk}",
                        {"base": medical.pk, "document": document}).status_code == 302
        draft = ProductDraft.objects.get()
        fin.post(f"/products/drafts/{draft.pk}/propose/", {"effective_from": "2027-01-01"})
        fin.post(f"/products/drafts/{draft.pk}/decide/", {"decision": "approve"})
        draft.refresh_from_db()
        assert draft.status == DraftStatus.PROPOSED  # four eyes: not the proposer
        checker = User.objects.create_user(username="fuhe", password="x", role="finance",
                                           organisation=world.province)
        _client(checker).post(f"/products/drafts/{draft.pk}/decide/",
                              {"decision": "approve", "note": "同意"})
        draft.refresh_from_db()
        new_version = ProductVersion.objects.get(code=medical.code, version="2027.1")
        assert draft.status == DraftStatus.APPROVED and draft.result == new_version
        offer.refresh_from_db()
        assert offer.product_version == new_version
        # 2. Targets: the province to Nanning, Nanning to 青秀区.
        targets = f"/scheme/periods/{period.pk}/targets/"
        p.post(targets, {"org": world.province.pk, f"target_{world.city_a.pk}": "10"})
        _client(nanning).post(targets, {"org": world.city_a.pk,
                                        f"target_{world.county_a.pk}": "4"})
        assert dict(Target.objects.values_list("organisation__name", "members")) == {
            "南宁市总工会": 10, "青秀区总工会": 4}
        # 3. The system administrator opens the agent's account for unit A in bulk.
        out = io.BytesIO()
        book = xlsxwriter.Workbook(out, {"in_memory": True})
        ws = book.add_worksheet("经办人")
        for c, v in enumerate(["统一社会信用代码", "经办人姓名", "手机号", "用户名"]):
            ws.write_string(0, c, v)
        for c, v in enumerate([world.unit_a.uscc, "何经办", "13600001234", "hejingban"]):
            ws.write_string(1, c, v)
        book.close()
        upload = SimpleUploadedFile("agents.xlsx", out.getvalue())
        assert _client(world.sysadmin).post("/users/agents/bulk/",
                                            {"file": upload}).status_code == 302
        captured = Capture()
        outbox_send(gateway=captured)
        first = next(r.params["password"] for r in captured.requests
                     if r.template == "AGENT_ACCOUNT")
        # 4. Enrollment opens on 1 November: the agent logs in, must change the password first.
        traveller.move_to("2026-11-02 09:00 +0800")
        agent = Client()
        assert agent.post("/login/", {"username": "hejingban",
                                      "password": first}).status_code == 302
        assert agent.get("/").status_code == 302  # sent to change the password
        assert agent.post("/account/password/", {
            "old_password": first, "new_password1": "Jingban-2027!x",
            "new_password2": "Jingban-2027!x"}).status_code == 302
        page = agent.get(f"/enrollment/units/{world.unit_a.pk}/").content.decode()
        assert "2027 年度" in page and "距参保截止" in page
        uploaded = agent.post(f"/enrollment/units/{world.unit_a.pk}/upload/", {
            "file": SimpleUploadedFile("花名册.xlsx", xlsx([
                person("张三", world.zhangsan.id_number, medical.name, 手机号="13812341234"),
                person("陈八", world.chenba.id_number, medical.name, 困难职工="是",
                       手机号="13912345678")])),
            "period": period.pk})
        assert uploaded.status_code == 302
        roster = Roster.objects.get(period=period)
        assert roster.status == RosterStatus.VALID, roster.errors
        agent.post(f"/enrollment/rosters/{roster.pk}/commit/")
        enrolled = Enrollment.objects.filter(period=period, offer=offer)
        assert enrolled.count() == 2
        assert {e.product_version_id for e in enrolled} == {new_version.pk}
        gifted = enrolled.get(member=world.chenba)
        assert gifted.gifted and gifted.split == [{"payer": "union_province", "fen": 11000}]
        # 5. 陈八 signs up himself.
        member = Client()
        member.post("/signup/", {"step": "request", "id_number": world.chenba.id_number,
                                 "name": "陈八", "phone": "13912345678"})
        code = open_params(OutboxMessage.objects.get(template="SIGNUP_CODE").params)["code"]
        assert member.post("/signup/", {
            "step": "confirm", "id_number": world.chenba.id_number, "name": "陈八",
            "phone": "13912345678", "code": code, "username": "chenba",
            "password": "Chenba-Mutual-2027"}).status_code == 302
        assert member.post("/login/", {"username": "chenba",
                                       "password": "Chenba-Mutual-2027"}).status_code == 302
        assert "2027 年度" in member.get(
            f"/enrollment/members/{world.chenba.pk}/").content.decode()
        # 6. Completion shows at every level; unit A is no longer "not enrolled".
        page = _client(nanning).get(targets, {"org": world.city_a.pk}).content.decode()
        assert "50%" in page  # 青秀区: 2 of 4
        listed = _client(nanning).get(f"/scheme/periods/{period.pk}/not-enrolled/",
                                      {"org": world.city_a.pk}).content.decode()
        assert "南宁示范机械厂" not in listed
        assert period.enroll_opens <= datetime.date(2026, 11, 2) <= period.enroll_closes
