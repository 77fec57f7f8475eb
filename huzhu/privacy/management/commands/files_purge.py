"""``huzhu files purge``: delete roster and bank files whose retention period is over."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from huzhu.privacy.files import files_due, files_purge


class Command(BaseCommand):
    help = ("删除保存期满的文件：上传满保存天数的花名册（含未通过校验的），以及批次办结满保存天数的"
            "银行代付文件；仍在银行处理中的批次文件不删除。每次删除写一条事件日志。")

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--days", type=int, default=settings.FILE_RETENTION_DAYS,
                            help="保存天数（默认取 HUZHU_FILE_RETENTION_DAYS，当前 %(default)s 天）")
        parser.add_argument("--dry-run", action="store_true", help="只列出数量，不删除")

    def handle(self, *args: Any, **options: Any) -> None:
        days = options["days"]
        if days < 1:
            raise CommandError("保存天数至少 1 天")
        plan = files_due(days=days) if options["dry_run"] else files_purge(days=days)
        verb = "可删除" if options["dry_run"] else "已删除"
        self.stdout.write(f"{verb}花名册文件 {len(plan.rosters)} 个，银行代付文件 "
                          f"{len(plan.bank_files)} 个（{plan.cutoff.date().isoformat()} 之前）")
        if plan.held_batches:
            self.stdout.write(f"批次尚未办结、暂不删除的银行代付文件：{plan.held_batches} 个")
        if options["dry_run"]:
            self.stdout.write("试运行，未做修改")
