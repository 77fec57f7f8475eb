"""The event log: every change and login is recorded, and the chain shows tampering."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.urls import reverse

from huzhu.audit.models import Event
from huzhu.audit.services import chain_verify, event_record

from ..conftest import PASSWORD


def test_chain_of_the_world_verifies(world):
    assert list(chain_verify()) == []
    seqs = list(Event.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))
    call_command("audit_verify")


def _drop_update_guard() -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only")
        else:
            cursor.execute("DROP TRIGGER audit_event_no_update")


def test_verify_detects_a_tampered_row(world):
    event = Event.objects.filter(action="member.created").order_by("seq").first()
    _drop_update_guard()
    Event.objects.filter(pk=event.pk).update(after={"name": "李鬼"})
    problems = list(chain_verify())
    assert [p.seq for p in problems] == [event.seq]
    with pytest.raises(CommandError, match="事件日志校验失败"):
        call_command("audit_verify")


def test_verify_detects_a_deleted_row(world):
    event = Event.objects.order_by("seq")[3]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only")
        cursor.execute("DELETE FROM audit_event WHERE id = %s", [event.pk])
    messages = [p.message for p in chain_verify()]
    assert any("被删除" in m for m in messages)


def test_the_database_refuses_to_edit_an_event(world):
    event = Event.objects.order_by("seq").first()
    with pytest.raises(DatabaseError), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("UPDATE audit_event SET action = 'x' WHERE id = %s", [event.pk])


@pytest.mark.skipif("connection.vendor != 'postgresql'",
                    reason="the DELETE trigger is PostgreSQL's; SQLite refuses UPDATE only")
def test_postgresql_refuses_to_delete_an_event(world):
    event = Event.objects.order_by("seq").first()
    with pytest.raises(DatabaseError), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM audit_event WHERE id = %s", [event.pk])


def test_login_success_and_failure_are_recorded(world):
    client = Client()
    client.post(reverse("web:login"), {"username": "wangwu", "password": "wrong-password"})
    response = client.post(reverse("web:login"), {"username": "wangwu", "password": PASSWORD})
    assert response.status_code == 302
    actions = list(Event.objects.filter(actor_label="wangwu").order_by("seq")
                   .values_list("action", "outcome"))
    assert actions[-2:] == [("auth.login_failed", "failed"), ("auth.login", "ok")]
    assert Event.objects.filter(action="auth.login").last().request_id


def test_repeated_failures_lock_the_account(world, settings):
    settings.LOCKOUT_FAILURES = 3
    client = Client()
    for _ in range(3):
        client.post(reverse("web:login"), {"username": "wangwu", "password": "nope-nope"})
    response = client.post(reverse("web:login"), {"username": "wangwu", "password": PASSWORD})
    assert response.status_code == 200
    assert "锁定" in response.content.decode()
    assert Event.objects.filter(action="auth.locked").count() == 1


def test_changes_write_events_with_before_and_after(world):
    from huzhu.members.services import MemberInput, member_update

    member = world.chenba
    data = MemberInput(name="陈八", id_number=member.id_number, phone="13912349999",
                       unit=world.unit_a)
    member_update(actor=world.wangwu, member=member, data=data)
    event = Event.objects.filter(action="member.updated").last()
    assert event.actor_id == world.wangwu.pk
    assert event.before["phone"] == "139****5678" and event.after["phone"] == "139****9999"
    assert "is_hardship" in event.after  # the flag was cleared by the edit


def test_record_outside_a_request_still_chains(db):
    first = event_record(action="org.created", object_type="x", object_id="1")
    second = event_record(action="org.created", object_type="x", object_id="2")
    assert second.prev_hash == first.hash and second.seq == first.seq + 1


def test_bulk_appended_events_chain_with_single_ones(db):
    from huzhu.audit.services import events_record_many

    event_record(action="org.created", object_type="x", object_id="1")
    events_record_many([{"action": "claim.transition", "object_type": "claims.claim",
                         "object_id": i, "after": {"to": "approved", "fen": 100 * i}}
                        for i in range(3)])
    event_record(action="org.created", object_type="x", object_id="2")
    assert list(chain_verify()) == []
    assert Event.objects.count() == 5


def test_bulk_events_hash_what_the_database_gives_back(db):
    """The bulk path writes the canonical text itself: every shape of before/after (nested,
    Chinese, empty, lists, numbers, none) must hash as ``event_hash`` hashes the stored row."""
    from huzhu.audit.services import event_hash, events_record_many

    shapes = [None, {}, [], {"b": 1, "a": [1, 2.5, None, True]}, {"名称": "张三", "z": {"y": "é"}},
              {"k": 'quote " and \\ slash'}, {"n": -0.1, "big": 10**18}]
    events_record_many([{"action": "t.shape", "object_type": "t", "object_id": f"{i}-{j}",
                         "org_path": "1/2/", "before": b, "after": a, "outcome": "ok"}
                        for i, b in enumerate(shapes) for j, a in enumerate(shapes)])
    rows = list(Event.objects.filter(action="t.shape"))
    assert len(rows) == len(shapes) ** 2
    assert all(event_hash(e) == e.hash for e in rows)
    assert list(chain_verify()) == []
