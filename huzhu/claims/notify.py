"""SMS at each step of a claim, through the outbox, once per event (TRUST R-13, R-14).

Keys name the event: ``claim-submitted:<claim>``, ``claim-approved:<claim>``,
``claim-returned:<review>``, ``claim-rejected:<review or claim>``, ``claim-paid:<claim>``,
``payout-failed:<line>``, ``payout-requeued:<payout>:<n>`` (after the n-th failed line, once the
card was corrected), ``claim-topup:<claim>:<assessment>`` and
``claim-recovery:<claim>:<assessment>`` (a rule correction decided), ``topup-paid:<payout>``.
The outbox row is written in the business transaction, so a rolled
back approval sends nothing.
"""

from __future__ import annotations

from typing import Any

from huzhu.notices.services import notice_enqueue

from .models import Claim, ClaimEvent, ClaimKind

# The SMS of a death benefit go to the beneficiary, in words of their own.
DEATH_TEMPLATES = {"CLAIM_SUBMITTED": "CLAIM_DEATH_SUBMITTED",
                   "CLAIM_APPROVED": "CLAIM_DEATH_APPROVED",
                   "CLAIM_RETURNED": "CLAIM_DEATH_RETURNED",
                   "CLAIM_REJECTED": "CLAIM_DEATH_REJECTED",
                   "CLAIM_PAID": "CLAIM_DEATH_PAID",
                   "CLAIM_PAY_FAILED": "CLAIM_DEATH_PAY_FAILED",
                   "PAYOUT_REQUEUED": "CLAIM_DEATH_PAYOUT_REQUEUED"}
# The other event claims name what they are for.
EVENT_TEMPLATES = {"CLAIM_SUBMITTED": "CLAIM_EVENT_SUBMITTED",
                   "CLAIM_APPROVED": "CLAIM_EVENT_APPROVED"}


def routed(template: str, kind: str) -> str:
    """The template a claim of ``kind`` is told ``template`` with."""
    if kind == ClaimKind.DEATH:
        return DEATH_TEMPLATES.get(template, template)
    if kind != ClaimKind.HOSPITAL:
        return EVENT_TEMPLATES.get(template, template)
    return template


def what_of(kind: str, relation: str = "") -> str:
    """A claim's kind in words for an SMS (a family claim: whose illness)."""
    if kind == ClaimKind.FAMILY and relation:
        from .models import Relation

        return f"{Relation(relation).label}患病救助"
    return str(ClaimKind(kind).label)


def yuan_text(fen: int) -> str:
    return f"{fen // 100:,}.{fen % 100:02d}"


def card_tail(card: str | None) -> str:
    digits = "".join(ch for ch in (card or "") if ch.isdigit())
    return digits[-4:] if digits else "（未登记）"


def claim_notice(claim: Claim, template: str, key: str, **params: Any) -> None:
    """Tell the claim's person ``template``: the member, or for a death benefit the
    beneficiary (:func:`routed`)."""
    member = claim.member
    template = routed(template, claim.kind)
    phone = member.phone or ""
    base = {"name": member.name, "claim": str(claim.pk)}
    if claim.kind != ClaimKind.HOSPITAL:
        ev = ClaimEvent.objects.filter(claim_id=claim.pk).first()
        base["what"] = what_of(claim.kind, ev.relation if ev else "")
        if ev is not None and ev.pays_person:
            phone, base["payee"] = ev.person_phone or "", ev.person_name
    if "product" in _names(template):
        base["product"] = claim.product_version.name
    values = {k: str(v) for k, v in {**base, **params}.items() if k in _names(template)}
    notice_enqueue(key=key, template=template, phone=phone, params=values,
                   member_id=member.pk, org_path=claim.org_path)


def _names(template: str) -> tuple[str, ...]:
    from huzhu.notices.templates import TEMPLATES

    return TEMPLATES[template][1]
