"""``huzhu idempotency purge``: delete stored API answers older than 24 hours (cron, daily)."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from huzhu.idempotency.services import RETENTION, keys_purge


class Command(BaseCommand):
    help = "删除超过保留期（至少 24 小时）的接口幂等键及其保存的答复"

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--hours", type=int, default=int(RETENTION.total_seconds() // 3600),
                            help="删除多少小时以前的键（不少于 24）")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            deleted = keys_purge(older_than=datetime.timedelta(hours=options["hours"]))
        except ValueError:
            raise CommandError("保留期不能少于 24 小时") from None
        self.stdout.write(f"已删除 {deleted} 个幂等键")
