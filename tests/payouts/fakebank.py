"""A bank for tests: it implements :class:`huzhu.payouts.channels.BankChannel` (``submit`` and
``query``) and misbehaves the way banks and networks do, driven by a seeded
:class:`random.Random` so a failing run can be replayed.

- ``submit`` may be refused outright (:class:`BankRefused`, the bank keeps nothing), may lose
  its answer *before* the bank received the file (:class:`BankUnknown`, nothing kept) or
  *after* it (:class:`BankUnknown`, the batch is kept and will be paid).
- Lines are settled after a random delay (``tick`` moves the bank's clock); each is paid or
  failed (a failed card is closed and fails again if sent again).
- Result files (in the bank's format ``fmt``, :mod:`huzhu.payouts.formats`) are written into
  a mailbox and
  delivered in any order: late, duplicated, partial (unsettled lines say 处理中, or lines are
  left out). Each comes with the number of its batch, as a bank's mail names it, so finance
  knows on which batch's page to upload it.

The bank keeps its own books and never pays the same 明细号 twice; it counts how often it was
handed each batch number. Anything the platform does that a bank would call a mistake (a batch
submitted again after the bank had it, a batch number sent again with different bytes, one
claim paid twice) goes to :attr:`FakeBank.violations`.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from typing import NamedTuple

from huzhu.payouts import bankfile, formats
from huzhu.payouts.channels import (
    ACCEPTED,
    DONE,
    NOT_RECEIVED,
    BankRefused,
    BankUnknown,
    QueryAnswer,
)

FAIL_REASONS = ("账户已销户", "户名与账号不符", "账户冻结", "卡号不存在")


class ResultDelivery(NamedTuple):
    """A result file as it reaches finance: the batch it answers, a file name, the bytes."""

    batch_no: str
    name: str
    data: bytes


@dataclass
class BankLine:
    out: bankfile.OutLine | formats.ReadLine
    claim_id: int
    ready_at: int
    outcome: str = ""  # "" until settled, then paid | failed
    reason: str = ""
    ref: str = ""


@dataclass
class BankBatch:
    number: str
    content: bytes
    received_at: int
    lines: list[BankLine] = field(default_factory=list)

    @property
    def settled(self) -> bool:
        return all(ln.outcome for ln in self.lines)


class FakeBank:
    def __init__(self, rng: random.Random, *, p_refuse: float = 0.08, p_lost_before: float = 0.1,
                 p_lost_after: float = 0.15, p_fail: float = 0.15, p_query_lost: float = 0.08,
                 max_delay: int = 25, fmt: str = "generic-csv") -> None:
        self.rng = rng
        # The bank's own file format: it reads batches and writes results in it.
        self.fmt = formats.get(fmt)
        self.p_refuse, self.p_lost_before, self.p_lost_after = p_refuse, p_lost_before, p_lost_after
        self.p_fail, self.p_query_lost, self.max_delay = p_fail, p_query_lost, max_delay
        self.now = 0
        self.batches: dict[str, BankBatch] = {}
        self.calls: Counter[str] = Counter()  # submit calls per batch number, whatever came of them
        self.received: Counter[str] = Counter()  # times the bank took a batch number in
        self.first_bytes: dict[str, bytes] = {}
        self.paid_details: Counter[str] = Counter()
        self.failed_details: set[str] = set()
        self.paid_claims: Counter[int] = Counter()
        self.paid_fen = 0
        self.closed_cards: set[str] = set()
        self.mailbox: list[ResultDelivery] = []
        self.delivered: list[ResultDelivery] = []
        self.files_written = 0
        self.violations: list[str] = []

    # ------------------------------------------------------------------ the channel

    def submit(self, batch_no: str, content: bytes) -> None:
        self.calls[batch_no] += 1
        first = self.first_bytes.setdefault(batch_no, content)
        if first != content:
            self.violations.append(f"{batch_no}: sent again with different bytes")
        if batch_no in self.batches:
            self.violations.append(f"{batch_no}: submitted again though the bank has it")
            raise BankRefused("批次号重复，银行已受理过该批次")
        r = self.rng.random()
        if r < self.p_refuse:
            raise BankRefused("批次文件校验未通过，未受理")
        if r < self.p_refuse + self.p_lost_before:
            raise BankUnknown("连接超时（银行未收到）")
        self._receive(batch_no, content)
        if self.rng.random() < self.p_lost_after:
            raise BankUnknown("应答丢失（银行已受理）")

    def query(self, batch_no: str) -> QueryAnswer:
        if self.rng.random() < self.p_query_lost:
            raise BankUnknown("查询超时")
        b = self.batches.get(batch_no)
        if b is None:
            return QueryAnswer(NOT_RECEIVED)
        if b.settled:
            return QueryAnswer(DONE, self.render(b))
        return QueryAnswer(ACCEPTED)

    # ------------------------------------------------------------------ the bank's side

    def _receive(self, batch_no: str, content: bytes) -> None:
        number, _count, _total, lines = self.fmt.read_batch(content)
        if number != batch_no:
            self.violations.append(f"{batch_no}: file names batch {number}")
        b = BankBatch(batch_no, content, self.now)
        for ln in lines:
            claim_id = int(ln.memo.split()[-1])
            b.lines.append(BankLine(ln, claim_id, self.now + self.rng.randint(0, self.max_delay)))
        self.batches[batch_no] = b
        self.received[batch_no] += 1

    def _settle(self, ln: BankLine) -> None:
        no = ln.out.out_detail_no
        if no in self.paid_details or no in self.failed_details:
            self.violations.append(f"{no}: the bank was asked to process it twice")
            ln.outcome, ln.reason = "failed", "明细号重复"
            return
        if ln.out.account_no in self.closed_cards or self.rng.random() < self.p_fail:
            reason = self.rng.choice(FAIL_REASONS)
            if ln.out.account_no in self.closed_cards or reason == "账户已销户":
                self.closed_cards.add(ln.out.account_no)
                reason = "账户已销户"
            ln.outcome, ln.reason = "failed", reason
            self.failed_details.add(no)
            return
        ln.outcome, ln.ref = "paid", f"BK{len(self.paid_details) + 1:08d}"
        self.paid_details[no] += 1
        self.paid_claims[ln.claim_id] += 1
        self.paid_fen += ln.out.amount_fen
        if self.paid_claims[ln.claim_id] > 1:
            self.violations.append(f"claim {ln.claim_id} paid {self.paid_claims[ln.claim_id]} times")

    def tick(self, n: int = 1) -> None:
        self.now += n
        for b in self.batches.values():
            for ln in b.lines:
                if not ln.outcome and ln.ready_at <= self.now:
                    self._settle(ln)

    def settle_all(self) -> None:
        self.tick(self.max_delay + 1)

    def render(self, b: BankBatch, lines: list[BankLine] | None = None) -> bytes:
        rows = []
        for ln in b.lines if lines is None else lines:
            o = ln.out
            rows.append(bankfile.ResultLine(0, b.number, o.out_detail_no, o.account_no,
                                            o.account_name, o.amount_fen,
                                            ln.outcome or "processing", ln.reason, ln.ref))
        return self.fmt.render_result(b.number, rows)

    def write_result(self, batch_no: str | None = None, *, partial: bool | None = None) -> bool:
        """Put a result file for a received batch in the mailbox: every line (unsettled ones
        处理中), or with ``partial`` only some of them."""
        if not self.batches:
            return False
        b = self.batches[batch_no] if batch_no else self.rng.choice(list(self.batches.values()))
        lines = list(b.lines)
        if partial is None:
            partial = self.rng.random() < 0.3
        if partial and len(lines) > 1:
            lines = self.rng.sample(lines, self.rng.randint(1, len(lines) - 1))
            lines.sort(key=lambda ln: ln.out.out_detail_no)
        self.files_written += 1
        name = f"{b.number}-{self.files_written:04d}.{self.fmt.extension}"
        self.mailbox.append(ResultDelivery(b.number, name,
                                           self.render(b, lines)))
        return True

    def deliver(self, *, p_dup: float = 0.2) -> ResultDelivery | None:
        """The next result file to reach the platform: any of those waiting (so late ones
        come after newer ones), sometimes kept for a second delivery."""
        if not self.mailbox:
            return None
        i = self.rng.randrange(len(self.mailbox))
        item = self.mailbox[i] if self.rng.random() < p_dup else self.mailbox.pop(i)
        self.delivered.append(item)
        return item

    def redeliver(self) -> ResultDelivery | None:
        """A file delivered before, delivered again (the same bytes)."""
        return self.rng.choice(self.delivered) if self.delivered else None

    # ------------------------------------------------------------------ what the bank knows

    def line_outcomes(self) -> dict[str, str]:
        return {ln.out.out_detail_no: ln.outcome for b in self.batches.values()
                for ln in b.lines if ln.outcome}
