"""``huzhu backup dump --out F``: a logical backup of the database, with its manifest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from huzhu.ops.backup import BackupError, dump, manifest_path


class Command(BaseCommand):
    help = ("备份数据库到一个文件（PostgreSQL 用 pg_dump 自定义格式，SQLite 用在线备份），并在旁边写"
            "清单 F.json：各表行数、基金账合计、事件链末端，与备份同一快照。个人信息在备份中仍是密文；"
            "恢复需要备份时的密钥环。")

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--out", required=True, help="备份文件（不能已存在）")

    def handle(self, *args: Any, **options: Any) -> None:
        out = Path(options["out"])
        try:
            manifest = dump(out)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        ledger = manifest["ledger"]
        self.stdout.write(f"已备份到 {out}（{manifest['size']:,} 字节），清单 {manifest_path(out)}")
        self.stdout.write(f"  表 {len(manifest['tables'])} 张，分录借方合计 {ledger['debits_fen']} 分，"
                          f"基金结余 {ledger['fund_balance_fen']} 分")
