"""``huzhu backup restore --from F --into URL``: load a backup into an empty database, then
check it against the manifest, the ledger and the event chain."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from huzhu.ops.backup import BackupError, check_restored, redact_url, restore


class Command(BaseCommand):
    help = ("把备份恢复到一个空数据库（新建的 PostgreSQL 数据库，或尚不存在的 SQLite 文件），"
            "然后对恢复出的数据库核对清单（各表行数、基金账合计、事件链末端），并运行 huzhu ledger "
            "verify 与 huzhu audit verify；任何不符都以非零状态退出。")

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--from", dest="source", required=True, help="备份文件")
        parser.add_argument("--into", required=True,
                            help="目标数据库地址，如 postgres://user@host:5432/huzhu_restore")
        parser.add_argument("--no-check", action="store_true", help="只恢复，不核对")

    def handle(self, *args: Any, **options: Any) -> None:
        source = Path(options["source"])
        into = options["into"]
        try:
            restore(source, into)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"已把 {source} 恢复到 {redact_url(into)}")
        if options["no_check"]:
            return
        problems = check_restored(source, into)
        for problem in problems:
            self.stderr.write(problem)
        if problems:
            raise CommandError(f"恢复后的数据库核对未通过：{len(problems)} 项")
        self.stdout.write("核对通过：各表行数、基金账合计、事件链末端与备份时一致；基金账与事件日志校验通过")
