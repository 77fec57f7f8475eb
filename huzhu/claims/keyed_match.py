"""A stay keyed from papers meets the bureau's own record of it (docs/adr/0023).

:mod:`huzhu.claims.resettle` moves the claim of a keyed stay to the bureau's settlement of the
same stay (the bureau's record always counts over the papers: :func:`huzhu.settlements.stays.
effective`) and assesses it again there, so a different figure takes the correction road (补发
or 追回) and equal figures move no money. This module says which it was: the keyed stay is
marked confirmed (every keyed amount equal to the bureau's) or corrected (the fields that
differ, keyed and bureau figures side by side), each an event.
"""

from __future__ import annotations

from django.utils import timezone

from huzhu.actors import Actor
from huzhu.audit.services import event_record
from huzhu.settlements.models import Settlement

from .models import KeyedStatus, KeyedStay

# The settlement slip's amounts an agent keys (the national field, its name on the slip, and
# whether the slip always prints it): what the products' cost bases read (medfee_sumamt,
# inscp_scp_amt, hifp_pay, hifob_pay, hifmi_pay, cvlserv_pay, psn_part_amt) and the parts the
# bureau's sums are checked by. A blank optional amount is 0.
KEYED_AMOUNTS: tuple[tuple[str, str, bool], ...] = (
    ("medfee_sumamt", "医疗费总额", True),
    ("fulamt_ownpay_amt", "全自费金额", False),
    ("overlmt_selfpay", "超限价自费金额", False),
    ("preselfpay_amt", "先行自付金额", False),
    ("inscp_scp_amt", "符合政策范围金额", True),
    ("hifp_pay", "统筹基金支付", True),
    ("hifob_pay", "大额医疗费用补助", False),
    ("hifmi_pay", "大病保险支付", False),
    ("cvlserv_pay", "公务员医疗补助", False),
    ("maf_pay", "医疗救助支付", False),
    ("fund_pay_sumamt", "基金支付总额", True),
    ("psn_part_amt", "个人负担总金额", True),
    ("acct_pay", "个人账户支付", False),
    ("psn_cash_pay", "个人现金支付", False),
)
AMOUNT_LABELS = {name: label for name, label, _ in KEYED_AMOUNTS}


def differences(keyed: dict[str, int], bureau: Settlement) -> list[dict[str, object]]:
    """The keyed amounts the bureau's record gives otherwise."""
    out: list[dict[str, object]] = []
    for name, label, _ in KEYED_AMOUNTS:
        theirs = getattr(bureau, f"{name}_fen") or 0
        mine = int(keyed.get(name, 0))
        if mine != theirs:
            out.append({"field": name, "label": label, "keyed": mine, "bureau": theirs})
    return out


def keyed_reconcile(settlement_ids: list[int | None], bureau: Settlement, *, actor: Actor) -> int:
    """The keyed stays whose settlements are among ``settlement_ids`` (their claims have just
    moved to ``bureau``): each confirmed or corrected, with its event. In the caller's
    transaction, under the member lock it holds. Returns how many."""
    n = 0
    for k in (KeyedStay.objects.select_for_update(of=("self",))
              .filter(settlement_id__in=settlement_ids, bureau_settlement__isnull=True)
              .order_by("pk")):
        diffs = differences(k.amounts, bureau)
        status = KeyedStatus.CORRECTED if diffs else KeyedStatus.CONFIRMED
        KeyedStay.objects.filter(pk=k.pk).update(
            status=status, bureau_settlement=bureau, differences=diffs,
            reconciled_at=timezone.now())
        event_record(action="claim.keyed_contradicted" if diffs else "claim.keyed_confirmed",
                     actor=actor, obj=k,
                     before={"status": k.status, "setl_id": getattr(k.settlement, "setl_id", "")},
                     after={"status": status, "claim": k.claim_id, "setl_id": bureau.setl_id,
                            "differences": diffs})
        n += 1
    return n
