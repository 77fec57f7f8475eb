"""What a crash could leave behind on the money road, found (``huzhu claims verify``):
matched settlements without a decision, granted claims without their payable or their payout,
payouts or payables whose claim was never granted. Each problem in plain Chinese."""

from __future__ import annotations

import datetime
from collections.abc import Iterator

from django.db.models import BigIntegerField, CharField, Exists, OuterRef, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from huzhu.ledger.models import Transaction
from huzhu.settlements.models import Settlement, SettlementDecision

from .models import Claim
from .reserve import HELD, held_by
from .status import GRANTED

PREVIEW = 10  # setl_ids or claim numbers named per problem


def _some(values: list) -> str:
    shown = "、".join(str(v) for v in values[:PREVIEW])
    return shown + (f" 等 {len(values)} 条" if len(values) > PREVIEW else "")


def claims_problems(*, grace_seconds: int = 300) -> Iterator[str]:
    """Each problem as a sentence; none when the road is whole. Settlements received in the
    last ``grace_seconds`` may still be on their way to a decision and are not counted."""
    from huzhu.payouts.models import Payout, PayoutKind

    since = timezone.now() - datetime.timedelta(seconds=grace_seconds)
    # owed a decision, or (never meant to happen) matched without a decision row at all
    pending = list(Settlement.objects.filter(
        member__isnull=False, is_current=True, created_at__lte=since).exclude(
        Exists(SettlementDecision.objects.filter(settlement=OuterRef("pk"),
                                                 decided_at__isnull=False)))
        .order_by("id").values_list("setl_id", flat=True))
    if pending:
        yield (f"已匹配会员的结算记录尚未处理免申即享理赔：{_some(pending)}"
               "（运行 huzhu claims repair 补做）")
    granted = Claim.objects.filter(status__in=GRANTED)
    no_payout = list(granted.exclude(
        Exists(Payout.objects.filter(claim=OuterRef("pk"), kind=PayoutKind.BENEFIT)))
        .order_by("id").values_list("pk", flat=True))
    if no_payout:
        yield f"已核准的理赔没有待支付款项：理赔编号 {_some(no_payout)}"
    # Both in the database: a year's claims are never loaded into memory to be compared.
    payable_of = Transaction.objects.filter(
        key=Concat(Value("claim-payable:"), Cast(OuterRef("pk"), output_field=CharField())))
    no_payable = list(granted.exclude(Exists(payable_of)).order_by("id")
                      .values_list("pk", flat=True))
    if no_payable:
        yield f"已核准的理赔没有记入应付互助金：理赔编号 {_some(no_payable)}"
    stray = list(Payout.objects.filter(kind=PayoutKind.BENEFIT).exclude(
        claim__status__in=GRANTED).order_by("id").values_list("claim_id", flat=True))
    if stray:
        yield f"未核准的理赔有待支付款项：理赔编号 {_some(stray)}"
    orphan = list(Transaction.objects.filter(
        key__startswith="claim-payable:", source_type="claims.claim").exclude(Exists(
            granted.filter(pk=Cast(OuterRef("source_id"), output_field=BigIntegerField()))))
        .order_by("id").values_list("source_id", flat=True))
    if orphan:
        yield f"未核准的理赔记入了应付互助金：理赔编号 {_some(orphan)}"
    in_review = dict(Claim.objects.filter(status__in=HELD).values_list("pk", "payable_fen"))
    have = held_by(in_review)
    wrong = sorted(pk for pk, fen in in_review.items()
                   if have.get(pk, (0, 0))[0] != max(fen, 0))
    if wrong:
        yield (f"审核中的理赔未决赔款准备金不符：理赔编号 {_some(wrong)}"
               "（运行 huzhu claims repair 更正）")
