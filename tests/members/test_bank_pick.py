"""The member's 开户行 is chosen from the bank list (its 联行号), not typed: on the staff member
form, in the portal's card change and through the members API. Anything else is refused in
Chinese naming the field, and nothing is saved; a chosen entry is what the payout line takes."""

from __future__ import annotations

import datetime
import re

from django.test import Client
from django.urls import reverse

from huzhu.audit.models import Event
from huzhu.demo.identities import bank_card, resident_id
from huzhu.members.models import Member
from huzhu.notices.models import OutboxMessage
from huzhu.payouts import banklist
from huzhu.payouts.models import BankNameMatch, PayeeBank, PayoutLine
from huzhu.payouts.services import batch_build
from huzhu.portal.models import CardChange
from tests.api.conftest import api_as  # noqa: F401
from tests.claims.conftest import claims_world, money_world, period_world  # noqa: F401
from tests.payouts.conftest import file_claim, pay_world  # noqa: F401
from tests.portal.conftest import portal_world  # noqa: F401

CCB, ICBC, ABC = "105100000017", "102100099996", "103100000026"
NEW_ID = resident_id("450103", datetime.date(1991, 6, 6), 35)
MESSAGE = "开户行请从银行名录中选择"


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def field_errors(html: str, field: str) -> str:
    match = re.search(rf'<ul class="errorlist" data-field="{field}">(.*?)</ul>', html, re.S)
    return match.group(1) if match else ""


def member_post(world, **overrides):
    data = {"name": "林选", "id_number": NEW_ID, "phone": "13811113333",
            "bank_card": "6225881414207430", "bank_cnaps": CCB, "insurance_type": "employee",
            "employment_status": "employed", "unit": world.unit_a.pk, "is_union_member": "on"}
    data.update(overrides)
    return data


# --------------------------------------------------------------------- staff member form


def test_the_form_offers_the_bank_list_as_a_select_with_a_search_hook(world):
    html = client_for(world.wangwu).get(reverse("web:member_create")).content.decode()
    select = re.search(r'<select name="bank_cnaps"[^>]*>(.*?)</select>', html, re.S)
    assert select is not None and "data-bank-pick" in select.group(0)
    assert f'<option value="{CCB}">中国建设银行（北京）</option>' in select.group(1)
    assert "开户行" in html


def test_an_unknown_bank_is_refused_naming_the_field_and_nothing_is_saved(world):
    before = (Member.objects.count(), Event.objects.count())
    for value in ("999999999999", "中国建设银行", "10510000001"):
        response = client_for(world.wangwu).post(reverse("web:member_create"),
                                                 member_post(world, bank_cnaps=value))
        assert response.status_code == 200
        assert MESSAGE in field_errors(response.content.decode(), "bank_cnaps")
    assert (Member.objects.count(), Event.objects.count()) == before


def test_an_inactive_entry_is_refused(world):
    banklist.ensure_shipped()
    PayeeBank.objects.filter(cnaps=CCB).update(active=False)
    response = client_for(world.wangwu).post(reverse("web:member_create"), member_post(world))
    assert MESSAGE in field_errors(response.content.decode(), "bank_cnaps")
    assert not Member.objects.filter(name="林选").exists()


def test_a_list_entry_is_stored_as_its_code_and_name_and_audited(world):
    response = client_for(world.wangwu).post(reverse("web:member_create"), member_post(world))
    assert response.status_code == 302
    member = Member.objects.get(name="林选")
    assert (member.bank_cnaps, member.bank_name) == (CCB, "中国建设银行")
    event = Event.objects.get(action="member.created", object_id=str(member.pk))
    assert event.after["bank_cnaps"] == CCB and event.after["bank_name"] == "中国建设银行"
    # Another entry chosen on edit replaces both; the event names the change.
    client_for(world.wangwu).post(reverse("web:member_edit", args=[member.pk]),
                                  member_post(world, id_number="", phone="", bank_card="",
                                              bank_cnaps=ABC))
    member.refresh_from_db()
    assert (member.bank_cnaps, member.bank_name) == (ABC, "中国农业银行")
    changed = Event.objects.filter(action="member.updated", object_id=str(member.pk)).last()
    assert changed.before["bank_cnaps"] == CCB and changed.after["bank_cnaps"] == ABC


def test_a_legacy_text_bank_is_kept_when_left_unpicked_and_replaced_when_picked(world):
    Member.objects.filter(pk=world.zhangsan.pk).update(bank_name="某某村镇银行", bank_cnaps="")
    client = client_for(world.wangwu)
    detail = client.get(reverse("web:member_detail", args=[world.zhangsan.pk])).content.decode()
    assert "不在银行名录中，请编辑并从名录中选择" in detail
    page = client.get(reverse("web:member_edit", args=[world.zhangsan.pk])).content.decode()
    assert "原登记开户行“某某村镇银行”不在银行名录中" in page
    base = member_post(world, name="张三", id_number="", phone="", bank_card="", bank_cnaps="")
    assert client.post(reverse("web:member_edit", args=[world.zhangsan.pk]),
                       base).status_code == 302
    kept = Member.objects.get(pk=world.zhangsan.pk)
    assert (kept.bank_name, kept.bank_cnaps) == ("某某村镇银行", "")
    client.post(reverse("web:member_edit", args=[world.zhangsan.pk]), {**base, "bank_cnaps": ICBC})
    picked = Member.objects.get(pk=world.zhangsan.pk)
    assert (picked.bank_name, picked.bank_cnaps) == ("中国工商银行", ICBC)
    detail = client.get(reverse("web:member_detail", args=[world.zhangsan.pk])).content.decode()
    assert "不在银行名录中" not in detail


def test_another_regions_staff_cannot_set_the_bank(world):
    before = Member.objects.values_list("bank_name", "bank_cnaps").get(pk=world.zhangsan.pk)
    response = client_for(world.zhaoliu).post(
        reverse("web:member_edit", args=[world.zhangsan.pk]),
        member_post(world, name="张三", id_number="", phone="", bank_card="", bank_cnaps=ABC))
    assert response.status_code in {403, 404}
    assert Member.objects.values_list("bank_name", "bank_cnaps").get(
        pk=world.zhangsan.pk) == before


# --------------------------------------------------------------------- portal card change


def test_the_portal_card_change_refuses_a_bank_outside_the_list(portal_world):  # noqa: F811
    w = portal_world
    client = client_for(w.zhangsan_user)
    page = client.get(reverse("portal:card")).content.decode()
    assert 'name="bank_cnaps"' in page and "data-bank-pick" in page
    for value in ("中国工商银行南宁分行", "123456789012", ""):
        html = client.post(reverse("portal:card"), {"step": "send", "bank_card": bank_card(3446),
                                                    "bank_cnaps": value}).content.decode()
        words = MESSAGE if value else "请选择新卡的开户行"
        assert words in field_errors(html, "bank_cnaps"), value
    assert not CardChange.objects.exists()
    assert not OutboxMessage.objects.filter(template="VERIFY_CODE").exists()


def test_the_portal_card_change_stores_the_chosen_entry(portal_world):  # noqa: F811
    w = portal_world
    client = client_for(w.zhangsan_user)
    r = client.post(reverse("portal:card"), {"step": "send", "bank_card": bank_card(3446),
                                             "bank_cnaps": ABC})
    assert r.status_code == 302
    change = CardChange.objects.get()
    assert (change.bank_cnaps, change.bank_name) == (ABC, "中国农业银行")
    # Not the member's bank until the SMS code confirms the change.
    assert Member.objects.get(pk=w.zhangsan.pk).bank_cnaps != ABC


# --------------------------------------------------------------------- members API


def new_member(world, **overrides):
    body = {"name": "林接", "id_number": NEW_ID, "bank_card": bank_card(78),
            "unit": world.unit_a.pk}
    return {**body, **overrides}


def test_the_api_takes_a_code_from_the_list_and_returns_it(world, api_as):  # noqa: F811
    response = api_as(world.lisi).post("/members", new_member(world, bank_cnaps=ICBC))
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["bank_cnaps"], body["bank_name"]) == (ICBC, "中国工商银行")
    member_id = body["id"]
    got = api_as(world.lisi).get(f"/members/{member_id}").json()
    assert got["bank_cnaps"] == ICBC
    # A change of something else keeps the bank; a new code replaces it; blank clears it.
    patched = api_as(world.lisi).patch(f"/members/{member_id}", {"phone": "13800002222"})
    assert patched.json()["bank_cnaps"] == ICBC
    patched = api_as(world.lisi).patch(f"/members/{member_id}", {"bank_cnaps": CCB})
    assert (patched.json()["bank_cnaps"], patched.json()["bank_name"]) == (CCB, "中国建设银行")
    cleared = api_as(world.lisi).patch(f"/members/{member_id}", {"bank_cnaps": ""}).json()
    assert (cleared["bank_cnaps"], cleared["bank_name"]) == ("", "")


def test_the_api_ties_a_known_bank_text_to_its_entry(world, api_as):  # noqa: F811
    response = api_as(world.lisi).post("/members", new_member(world, bank_name="建行"))
    assert response.status_code == 201
    assert (response.json()["bank_cnaps"], response.json()["bank_name"]) == (CCB, "中国建设银行")


def test_the_api_refuses_a_code_or_text_outside_the_list(world, api_as):  # noqa: F811
    before = Member.objects.count()
    for field, value in (("bank_cnaps", "999999999999"), ("bank_cnaps", "abc"),
                         ("bank_name", "某某村镇银行")):
        response = api_as(world.lisi).post("/members", new_member(world, **{field: value}))
        assert response.status_code == 400, response.content
        assert response.json()["fields"] == {field: [MESSAGE]}
    assert Member.objects.count() == before
    member = Member.objects.get(pk=world.zhangsan.pk)
    response = api_as(world.lisi).patch(f"/members/{member.pk}", {"bank_cnaps": "999999999999"})
    assert response.status_code == 400 and response.json()["fields"] == {"bank_cnaps": [MESSAGE]}
    assert Member.objects.get(pk=member.pk).bank_cnaps == member.bank_cnaps


def test_the_api_cannot_set_the_bank_of_another_regions_member(world, api_as):  # noqa: F811
    before = Member.objects.values_list("bank_cnaps", flat=True).get(pk=world.zhangsan.pk)
    response = api_as(world.zhaoliu).patch(f"/members/{world.zhangsan.pk}", {"bank_cnaps": ABC})
    assert response.status_code in {403, 404}
    assert Member.objects.values_list("bank_cnaps", flat=True).get(pk=world.zhangsan.pk) == before


# --------------------------------------------------------------------- payouts


def test_the_payout_line_takes_the_members_chosen_entry_not_a_text_match(pay_world):  # noqa: F811
    w = pay_world
    banklist.ensure_shipped()
    branch = PayeeBank.objects.create(cnaps="102611000018", bank_code="102",
                                      name="中国工商银行南宁分行", city="南宁", province="广西")
    m = w.members[0]
    Member.objects.filter(pk=m.pk).update(bank_name=branch.name, bank_cnaps=branch.cnaps)
    # Staff once tied the same text to another entry: the member's choice wins, not the text.
    BankNameMatch.objects.create(text=branch.name, bank=PayeeBank.objects.get(cnaps=ABC))
    # A member with only a text still goes through matching (that tie, here).
    other = w.members[1]
    Member.objects.filter(pk=other.pk).update(bank_name=branch.name, bank_cnaps="")
    file_claim(w, m, "BK0", begin=datetime.date(2026, 3, 2))
    file_claim(w, other, "BK1", begin=datetime.date(2026, 3, 2))
    batch = batch_build(fund_region=w.province, actor=w.qianjiu).batch
    assert batch is not None
    lines = {ln.payout.member_id: ln for ln in PayoutLine.objects.filter(batch=batch)}
    assert (lines[m.pk].bank_cnaps, lines[m.pk].bank_name) == (branch.cnaps, branch.name)
    assert lines[other.pk].bank_cnaps == ABC


def test_a_chosen_entry_since_removed_from_the_list_is_left_for_staff(pay_world):  # noqa: F811
    w = pay_world
    m = w.members[0]
    Member.objects.filter(pk=m.pk).update(bank_name="中国建设银行", bank_cnaps=CCB)
    banklist.ensure_shipped()
    PayeeBank.objects.filter(cnaps=CCB).update(active=False)
    file_claim(w, m, "BK2", begin=datetime.date(2026, 3, 2))
    batch = batch_build(fund_region=w.province, actor=w.qianjiu).batch
    line = PayoutLine.objects.get(batch=batch, payout__member_id=m.pk)
    assert (line.bank_cnaps, line.bank_name) == ("", "中国建设银行")
