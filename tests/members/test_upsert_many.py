"""members_upsert_many: the set-wise members service a roster commit writes members through.
A roster changing a member records the event the member page records for the same change
(masked); new members get their creation events; nothing personal is in clear in an event;
the same roster again changes nothing and records no member events."""

from __future__ import annotations

import datetime
import json
from typing import Any

import pytest

from huzhu.audit.models import Event
from huzhu.audit.services import chain_verify
from huzhu.demo.identities import bank_card, resident_id
from huzhu.enrollment.models import Enrollment
from huzhu.enrollment.services import roster_check, roster_confirm, roster_upload
from huzhu.members.models import Member
from huzhu.members.services import (
    MemberInput,
    MemberUpsert,
    member_clean,
    member_snapshot,
    member_update,
    members_upsert_many,
)
from tests.enrollment.conftest import HEADERS, add_period, person, xlsx


@pytest.fixture
def period_world(world: Any) -> Any:
    return add_period(world)


def new_id(day: int, order: int = 11) -> str:
    return resident_id("450103", datetime.date(1985, 3, day), order)


def commit(w: Any, data: bytes, name: str = "花名册.xlsx") -> dict[str, int]:
    roster, created = roster_upload(unit=w.unit_a, period=w.period, file_name=name, data=data,
                                    actor=w.lisi)
    assert created
    roster_check(roster)
    return roster_confirm(roster=roster, actor=w.lisi)


def csv(rows: list[dict[str, str]]) -> bytes:
    """The same rows as a UTF-8 CSV: another file (another roster) with the same content."""
    lines = [",".join(HEADERS)] + [",".join(row.get(h, "") for h in HEADERS) for row in rows]
    return ("\ufeff" + "\n".join(lines) + "\n").encode()


def masked_card(card: str) -> str:
    return f"{card[:4]} **** **** **** {card[-4:]}"  # 19 digits: first 4 and last 4 kept


def member_events(action: str | None = None) -> Any:
    qs = Event.objects.filter(object_type="members.member")
    return qs.filter(action=action) if action else qs


def event_text(e: Event) -> str:
    return json.dumps([e.before, e.after, e.org_path, e.object_id, e.actor_label],
                      ensure_ascii=False)


def zhangsan_row(w: Any, **extra: str) -> dict[str, str]:
    """张三 as the roster lists him: his own phone, so only what ``extra`` says changes."""
    return person("张三", w.zhangsan.id_number, w.medical.product_version.name,
                  **{"手机号": w.zhangsan.phone, **extra})


def test_a_roster_card_change_records_what_the_member_page_records(period_world):
    w = period_world
    old_card, old_bank = w.zhangsan.bank_card, w.zhangsan.bank_name
    new_card = bank_card(7795)
    counts = commit(w, xlsx([zhangsan_row(w, 银行卡号=new_card, 开户行="中国银行南宁分行")]))
    assert counts == {"members_created": 0, "members_updated": 1, "enrollments": 1}
    by_roster = member_events("member.updated").get(object_id=str(w.zhangsan.pk))
    # The roster's 开户行 text is tied to the bank list: the entry's name and 联行号 stored.
    assert old_bank == "中国工商银行"  # the fixture's 中国工商银行南宁分行, tied to the list
    assert by_roster.before == {"bank_card": masked_card(old_card), "bank_name": old_bank,
                                "bank_cnaps": "102100099996"}
    assert by_roster.after == {"bank_card": masked_card(new_card), "bank_name": "中国银行",
                               "bank_cnaps": "104100000004"}
    assert by_roster.actor_id == w.lisi.pk
    stored = Member.objects.get(pk=w.zhangsan.pk)
    assert (stored.bank_card, stored.bank_name) == (new_card, "中国银行")

    # The member page changing the card back records the mirror image, in the same shape.
    member_update(actor=w.wangwu, member=stored, data=MemberInput(
        name="张三", id_number=stored.id_number, phone=stored.phone or "", bank_card=old_card,
        bank_cnaps="102100099996", unit=w.unit_a))
    by_page = member_events("member.updated").get(object_id=str(w.zhangsan.pk),
                                                  actor_id=w.wangwu.pk)
    assert (by_page.before, by_page.after) == (by_roster.after, by_roster.before)
    assert (by_page.object_type, by_page.org_path) == (by_roster.object_type, by_roster.org_path)
    for e in (by_roster, by_page):
        assert old_card not in event_text(e) and new_card not in event_text(e)
    assert list(chain_verify()) == []


def test_a_transfer_and_a_new_phone_are_recorded_masked(period_world):
    w = period_world
    row = person("孙七", w.sunqi.id_number, w.medical.product_version.name,
                 手机号="13698765432", 困难职工="是")
    assert commit(w, xlsx([row]))["members_updated"] == 1
    e = member_events("member.updated").get(object_id=str(w.sunqi.pk))
    assert e.before == {"phone": "137****5678", "unit": w.unit_b.pk,
                        "organisation": w.grassroots_b.pk, "is_hardship": False}
    assert e.after == {"phone": "136****5432", "unit": w.unit_a.pk,
                       "organisation": w.grassroots_a.pk, "is_hardship": True}
    assert e.org_path == w.unit_a.org_path
    sunqi = Member.objects.get(pk=w.sunqi.pk)
    assert (sunqi.unit_id, sunqi.org_path, sunqi.phone) == (w.unit_a.pk, w.unit_a.org_path,
                                                            "13698765432")


def test_new_members_get_their_creation_events(period_world):
    w = period_world
    product = w.medical.product_version.name
    rows = [person("刘一", new_id(1), product, 银行卡号=bank_card(1001), 开户行="中国工商银行"),
            person("刘二", new_id(2, 22), product, 手机号="13955556666", 劳模工匠="是"),
            zhangsan_row(w)]
    assert commit(w, xlsx(rows)) == {"members_created": 2, "members_updated": 0,
                                     "enrollments": 3}
    created = {e.object_id: e for e in member_events("member.created")
               .filter(actor_id=w.lisi.pk)}
    members = Member.objects.filter(name__in=["刘一", "刘二"])
    assert set(created) == {str(m.pk) for m in members}
    world_made = member_events("member.created").get(object_id=str(w.zhangsan.pk))
    for m in members:
        e = created[str(m.pk)]
        # Exactly what member_create records for the stored member.
        assert e.after == member_snapshot(m) and e.before is None
        assert set(e.after) == set(world_made.after)
        assert (e.object_type, e.org_path, e.actor_label) == ("members.member", m.org_path,
                                                              "lisi")
    liu = Member.objects.get(name="刘一")
    assert created[str(liu.pk)].after["bank_card"] == masked_card(bank_card(1001))
    assert created[str(liu.pk)].after["id_number"] == new_id(1)[:6] + "********" + new_id(1)[-4:]
    assert not member_events("member.updated").exists()  # 张三 as he is: not written
    assert Event.objects.filter(action="roster.committed").get().after["members_created"] == 2
    assert list(chain_verify()) == []


def test_nothing_personal_is_in_clear_in_any_event(period_world):
    w = period_world
    product = w.medical.product_version.name
    rows = [person("刘一", new_id(1), product, 手机号="13955556666", 银行卡号=bank_card(1001)),
            person("刘二", new_id(2, 22), product, 手机号="13977778888",
                   银行卡号=bank_card(1002)),
            zhangsan_row(w, 手机号="13811112222", 银行卡号=bank_card(1003)),
            person("陈八", w.chenba.id_number, product, 手机号="13922223333",
                   银行卡号=bank_card(1004))]
    commit(w, xlsx(rows))
    secrets = {new_id(1), new_id(2, 22), w.zhangsan.id_number, w.chenba.id_number,
               w.zhangsan.phone, w.chenba.phone, w.zhangsan.bank_card}
    secrets |= {r["手机号"] for r in rows} | {r["银行卡号"] for r in rows}
    events = list(Event.objects.all())
    assert member_events("member.created").count() >= 2 + 4  # the world's and the roster's
    assert member_events("member.updated").count() == 2
    for e in events:
        text = event_text(e)
        assert not [s for s in secrets if s and s in text], (e.action, text)


def test_the_same_roster_again_changes_nothing(period_world):
    w = period_world
    product = w.medical.product_version.name
    rows = [person("刘一", new_id(1), product, 银行卡号=bank_card(1001)),
            zhangsan_row(w, 银行卡号=bank_card(7795), 开户行="中国银行南宁分行"),
            person("孙七", w.sunqi.id_number, product)]
    first = commit(w, xlsx(rows))
    assert first == {"members_created": 1, "members_updated": 2, "enrollments": 3}
    members_before = {m.pk: (member_snapshot(m), m.updated_at) for m in Member.objects.all()}
    events_before = member_events().count()

    again = commit(w, csv(rows), name="花名册.csv")  # another file, the same people
    assert again == {"members_created": 0, "members_updated": 0, "enrollments": 0}
    assert member_events().count() == events_before
    assert {m.pk: (member_snapshot(m), m.updated_at)
            for m in Member.objects.all()} == members_before
    assert Event.objects.filter(action="roster.committed").count() == 2
    assert list(chain_verify()) == []


def test_a_person_listed_for_two_products_is_one_member(period_world):
    w = period_world
    medical, allowance = w.medical.product_version.name, w.allowance.product_version.name
    rows = [person("刘一", new_id(1), medical), person("刘一", new_id(1), allowance),
            zhangsan_row(w, 银行卡号=bank_card(7795)), zhangsan_row(w)]
    rows[3]["保障产品"] = allowance
    counts = commit(w, xlsx(rows))
    assert counts == {"members_created": 1, "members_updated": 1, "enrollments": 4}
    liu = Member.objects.get(name="刘一")
    assert Enrollment.objects.filter(member=liu).count() == 2
    assert Enrollment.objects.filter(member=w.zhangsan).count() == 2
    # The rows apply in order: the second row's blank card keeps the first row's new card.
    assert Member.objects.get(pk=w.zhangsan.pk).bank_card == bank_card(7795)
    assert member_events("member.created").filter(object_id=str(liu.pk)).count() == 1
    assert member_events("member.updated").filter(object_id=str(w.zhangsan.pk)).count() == 1


def test_the_service_alone_records_its_events_set_wise(period_world):
    w = period_world
    values = member_clean(MemberInput(name="刘三", id_number=new_id(3), phone="13955556666",
                                      unit=w.unit_b)).values
    seq_before = Event.objects.order_by("-seq").values_list("seq", flat=True).first()
    sunqi = member_clean(MemberInput(name="孙七", id_number=w.sunqi.id_number,
                                     phone="13955556666", unit=w.unit_b)).values
    done = members_upsert_many(actor=w.wangwu, people=[
        MemberUpsert(values), MemberUpsert(sunqi, w.sunqi.pk)])
    assert (done.created, done.updated, done.new_cards) == (1, 1, [])
    assert done.member_ids[1] == w.sunqi.pk
    made = Member.objects.get(pk=done.member_ids[0])
    assert (made.name, made.unit_id, made.org_path) == ("刘三", w.unit_b.pk, w.unit_b.org_path)
    events = list(Event.objects.filter(seq__gt=seq_before).order_by("seq"))
    assert [(e.action, e.object_id) for e in events] == [
        ("member.created", str(made.pk)), ("member.updated", str(w.sunqi.pk))]
    assert events[0].after == member_snapshot(made)
    assert events[1].before == {"phone": "137****5678"}
    assert events[1].after == {"phone": "139****6666"}
    assert list(chain_verify()) == []
