"""The demo's current year: enrolled and paid members, settlements, claims in review and
approved ones waiting for payment, the books balanced; running again adds nothing."""

from __future__ import annotations

from django.core.management import call_command

from huzhu.claims.models import Claim
from huzhu.demo.claims import ensure_demo_claims
from huzhu.ledger.verify import ledger_problems
from huzhu.payouts.models import Payout
from huzhu.settlements.models import Settlement


def test_demo_claims_give_every_claim_page_something_to_show(db, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    call_command("demo_seed", members=800, seed=5, verbosity=0)
    call_command("demo_accounts", verbosity=0)
    made = ensure_demo_claims(units=8, share=0.6, seed=1, if_empty=True)
    assert made.enrolled > 0 and made.settlements > 5
    statuses = set(Claim.objects.values_list("status", flat=True))
    assert "approved" in statuses
    approved = Claim.objects.filter(status="approved").count()
    assert Payout.objects.count() == approved
    assert Settlement.objects.filter(member__isnull=True).count() == 5  # the unmatched queue
    assert list(ledger_problems()) == []
    before = Claim.objects.count()
    again = ensure_demo_claims(units=8, share=0.6, seed=1, if_empty=True)
    assert again.claims == {} and Claim.objects.count() == before
