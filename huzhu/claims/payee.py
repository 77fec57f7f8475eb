"""更正受益人银行卡: a death benefit is paid to its beneficiary's card (ADR 0016), which is not
the member's; when the bank returns that line, the card is corrected here, not on the member.

Who: a person who may file claims and sees the claim (the unit's agent, staff of the member's
subtree); never a member. The new card is checked as at filing (16–19 digits, full-width
digits normalised; a Luhn failure needs the same explicit confirmation), stored encrypted on
the claim's event in place of the old one, and recorded as an event with the old and new
cards' last four digits only. Every failed payout of the claim whose last failed line went
to another card goes back to payable at once (as a member's corrected card requeues their
payouts: ``huzhu.payouts.services``), and the beneficiary is told by SMS. Lock order: the
claim's event row, then the payouts and the event chain (nothing else is locked).
"""

from __future__ import annotations

from typing import Any

from huzhu.accounts.roles import Perm, Role
from huzhu.actors import Actor
from huzhu.audit.services import atomic_events, event_record
from huzhu.errors import DomainError, NotAllowed
from huzhu.pii.identifiers import IdentifierError, check_bank_card

from .access import claims_visible_to
from .models import Claim, ClaimEvent


def _tail(card: str | None) -> str:
    return (card or "")[-4:]


@atomic_events()
def payee_card_correct(*, claim: Claim, actor: Actor, card: str, bank_name: str = "",
                       bank_cnaps: str = "", confirm_luhn: bool = False) -> list[Any]:
    """Correct the beneficiary's card of a death-benefit claim (see the module text); returns
    the payouts sent back to payable. The 开户行 is a bank-list entry: chosen by its 联行号
    (the page), or a text the list knows; anything else is refused on ``payee_bank``."""
    from huzhu.payouts import banklist
    from huzhu.payouts.services import payouts_requeue_payee

    if (actor is None or not actor.can(Perm.FILE_CLAIMS) or actor.role == Role.MEMBER
            or not claims_visible_to(actor).filter(pk=claim.pk).exists()):
        raise NotAllowed("您无权更正此理赔的受益人银行卡")
    ev = ClaimEvent.objects.select_for_update().filter(claim_id=claim.pk).first()
    if ev is None or not ev.pays_person:
        raise DomainError("此理赔的互助金支付给会员本人：请在会员信息中更正银行卡")
    try:
        checked = check_bank_card(card)
    except IdentifierError as exc:
        raise DomainError(f"受益人银行卡号：{exc}", field_errors={"payee_card": [str(exc)]}
                          ) from None
    if checked.warnings and not confirm_luhn:
        raise DomainError(f"受益人银行卡号：{checked.warnings[0]}",
                          field_errors={"payee_card": checked.warnings}, code="luhn")
    if bank_cnaps.strip():
        entry = banklist.pick(bank_cnaps, field="payee_bank")
    else:
        text = " ".join(bank_name.split())
        if not text:
            raise DomainError("请选择受益人银行卡的开户行",
                              field_errors={"payee_bank": ["请选择开户行"]})
        found = banklist.match(text)
        if found is None:
            raise DomainError(f"开户行：{banklist.PICK_MESSAGE}",
                              field_errors={"payee_bank": [banklist.PICK_MESSAGE]})
        entry = found
    if (checked.value == ev.payee_card and entry.name == ev.payee_bank
            and entry.cnaps == ev.payee_bank_cnaps):
        raise DomainError("银行卡号和开户行与原来相同，未做更改",
                          field_errors={"payee_card": ["与原银行卡相同"]})
    before = {"card_tail": _tail(ev.payee_card), "bank": ev.payee_bank,
              "bank_cnaps": ev.payee_bank_cnaps}
    ev.payee_card, ev.payee_bank, ev.payee_bank_cnaps = checked.value, entry.name, entry.cnaps
    ev.save(update_fields=["payee_card", "payee_bank", "payee_bank_cnaps"])
    event_record(action="claim.payee_changed", actor=actor, obj=claim, before=before,
                 after={"card_tail": _tail(checked.value), "bank": entry.name,
                        "bank_cnaps": entry.cnaps, "luhn_confirmed": bool(checked.warnings)})
    return payouts_requeue_payee(claim_id=claim.pk, card=checked.value, actor=actor)
