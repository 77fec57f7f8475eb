"""Run in a process of its own against one database (``DATABASE_URL``): print, as JSON, what the
fault-injection test compares — the money road's problems (``claims verify``, ``ledger
verify``, ``audit verify``), every claim by settlement and product, and the counts of what
must exist exactly once per approved claim.

    DATABASE_URL=postgres://… python -m tests.claims.faultcheck [HUZHU ARGS …]

With arguments, ``huzhu ARGS`` runs first, in the same process (one start-up less).
"""

from __future__ import annotations

import json
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "huzhu.settings")
    import django

    django.setup()
    from django.db.models import Count

    if sys.argv[1:]:
        import contextlib
        import io

        from huzhu.cli import main as huzhu

        with contextlib.redirect_stdout(io.StringIO()):
            huzhu(sys.argv[1:])

    from huzhu.audit.services import chain_verify
    from huzhu.claims.models import Claim, MemberPeriodUsage
    from huzhu.claims.status import GRANTED
    from huzhu.claims.verify import claims_problems
    from huzhu.ledger.models import Transaction
    from huzhu.ledger.verify import ledger_problems
    from huzhu.notices.models import OutboxMessage
    from huzhu.payouts.models import Payout
    from huzhu.settlements.models import Settlement

    granted = Claim.objects.filter(status__in=GRANTED)
    out = {
        "problems": [*claims_problems(grace_seconds=0), *map(str, ledger_problems()),
                     *map(str, chain_verify())],
        "claims": sorted([s, p, st, fen] for s, p, st, fen in Claim.objects.values_list(
            "setl_id", "product_code", "status", "payable_fen")),
        "settlements": Settlement.objects.count(),
        "undecided": Settlement.objects.filter(member__isnull=False, is_current=True).exclude(
            decided__decided_at__isnull=False).count(),
        "granted": granted.count(),
        "payouts": Payout.objects.count(),
        "payables": Transaction.objects.filter(key__startswith="claim-payable:").count(),
        "sms_approved": OutboxMessage.objects.filter(template="CLAIM_APPROVED").count(),
        "usage": sorted([m, c, n, fen] for m, c, n, fen in MemberPeriodUsage.objects.values_list(
            "member_id", "product_code", "claims", "granted_fen")),
        "claims_twice": Claim.objects.values("setl_id", "product_code").annotate(
            n=Count("id")).filter(n__gt=1).count(),
    }
    json.dump(out, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
