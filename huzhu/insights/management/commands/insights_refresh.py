"""``huzhu insights refresh``: recount the cockpit's aggregates (ADR 0018); ``--verify`` then
proves them equal to a row-by-row recount."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from huzhu.insights.cockpit_recount import differences
from huzhu.insights.cockpit_refresh import refresh


class Command(BaseCommand):
    help = "重新统计驾驶舱汇总数据（--verify：逐笔重算核对）"

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--verify", action="store_true", help="统计后逐笔重算并核对")

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        run = refresh()
        self.stdout.write(f"驾驶舱汇总已更新：{run.rows:,} 行，用时 "
                          f"{time.monotonic() - started:.1f} 秒")
        if options["verify"]:
            problems = differences()
            for p in problems[:50]:
                self.stderr.write(p)
            if problems:
                raise CommandError(f"驾驶舱汇总与逐笔重算不一致：{len(problems)} 处")
            self.stdout.write("驾驶舱汇总与逐笔重算一致")
