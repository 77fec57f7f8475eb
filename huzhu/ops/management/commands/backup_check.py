"""``huzhu backup check --manifest F.json``: compare this database with a backup's manifest."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from huzhu.ops.backup import compare, current_figures


class Command(BaseCommand):
    help = "把当前数据库（通常是刚恢复的）与备份清单比较：各表行数、基金账合计、事件链末端。"

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--manifest", required=True, help="备份旁的清单文件 F.json")

    def handle(self, *args: Any, **options: Any) -> None:
        manifest = json.loads(Path(options["manifest"]).read_text())
        problems = compare(manifest, current_figures())
        for problem in problems:
            self.stderr.write(problem)
        if problems:
            raise CommandError(f"与备份清单不符：{len(problems)} 项")
        self.stdout.write(f"与备份清单一致：{len(manifest['tables'])} 张表，"
                          f"基金结余 {manifest['ledger']['fund_balance_fen']} 分")
