"""Payment state belongs to the payouts (issue 12): one table of moves each for payouts, lines
and batches, the only writers of their status, every payout move an event. A claim's status ends
at its decision; what it shows once approved is read from its benefit payout, and no payout step
writes a claim row."""

from __future__ import annotations

import datetime
import re
from pathlib import Path

import pytest

from huzhu.audit.models import Event
from huzhu.claims.models import Claim
from huzhu.claims.status import FORMER_STATUSES, GRANTED, TRANSITIONS, ClaimStatus, status_label
from huzhu.payouts.models import BatchStatus, LineStatus, Payout, PayoutStatus
from huzhu.payouts.services import batch_approve, batch_build
from huzhu.payouts.shown import (
    PAYOUT_SHOWS,
    ClaimState,
    claim_state,
    claim_state_label,
    claims_in_state,
    claims_shown,
)
from huzhu.payouts.status import (
    BATCH_MOVES,
    LINE_MOVES,
    PAYOUT_MOVES,
    IllegalMove,
    batch_move,
    payouts_move,
)

from .conftest import file_claim

HUZHU = Path(__file__).resolve().parents[2] / "huzhu"


def test_every_status_has_its_row_and_every_move_a_known_status():
    for table, statuses in ((PAYOUT_MOVES, PayoutStatus), (LINE_MOVES, LineStatus),
                            (BATCH_MOVES, BatchStatus)):
        assert set(table) == set(statuses.values)
        assert all(to in statuses.values for tos in table.values() for to in tos)
    assert set(PAYOUT_SHOWS) == set(PayoutStatus.values)
    assert set(PAYOUT_SHOWS.values()) <= set(ClaimState.values)


def test_a_claim_status_ends_at_its_decision():
    """No claim status is a payment state: approved moves nowhere, and what it shows beyond
    that comes from the payout. The shown states are the statuses (same names) plus 支付中,
    已支付, 支付失败, under the values the claims used to hold, which old events still name."""
    assert set(ClaimStatus.values) == {"submitted", "in_review", "returned", "approved",
                                       "rejected", "withdrawn"}
    assert TRANSITIONS[ClaimStatus.APPROVED] == frozenset() and GRANTED == {ClaimStatus.APPROVED}
    assert all(to in ClaimStatus.values for tos in TRANSITIONS.values() for to in tos)
    # and 已撤销给付: approved, its payout cancelled before it went out (stay refunded)
    assert set(ClaimState.values) == (set(ClaimStatus.values) | set(FORMER_STATUSES)
                                      | {"pay_cancelled"})
    for value in ClaimStatus.values:
        if value != ClaimStatus.APPROVED:
            assert ClaimState(value).label == ClaimStatus(value).label
    for value, label in FORMER_STATUSES.items():
        assert ClaimState(value).label == label == status_label(value)
    assert ClaimStatus.APPROVED.label == "已核准"
    assert ClaimState.APPROVED.label == "已核准待支付"


def test_no_payout_module_writes_a_claim_row():
    """Nothing under huzhu/payouts moves a claim or updates, saves or deletes a claim row."""
    pattern = re.compile(r"claim_transition|claims_transition_many|transition_check"
                         r"|Claim\.objects[^\n]*\.(update|delete|bulk_update)\("
                         r"|claim[a-z_]*\.save\(")
    offenders = [str(p.relative_to(HUZHU)) for p in (HUZHU / "payouts").rglob("*.py")
                 if "migrations" not in p.parts and pattern.search(p.read_text())]
    assert offenders == []


def test_only_the_status_module_writes_payment_status():
    """No ``update(status=…)`` of a payout, line or batch anywhere but payouts/status.py."""
    pattern = re.compile(r"(Payout|PayoutLine|PayoutBatch|lines|\bb)\b[^\n]*\.update\(\s*status=")
    offenders = [str(p.relative_to(HUZHU)) for p in HUZHU.rglob("*.py")
                 if p.name != "status.py" and "migrations" not in p.parts
                 and pattern.search(p.read_text())]
    assert offenders == []


def test_a_move_the_table_lacks_is_refused_in_chinese_and_changes_nothing(pay_world):
    w = pay_world
    claim = file_claim(w, w.members[0], "S1", begin=datetime.date(2026, 3, 1))
    payout = Payout.objects.get(claim=claim)
    with pytest.raises(IllegalMove, match="支付状态不能从“待支付”变为“已支付”"):
        payouts_move([payout.pk], PayoutStatus.PAID, frm=[PayoutStatus.PAYABLE])
    # without ``frm``: only payouts in a state the table allows move; a payable one does not
    assert payouts_move([payout.pk], PayoutStatus.PAID) == 0
    payout.refresh_from_db()
    assert payout.status == PayoutStatus.PAYABLE
    batch = batch_build(fund_region=w.province, actor=w.qianjiu).batch
    assert batch is not None
    with pytest.raises(IllegalMove):
        batch_move(batch.pk, BatchStatus.DONE, frm=[BatchStatus.DRAFT])
    batch_approve(batch=batch, actor=w.checker)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.APPROVED


def test_a_claim_shows_its_payout_and_its_row_never_moves(pay_world):
    """State by state, as the payout steps leave it (without the bank): each payout move is one
    ``payout.transition`` event; the claim row is the row approval left; the page's state, the
    list filter (a database query) and the annotation all read the payout."""
    w = pay_world
    claim = file_claim(w, w.members[1], "S2", begin=datetime.date(2026, 3, 1))
    other = file_claim(w, w.members[2], "S3", begin=datetime.date(2026, 3, 1))
    payout = Payout.objects.get(claim=claim)
    assert claim.status == ClaimStatus.APPROVED
    row = Claim.objects.filter(pk=claim.pk).values().get()
    claim_events = Event.objects.filter(object_type="claims.claim", object_id=str(claim.pk))
    seen = claim_events.count()
    assert claim_state(claim) == ClaimState.APPROVED and claim_state_label(claim) == "已核准待支付"
    before = PayoutStatus.PAYABLE
    for payout_status, shown in [(PayoutStatus.BATCHED, ClaimState.APPROVED),
                                 (PayoutStatus.SENT, ClaimState.PAYING),
                                 (PayoutStatus.FAILED, ClaimState.PAYMENT_FAILED),
                                 (PayoutStatus.PAYABLE, ClaimState.APPROVED),
                                 (PayoutStatus.BATCHED, ClaimState.APPROVED),
                                 (PayoutStatus.SENT, ClaimState.PAYING),
                                 (PayoutStatus.PAID, ClaimState.PAID)]:
        assert payouts_move([payout.pk], payout_status, actor=w.qianjiu, reason="test") == 1
        event = Event.objects.filter(action="payout.transition",
                                     object_id=str(payout.pk)).order_by("-seq").first()
        assert event is not None and event.object_type == "payouts.payout"
        assert event.before == {"status": before} and event.actor_id == w.qianjiu.pk
        assert event.after == {"status": payout_status, "reason": "test", "claim": claim.pk,
                               "kind": "benefit", "amount_fen": payout.amount_fen}
        before = payout_status
        assert Claim.objects.filter(pk=claim.pk).values().get() == row, payout_status
        assert claim_events.count() == seen
        fresh = Claim.objects.get(pk=claim.pk)
        assert claim_state(fresh) == shown, payout_status
        annotated = claims_shown(Claim.objects.filter(pk__in=[claim.pk, other.pk]))
        assert dict(annotated.values_list("pk", "shown_status")) == {
            claim.pk: shown, other.pk: ClaimState.APPROVED}
        for state in ClaimState.values:
            found = set(claims_in_state(Claim.objects.all(), state).values_list("pk", flat=True))
            assert (claim.pk in found) == (state == shown), (payout_status, state)
            assert (other.pk in found) == (state == ClaimState.APPROVED)
    assert Event.objects.filter(action="payout.transition", object_id=str(payout.pk)).count() == 7
    # a move the payout is not in: nothing moves, no event
    assert payouts_move([payout.pk], PayoutStatus.SENT, actor=w.qianjiu, reason="again") == 0
    assert Event.objects.filter(action="payout.transition", object_id=str(payout.pk)).count() == 7
    assert claims_in_state(Claim.objects.all(), "no-such-state").count() == 0
