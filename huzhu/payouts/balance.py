"""The fund balance guard (issue 16 part 4): a payout batch may not take the fund account below
zero, or below the floor finance set for the region, unless the second finance person (the
checker) overrides with a reason.

What the account can still pay is read off the books: the balance of 1002 基金专户存款, less what
has gone to the bank and not yet left the account (2204 在途代付款), less the batches approved
and not sent yet. The check is made when the checker approves and again when the batch is sent
(other batches may have gone meanwhile); an override given at approval stands for the send and
is in the audit trail with the figures."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Sum

from huzhu.ledger.models import Account, AccountKind
from huzhu.ledger.selectors import balance_as_of
from huzhu.organisations.models import Organisation
from huzhu.rules.money import format_yuan

from .models import BatchStatus, PayoutBatch, PayoutRegionSetting


@dataclass(frozen=True)
class FundCover:
    bank_fen: int        # 1002 基金专户存款 (debit balance)
    in_transit_fen: int  # 2204 在途代付款: sent to the bank, not yet confirmed
    committed_fen: int   # other batches approved and not yet sent
    batch_fen: int       # this batch
    floor_fen: int       # the region's floor (0: never below zero)

    @property
    def after_fen(self) -> int:
        return self.bank_fen - self.in_transit_fen - self.committed_fen - self.batch_fen

    @property
    def ok(self) -> bool:
        return self.after_fen >= self.floor_fen

    def figures(self) -> dict[str, int]:
        return {"bank_fen": self.bank_fen, "in_transit_fen": self.in_transit_fen,
                "committed_fen": self.committed_fen, "batch_fen": self.batch_fen,
                "floor_fen": self.floor_fen, "after_fen": self.after_fen}

    def explain(self) -> str:
        """The figures in plain Chinese."""
        y = format_yuan
        text = (f"基金专户余额 {y(self.bank_fen)} 元，在途代付 {y(self.in_transit_fen)} 元，"
                f"已复核待发送批次 {y(self.committed_fen)} 元，本批次 {y(self.batch_fen)} 元，"
                f"发送后可用余额 {y(self.after_fen)} 元")
        floor = f"（余额下限 {y(self.floor_fen)} 元）" if self.floor_fen else ""
        if self.ok:
            return text + floor
        return text + floor + f"，低于{'余额下限' if self.floor_fen else '零'}"


def fund_cover(batch: PayoutBatch) -> FundCover:
    region: Organisation = batch.fund_region
    bank = balance_as_of(accounts=Account.objects.filter(fund_region=region,
                                                         kind=AccountKind.BANK))
    transit = -balance_as_of(accounts=Account.objects.filter(
        fund_region=region, kind=AccountKind.PAYOUT_IN_TRANSIT))
    committed = (PayoutBatch.objects.filter(fund_region=region, status=BatchStatus.APPROVED)
                 .exclude(pk=batch.pk).aggregate(s=Sum("total_fen"))["s"] or 0)
    setting = PayoutRegionSetting.objects.filter(fund_region=region).first()
    return FundCover(bank_fen=bank, in_transit_fen=transit, committed_fen=int(committed),
                     batch_fen=batch.total_fen,
                     floor_fen=setting.balance_floor_fen if setting else 0)
