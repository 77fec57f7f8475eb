"""``{{ claim|claim_state }}``: the Chinese name of the state a person sees of a claim (its
status, or for an approved claim its benefit payout's; ``huzhu/payouts/shown.py``). Read the
claims with ``claims_shown`` so a list costs no query per row."""

from __future__ import annotations

from django import template

from huzhu.claims.models import Claim
from huzhu.payouts.shown import claim_state_label

register = template.Library()


@register.filter(name="claim_state")
def claim_state(claim: Claim) -> str:
    return claim_state_label(claim)
