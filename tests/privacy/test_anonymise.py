"""TRUST S-26: after the retention period a member's personal data is cleared, the ledger kept.

The world (tests/payouts/test_claim_state.py ``paid_and_failed``): 张三's payout failed at the
bank (still owed), 陈八's paid, 赵一's approved and not yet paid; the other members of the roster
never claimed. All were covered in 2026."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.db.models import Sum

from huzhu.accounts.models import User
from huzhu.accounts.roles import Role
from huzhu.audit.models import Event
from huzhu.audit.services import chain_verify
from huzhu.claims.documents import document_read, documents_add
from huzhu.errors import DomainError
from huzhu.ledger.models import Leg
from huzhu.members.models import Member
from huzhu.notices.models import OutboxMessage
from huzhu.payouts.models import PayoutLine
from huzhu.privacy import anonymise
from huzhu.privacy.anonymise import ANONYMOUS_NAME, members_anonymise, members_due
from huzhu.settlements.models import Settlement
from tests.claims.conftest import ledger_clean

pytestmark = pytest.mark.django_db

LATER = datetime.date(2032, 3, 1)  # more than 5 years after the 2026 cover ended
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def raw_row(table: str, pk: int) -> str:
    with connection.cursor() as cur:
        cur.execute(f"SELECT * FROM {table} WHERE id = %s", [pk])  # noqa: S608 (test, fixed names)
        return repr(cur.fetchone())


def ledger_totals() -> dict[int, int]:
    return {row["account_id"]: row["total"] for row in
            Leg.objects.values("account_id").annotate(total=Sum("amount_fen"))}


@pytest.fixture
def aged(paid_and_failed: Any, settings: Any, tmp_path: Any) -> Any:
    w = paid_and_failed
    settings.DOCUMENTS_DIR = tmp_path / "documents"
    w.chenba_member = w.members[1]
    w.chenba_user = User.objects.create_user(username="chenba", password="x" * 12,
                                             role=Role.MEMBER, member=w.chenba_member)
    w.doc = documents_add(claim=w.paid, files=[("discharge", "陈八出院记录.pdf", PDF)],
                          actor=w.lisi)[0]
    w.ledger = ledger_totals()
    return w


def test_only_members_with_nothing_open_are_due(aged):
    w = aged
    due, held = members_due(retention_years=5, today=LATER)
    assert w.chenba_member.pk in due
    assert w.members[0].pk not in due  # 张三: the bank failed the payment, it is still owed
    assert w.members[2].pk not in due  # 赵一: approved, not yet paid
    assert held == {"互助金未支付": 2}
    # Everyone else is due, those never covered included (their record is older than the period).
    assert set(due) == set(Member.objects.values_list("id", flat=True)) - {
        w.members[0].pk, w.members[2].pk}
    # Within the retention period nobody is due.
    assert members_due(retention_years=5, today=datetime.date(2031, 6, 1))[0] == []


def test_anonymising_clears_every_personal_field_and_keeps_the_money(aged, settings):
    w = aged
    m = w.chenba_member
    id_number, phone, card, name = m.id_number, m.phone, m.bank_card, m.name
    settlement = Settlement.objects.get(member=m)
    line = PayoutLine.objects.get(payout__member=m)
    assert OutboxMessage.objects.filter(member_id=m.pk).exists()
    due, _ = members_due(retention_years=5, today=LATER)

    assert members_anonymise(member_ids=due, actor=None) == len(due)

    m.refresh_from_db()
    assert (m.name, m.phone, m.bank_card, m.bank_name) == (ANONYMOUS_NAME, None, None, "")
    assert m.id_number == f"ANON-{m.pk}" and m.birth_date.month == m.birth_date.day == 1
    assert m.anonymised_at is not None
    settlement.refresh_from_db()
    assert (settlement.psn_name, settlement.diag_code, settlement.diag_name, settlement.brdy) == (
        "", None, None, None)
    assert id_number not in settlement.certno and name not in settlement.raw
    line.refresh_from_db()
    assert (line.account_no, line.account_name) == (m.id_number, ANONYMOUS_NAME)
    assert {msg.phone for msg in OutboxMessage.objects.filter(member_id=m.pk)} == {m.id_number}
    # Nothing personal left in the stored rows, encrypted or not.
    for table, pk in (("members_member", m.pk), ("claims_settlement", settlement.pk),
                      ("payouts_payoutline", line.pk)):
        stored = raw_row(table, pk)
        assert name not in stored and id_number not in stored and card not in stored
        assert phone not in stored
    # The member can no longer log in; the claim's document is gone from disk.
    w.chenba_user.refresh_from_db()
    assert not w.chenba_user.is_active
    with pytest.raises(DomainError, match="已按保存期限清除"):
        document_read(document=w.doc, actor=w.wangwu)
    assert list(Path(settings.DOCUMENTS_DIR).rglob(w.doc.storage_name)) == []
    # The money is untouched; the chains still verify; one event per member, none personal.
    assert ledger_totals() == w.ledger and ledger_clean() == []
    assert list(chain_verify()) == []
    events = Event.objects.filter(action="member.anonymised")
    assert events.count() == len(due)
    assert name not in repr(list(events.values("before", "after")))
    # The others are as they were.
    assert Member.objects.get(pk=w.members[0].pk).name == "张三"


def test_a_run_killed_half_way_is_finished_by_the_next(aged, monkeypatch):
    due, _ = members_due(retention_years=5, today=LATER)
    real = anonymise._anonymise_one
    calls = []

    def dies_on_the_third(member_id: int, actor: Any) -> Any:
        calls.append(member_id)
        if len(calls) == 3:
            raise RuntimeError("killed")
        return real(member_id, actor)

    monkeypatch.setattr(anonymise, "_anonymise_one", dies_on_the_third)
    with pytest.raises(RuntimeError):
        members_anonymise(member_ids=due, actor=None)
    monkeypatch.setattr(anonymise, "_anonymise_one", real)
    assert Member.objects.filter(anonymised_at__isnull=False).count() == 2

    again, _ = members_due(retention_years=5, today=LATER)
    assert len(again) == len(due) - 2
    assert members_anonymise(member_ids=due, actor=None) == len(due) - 2  # the done are skipped
    assert Member.objects.filter(anonymised_at__isnull=False).count() == len(due)
    assert Event.objects.filter(action="member.anonymised").count() == len(due)
    assert members_due(retention_years=5, today=LATER)[0] == []
