"""A seeded random run of the payout road against a misbehaving bank (tests/payouts/fakebank.py).

Each step is one thing the association, the members or the bank does: claims approved, batches
built, approved by a second person, cancelled, sent (also sent when they must not be), queried,
result files written by the bank and delivered late, twice or partial, failed payouts requeued
after the card was changed, batches the bank never received abandoned. After every step:

- no claim is paid twice: no payout has two paid lines, the bank paid each claim at most once,
  and every line the platform records as paid the bank did pay (and each failed one it failed or
  never had);
- a claim shows 已支付 exactly when its payout is paid, every claim shows the state its payout
  means, and no payout step wrote a claim row (every approved claim is still 已核准, its row as
  it was approved);
- sent = paid + failed + in flight, from the lines and from the ledger's 在途代付款 postings,
  and the reconciliation report is clean;
- no batch was handed to the bank again once the bank had it (a batch in an unknown state is
  only queried), and a batch sent again carries the same number and the same bytes.

At the end the bank settles everything, every batch is closed, the bank's books and ours agree
line by line, and the ledger verifies. A failure prints the seed and the step to replay.
"""

from __future__ import annotations

import datetime
import random
from collections import Counter
from typing import Any

import pytest
from django.db.models import Count, Sum

from huzhu.claims.models import Claim, MemberPeriodUsage
from huzhu.claims.status import ClaimStatus
from huzhu.demo.identities import bank_card
from huzhu.errors import DomainError, NotAllowed
from huzhu.ledger.models import AccountKind, Leg
from huzhu.payouts.access import batch_get_for_user
from huzhu.payouts.channels import BankUnknown
from huzhu.payouts.models import (
    BatchStatus,
    LineStatus,
    Payout,
    PayoutBatch,
    PayoutLine,
    PayoutStatus,
    ResultFile,
)
from huzhu.payouts.services import (
    batch_abandon,
    batch_approve,
    batch_build,
    batch_cancel,
    batch_query,
    batch_send,
    payout_requeue,
    payouts_reconcile,
    result_import,
)
from huzhu.payouts.shown import ClaimState, claims_in_state, claims_shown
from tests.claims.conftest import ledger_clean

from .conftest import change_card, file_claim
from .fakebank import FakeBank

SEEDS = [20260315, 4711, 99]
STEPS = 700  # per seed: 2,100 steps in all
FIRST_STAY = datetime.date(2026, 3, 2)

# the state a claim shows for each payout status (PAYABLE and BATCHED are both 已核准待支付)
CLAIM_FOR = {PayoutStatus.PAYABLE: ClaimState.APPROVED, PayoutStatus.BATCHED: ClaimState.APPROVED,
             PayoutStatus.SENT: ClaimState.PAYING, PayoutStatus.PAID: ClaimState.PAID,
             PayoutStatus.FAILED: ClaimState.PAYMENT_FAILED}


def ledger_transit() -> dict[str, int]:
    """The 在途代付款 account from the ledger: all of it, and its sent / paid / failed postings."""
    from django.db.models import Q

    legs = Leg.objects.filter(account__kind=AccountKind.PAYOUT_IN_TRANSIT)
    sums = legs.aggregate(
        all=Sum("amount_fen"),
        **{k: Sum("amount_fen", filter=Q(transaction__key__startswith=f"payout-{k}:"))
           for k in ("sent", "paid", "failed")})
    return {k: int(v or 0) for k, v in sums.items()}


def line_fen() -> dict[str, int]:
    return {s: int(f or 0) for s, f in PayoutLine.objects.values("status")
            .annotate(f=Sum("amount_fen")).values_list("status", "f")}


class Run:
    def __init__(self, w: Any, seed: int) -> None:
        self.w, self.seed = w, seed
        self.rng = random.Random(seed)
        self.bank = FakeBank(random.Random(seed * 31 + 7))
        self.filed: Counter[int] = Counter()  # member pk -> claims filed
        self.expect: dict[int, str] = {}  # claim pk -> APPROVED (then paid or not) / REJECTED
        self.approved_rows: dict[int, dict[str, Any]] = {}  # claim pk -> its row when approved
        self.abandoned: set[str] = set()  # out_detail_no of lines of abandoned batches
        self.cards = 9000
        self.log: list[str] = []
        self.counts: Counter[str] = Counter()

    # ------------------------------------------------------------------ helpers

    def batches(self, *statuses: str) -> list[PayoutBatch]:
        return list(PayoutBatch.objects.filter(status__in=statuses).order_by("id"))

    def batch_page(self, batch_no: str) -> PayoutBatch:
        """The batch whose page finance opens to upload a result file the bank sent for it."""
        return batch_get_for_user(self.w.qianjiu, PayoutBatch.objects.get(number=batch_no).pk)

    def pick(self, items: list[Any]) -> Any:
        return self.rng.choice(items) if items else None

    def note(self, what: str) -> None:
        self.log.append(what)
        self.counts[what.split()[0]] += 1

    # ------------------------------------------------------------------ steps

    def claims(self) -> None:
        """One to three members' settlements arrive and their claims are filed and approved
        (two a year are paid; a third is refused for the claim count)."""
        open_members = [m for m in self.w.members if self.filed[m.pk] < 3]
        for m in self.rng.sample(open_members, min(len(open_members), self.rng.randint(1, 3))):
            k = self.filed[m.pk]
            self.filed[m.pk] += 1
            inscp = self.rng.randrange(200_000, 2_000_000, 100)
            claim = file_claim(self.w, m, f"SIM{self.seed}-{m.pk}-{k}",
                               begin=FIRST_STAY + datetime.timedelta(days=60 * k),
                               inscp=inscp, hifp=inscp * 7 // 10)
            want = ClaimStatus.APPROVED if k < 2 else ClaimStatus.REJECTED
            assert claim.status == want, (claim.status, want, claim.risk)
            self.expect[claim.pk] = want
            if want == ClaimStatus.APPROVED:
                p = Payout.objects.get(claim=claim)
                assert p.amount_fen == claim.payable_fen > 0
                self.approved_rows[claim.pk] = Claim.objects.filter(pk=claim.pk).values().get()
            self.note(f"claim {claim.pk} {claim.status}")

    def build(self) -> None:
        payable = Payout.objects.filter(status=PayoutStatus.PAYABLE).count()
        report = batch_build(fund_region=self.w.province, actor=self.w.qianjiu,
                             limit=self.rng.randint(1, 6))
        if report.batch is None:
            assert payable == 0
            return
        b = report.batch
        assert b.line_count == b.lines.count() >= 1 and b.status == BatchStatus.DRAFT
        assert b.total_fen == sum(b.lines.values_list("amount_fen", flat=True))
        self.note(f"build {b.number} {b.line_count}")

    def approve(self) -> None:
        b = self.pick(self.batches(BatchStatus.DRAFT))
        if b is None:
            return
        if self.rng.random() < 0.2:
            with pytest.raises(NotAllowed):
                batch_approve(batch=b, actor=self.w.qianjiu)  # the maker may not check
        batch_approve(batch=b, actor=self.w.checker)
        self.note(f"approve {b.number}")

    def cancel(self) -> None:
        b = self.pick(self.batches(BatchStatus.DRAFT, BatchStatus.APPROVED))
        if b is None:
            return
        batch_cancel(batch=b, actor=self.w.qianjiu)
        assert not b.lines.exclude(status=LineStatus.CANCELLED).exists()
        self.note(f"cancel {b.number}")

    def send(self) -> None:
        """Send a batch; now and then one that must not be sent (unknown, sent, done)."""
        b = self.pick(self.batches(BatchStatus.APPROVED, BatchStatus.NOT_RECEIVED)
                      if self.rng.random() < 0.75 else
                      self.batches(BatchStatus.UNKNOWN, BatchStatus.SENT, BatchStatus.DONE))
        if b is None:
            return
        before, calls = b.status, self.bank.calls[b.number]
        if before not in (BatchStatus.APPROVED, BatchStatus.NOT_RECEIVED):
            with pytest.raises(DomainError):
                batch_send(batch=b, actor=self.w.qianjiu, channel=self.bank)
            assert self.bank.calls[b.number] == calls, "a batch not to be sent reached the bank"
            self.note(f"refused-send {b.number} {before}")
            return
        after = batch_send(batch=b, actor=self.w.qianjiu, channel=self.bank)
        assert self.bank.calls[b.number] == calls + 1
        assert after.status in (BatchStatus.SENT, BatchStatus.UNKNOWN, BatchStatus.NOT_RECEIVED)
        if after.status == BatchStatus.SENT:
            assert b.number in self.bank.batches
        if after.status == BatchStatus.NOT_RECEIVED:
            assert b.number not in self.bank.batches
        self.note(f"send {b.number} {before}->{after.status}")

    def query(self) -> None:
        b = self.pick(self.batches(BatchStatus.UNKNOWN, BatchStatus.SENT, BatchStatus.NOT_RECEIVED))
        if b is None:
            return
        try:
            after = batch_query(batch=b, actor=self.w.qianjiu, channel=self.bank)
        except BankUnknown:
            assert PayoutBatch.objects.get(pk=b.pk).status == b.status
            self.note(f"query-lost {b.number}")
            return
        has = b.number in self.bank.batches
        assert (after.status == BatchStatus.NOT_RECEIVED) == (not has), (after.status, has)
        self.note(f"query {b.number} {b.status}->{after.status}")

    def bank_writes(self) -> None:
        if self.bank.write_result():
            self.note("bank-file")

    def deliver(self) -> None:
        item = self.bank.deliver() if self.rng.random() < 0.85 else self.bank.redeliver()
        if item is None:
            return
        batch_no, name, data = item
        files = ResultFile.objects.count()
        seen = ResultFile.objects.filter(file_name=name).exists()
        lines_before = dict(PayoutLine.objects.values_list("pk", "status"))
        result = result_import(batch=self.batch_page(batch_no), data=data, file_name=name,
                               actor=self.w.qianjiu)
        if seen:
            # the same bytes again: the first import, and nothing moves
            assert ResultFile.objects.count() == files
            assert dict(PayoutLine.objects.values_list("pk", "status")) == lines_before
        assert result.exceptions == 0, list(result.exception_rows.values("kind", "detail"))
        self.note(f"import {name} paid={result.paid} failed={result.failed} "
                  f"repeated={result.repeated}")

    def requeue(self) -> None:
        p = self.pick(list(Payout.objects.filter(status=PayoutStatus.FAILED).order_by("id")))
        if p is None:
            return
        r = self.rng.random()
        if r < 0.15:
            with pytest.raises(DomainError, match="银行卡号与支付失败时相同"):
                payout_requeue(payout=p, actor=self.w.qianjiu)
            self.note(f"requeue-refused {p.pk}")
            return
        if r < 0.25:
            payout_requeue(payout=p, actor=self.w.qianjiu, confirm_same_card="会员确认原卡号无误")
        else:
            self.cards += 1
            change_card(p.member, bank_card(self.cards))
            payout_requeue(payout=p, actor=self.w.qianjiu)
        p.refresh_from_db()
        assert p.status == PayoutStatus.PAYABLE
        assert Claim.objects.get(pk=p.claim_id).status == ClaimStatus.APPROVED
        self.note(f"requeue {p.pk}")

    def abandon(self) -> None:
        b = self.pick(self.batches(BatchStatus.NOT_RECEIVED))
        if b is None:
            return
        assert b.number not in self.bank.batches
        nos = set(b.lines.filter(status=LineStatus.SENT).values_list("out_detail_no", flat=True))
        batch_abandon(batch=b, actor=self.w.qianjiu, reason="银行未收到，改入新批次")
        self.abandoned |= nos
        assert not b.lines.filter(status=LineStatus.SENT).exists()
        self.note(f"abandon {b.number}")

    def tick(self) -> None:
        self.bank.tick(self.rng.randint(1, 4))

    STEPS = (("claims", 6), ("build", 8), ("approve", 8), ("cancel", 1), ("send", 12),
             ("query", 12), ("bank_writes", 12), ("deliver", 14), ("requeue", 5),
             ("abandon", 3), ("tick", 14))

    def step(self) -> str:
        names, weights = zip(*self.STEPS, strict=True)
        name = self.rng.choices(names, weights)[0]
        getattr(self, name)()
        self.bank.tick()
        return name

    # ------------------------------------------------------------------ the invariants

    def check(self) -> None:
        bank = self.bank
        assert bank.violations == []
        assert all(n == 1 for n in bank.received.values()), bank.received
        assert all(n == 1 for n in bank.paid_claims.values())
        assert not (PayoutLine.objects.filter(status=LineStatus.PAID).values("payout_id")
                    .annotate(n=Count("id")).filter(n__gt=1).exists()), "a payout paid twice"
        # every result we recorded is the bank's own
        told = bank.line_outcomes()
        for no, status in PayoutLine.objects.filter(
                status__in=[LineStatus.PAID, LineStatus.FAILED]).values_list("out_detail_no",
                                                                             "status"):
            if no in self.abandoned:
                assert status == LineStatus.FAILED and no not in told
            else:
                assert told.get(no) == status, (no, status, told.get(no))
        # what each claim shows is what its payout means, and no claim row was written
        shown = dict(claims_shown(Claim.objects.all()).values_list("pk", "shown_status"))
        rows = list(Payout.objects.values_list("status", "claim__status", "claim_id"))
        for p_status, c_status, claim_id in rows:
            assert c_status == ClaimStatus.APPROVED, (claim_id, c_status)
            assert CLAIM_FOR[p_status] == shown[claim_id], (claim_id, p_status, shown[claim_id])
        assert {r["id"]: r for r in Claim.objects.filter(pk__in=self.approved_rows)
                .values()} == self.approved_rows
        payout_paid = {c for p, _, c in rows if p == PayoutStatus.PAID}
        claim_paid = set(claims_in_state(Claim.objects.all(), ClaimState.PAID)
                         .values_list("pk", flat=True))
        assert claim_paid == payout_paid  # shows 已支付 <=> payout PAID
        assert claim_paid <= set(bank.paid_claims)
        # sent = paid + failed + in flight, from the lines and from the ledger
        fen = line_fen()
        paid, failed, flight = (fen.get(LineStatus.PAID, 0), fen.get(LineStatus.FAILED, 0),
                                fen.get(LineStatus.SENT, 0))
        sent = paid + failed + flight
        books = ledger_transit()
        assert -books["sent"] == sent
        assert books["paid"] == paid and books["failed"] == failed
        assert -books["all"] == flight == -books["sent"] - books["paid"] - books["failed"]
        rec = payouts_reconcile(fund_region=self.w.province)
        assert rec.ok, rec.problems
        assert (rec.sent_fen, rec.paid_fen, rec.in_flight_fen) == (sent, paid, flight)
        assert rec.ledger_in_transit_fen == flight
        # one live line per payout, and the line is in a batch that is still open
        assert not PayoutLine.objects.filter(
            status__in=[LineStatus.PENDING, LineStatus.SENT],
            batch__status__in=[BatchStatus.DONE, BatchStatus.CANCELLED]).exists()

    def drain(self) -> None:
        """The bank settles everything; the association works every batch to its end."""
        bank = self.bank
        bank.settle_all()
        for _ in range(60):
            open_ = self.batches(BatchStatus.DRAFT, BatchStatus.APPROVED, BatchStatus.UNKNOWN,
                                 BatchStatus.SENT, BatchStatus.NOT_RECEIVED)
            if not open_ and not bank.mailbox:
                return
            for b in open_:
                if b.status == BatchStatus.DRAFT:
                    batch_approve(batch=b, actor=self.w.checker)
                elif b.status in (BatchStatus.APPROVED, BatchStatus.NOT_RECEIVED):
                    if b.status == BatchStatus.NOT_RECEIVED and self.rng.random() < 0.5:
                        self.abandoned |= set(b.lines.filter(status=LineStatus.SENT)
                                              .values_list("out_detail_no", flat=True))
                        batch_abandon(batch=b, actor=self.w.qianjiu)
                    else:
                        batch_send(batch=b, actor=self.w.qianjiu, channel=bank)
                else:
                    try:
                        batch_query(batch=b, actor=self.w.qianjiu, channel=bank)
                    except BankUnknown:
                        pass
                bank.settle_all()
                self.check()
            while (item := bank.deliver(p_dup=0)) is not None:
                result_import(batch=self.batch_page(item.batch_no), data=item.data,
                              file_name=item.name, actor=self.w.qianjiu)
                self.check()
        raise AssertionError("batches still open after draining")


@pytest.mark.django_db
@pytest.mark.parametrize("seed", SEEDS)
def test_a_seeded_run_against_a_misbehaving_bank_never_pays_twice(pay_world, seed):
    run = Run(pay_world, seed)
    assert ledger_clean() == []
    for n in range(STEPS):
        name = run.step()
        try:
            run.check()
        except AssertionError as exc:
            raise AssertionError(f"seed {seed}, step {n} ({name}): {exc}\n"
                                 + "\n".join(run.log[-15:])) from exc
    run.drain()
    run.check()
    bank = run.bank
    # everything the bank settled, we recorded the same; nothing is in flight
    assert not PayoutLine.objects.filter(status__in=[LineStatus.SENT]).exists()
    ours = dict(PayoutLine.objects.filter(status__in=[LineStatus.PAID, LineStatus.FAILED])
                .exclude(out_detail_no__in=run.abandoned).values_list("out_detail_no", "status"))
    assert ours == bank.line_outcomes()
    assert line_fen()[LineStatus.PAID] == bank.paid_fen
    # the claim count held: two granted claims a member, the rest refused
    for claim_pk, want in run.expect.items():
        status = Claim.objects.get(pk=claim_pk).status
        if want == ClaimStatus.REJECTED:
            assert status == ClaimStatus.REJECTED
        else:
            assert status == ClaimStatus.APPROVED
    assert max(MemberPeriodUsage.objects.values_list("claims", flat=True)) <= 2
    # the run did exercise the road (these hold for every seed in SEEDS)
    c = run.counts
    assert c["claim"] >= 30 and c["import"] >= 20 and c["requeue"] >= 3, c
    assert sum(n for n in bank.calls.values()) > len(bank.received), "no lost or refused sends"
    assert Payout.objects.filter(status=PayoutStatus.PAID).count() >= 20
    assert PayoutLine.objects.filter(status=LineStatus.FAILED).exists()
    assert ledger_clean() == []
