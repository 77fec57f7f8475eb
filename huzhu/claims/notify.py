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

from .models import Claim


def yuan_text(fen: int) -> str:
    return f"{fen // 100:,}.{fen % 100:02d}"


def card_tail(card: str | None) -> str:
    digits = "".join(ch for ch in (card or "") if ch.isdigit())
    return digits[-4:] if digits else "（未登记）"


def claim_notice(claim: Claim, template: str, key: str, **params: Any) -> None:
    member = claim.member
    base = {"name": member.name, "claim": str(claim.pk)}
    if "product" in _names(template):
        base["product"] = claim.product_version.name
    values = {k: str(v) for k, v in {**base, **params}.items() if k in _names(template)}
    notice_enqueue(key=key, template=template, phone=member.phone or "", params=values,
                   member_id=member.pk, org_path=claim.org_path)


def _names(template: str) -> tuple[str, ...]:
    from huzhu.notices.templates import TEMPLATES

    return TEMPLATES[template][1]
