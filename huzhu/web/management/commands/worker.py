"""The background worker: finishes settlement decisions a crash or a cut-short push left,
checks large rosters and sends queued SMS.

Work is claimed with conditional UPDATEs, so several workers may run side by side.
"""

import time

from django.core.management.base import BaseCommand

from huzhu.claims.bulk import settlements_decide, settlements_pending
from huzhu.enrollment.services import claim_next_roster, roster_check
from huzhu.notices.services import outbox_send

PENDING_BATCH = 20_000


class Command(BaseCommand):
    help = "后台任务：补做未完成的免申即享理赔、校验大文件花名册、发送短信。--loop 持续运行。"

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true", help="持续运行，直到被中止")
        parser.add_argument("--interval", type=float, default=1.0)

    def handle(self, *args, **options):
        while True:
            busy = self.run_once()
            if not options["loop"]:
                return
            if not busy:
                time.sleep(options["interval"])

    def run_once(self) -> bool:
        busy = False
        pending = settlements_pending(limit=PENDING_BATCH)
        if pending:
            counts = settlements_decide(pending, actor=None)
            self.stdout.write(f"补做结算记录 {len(pending)} 条，生成理赔 {sum(counts.values())} 件")
            busy = True
        roster = claim_next_roster()
        if roster is not None:
            roster_check(roster)
            self.stdout.write(f"花名册 #{roster.pk} 校验完成")
            busy = True
        counts = outbox_send(limit=200)
        return busy or any(counts.values())
