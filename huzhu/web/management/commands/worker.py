"""``huzhu worker [--loop]``: the background worker (ADR 0009).

It runs the tasks queued on the database backend (Django Tasks API: the parts of large
settlement deliveries, …), then the sweeps that find durable work a crash or a store-only
import left: settlements still owed a decision, large rosters to check, SMS to send, the
stored parts of a caller killed a day ago to remove. Work is
claimed with row locks (``SKIP LOCKED``) and conditional updates, so several workers run side by
side. With ``HUZHU_TASKS=celery`` the queued tasks go to Celery workers instead
(``celery -A huzhu.work.celery_app worker``) and this command runs the sweeps only.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections

from huzhu.claims.bulk import settlements_decide, settlements_pending
from huzhu.enrollment.services import claim_next_roster, roster_check
from huzhu.notices.services import outbox_resolve, outbox_send

PENDING_BATCH = 20_000


class Command(BaseCommand):
    help = ("后台任务：执行排队的后台任务，补做未完成的免申即享理赔、校验大文件花名册、发送短信。"
            "--loop 持续运行。")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--loop", action="store_true", help="持续运行，直到被中止")
        parser.add_argument("--interval", type=float, default=1.0)

    def handle(self, *args: Any, **options: Any) -> None:
        while True:
            busy = self.run_once(tasks_first=options["loop"])
            if not options["loop"]:
                return
            close_old_connections()  # a long-running process: reconnect when due
            if not busy:
                time.sleep(options["interval"])

    def run_once(self, tasks_first: bool = False) -> bool:
        busy = False
        if settings.TASKS_ENGINE == "database":
            from huzhu.work.parts import work_ready

            ran = work_ready()  # every task ready now, then back here
            if ran:
                self.stdout.write(f"执行后台任务 {ran} 个")
                busy = True
                if tasks_first:
                    # Looping, a delivery's parts come first: the sweeps and the SMS wait
                    # for a round with no task queued (at the latest, the delivery's end).
                    return True
        pending = settlements_pending(limit=PENDING_BATCH,
                                      older_than=settings.SWEEP_GRACE_SECONDS)
        if pending:
            counts = settlements_decide(pending, actor=None)
            self.stdout.write(f"补做结算记录 {len(pending)} 条，生成理赔 {sum(counts.values())} 件")
            busy = True
        roster = claim_next_roster()
        if roster is not None:
            roster_check(roster)
            self.stdout.write(f"花名册 #{roster.pk} 校验完成")
            busy = True
        from huzhu.work.parts import payloads_prune

        payloads_prune()  # a killed caller's parts' records (encrypted), a day on
        counts = outbox_send(limit=200)
        resolved = outbox_resolve(limit=200)  # messages whose send was unknown: asked, not resent
        return busy or any(counts.values()) or bool(resolved["sent"] + resolved["retry"])
