"""Payment state belongs to the payouts (issue 12): one table of moves each for payouts, lines
and batches, the only writers of their status; a claim's payment status follows its payout."""

from __future__ import annotations

import datetime
import re
from pathlib import Path

import pytest

from huzhu.claims.status import ClaimStatus
from huzhu.payouts.models import BatchStatus, LineStatus, Payout, PayoutStatus
from huzhu.payouts.services import batch_approve, batch_build
from huzhu.payouts.status import (
    BATCH_MOVES,
    CLAIM_FOLLOWS,
    LINE_MOVES,
    PAYOUT_MOVES,
    IllegalMove,
    batch_move,
    claims_follow,
    payouts_move,
)

from .conftest import file_claim

HUZHU = Path(__file__).resolve().parents[2] / "huzhu"


def test_every_status_has_its_row_and_every_move_a_known_status():
    for table, statuses in ((PAYOUT_MOVES, PayoutStatus), (LINE_MOVES, LineStatus),
                            (BATCH_MOVES, BatchStatus)):
        assert set(table) == set(statuses.values)
        assert all(to in statuses.values for tos in table.values() for to in tos)
    assert set(CLAIM_FOLLOWS) == set(PayoutStatus.values)


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


def test_the_claim_follows_its_payout(pay_world):
    w = pay_world
    claim = file_claim(w, w.members[1], "S2", begin=datetime.date(2026, 3, 1))
    payout = Payout.objects.get(claim=claim)
    assert claim.status == ClaimStatus.APPROVED
    # state by state, as the payout steps would leave it (without the bank)
    for payout_status, claim_status in [(PayoutStatus.BATCHED, ClaimStatus.APPROVED),
                                        (PayoutStatus.SENT, ClaimStatus.PAYING),
                                        (PayoutStatus.FAILED, ClaimStatus.PAYMENT_FAILED),
                                        (PayoutStatus.PAYABLE, ClaimStatus.APPROVED),
                                        (PayoutStatus.BATCHED, ClaimStatus.APPROVED),
                                        (PayoutStatus.SENT, ClaimStatus.PAYING),
                                        (PayoutStatus.PAID, ClaimStatus.PAID)]:
        assert payouts_move([payout.pk], payout_status) == 1
        claims_follow([payout.pk], actor=w.qianjiu, reason="test")
        claim.refresh_from_db()
        assert claim.status == claim_status, payout_status
    assert claims_follow([payout.pk], actor=w.qianjiu, reason="again") == 0  # nothing to do
