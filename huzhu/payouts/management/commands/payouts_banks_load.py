"""``huzhu payouts_banks_load [FILE.csv] [--deactivate-missing]``: update the bank list (银行名录)
from a CSV (联行号, 银行名称, 简称, 省份, 城市; UTF-8 or GBK), or load the list shipped with the
package when no file is given. A file with a bad row changes nothing and names the row."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "更新银行名录（联行号）：从 CSV 文件导入，不给文件时载入随程序发布的名录"

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("file", nargs="?", help="CSV 文件（联行号,银行名称,简称,省份,城市）")
        parser.add_argument("--deactivate-missing", action="store_true",
                            help="文件中没有的联行号标为失效（已发送的明细仍保留其开户行）")

    def handle(self, *args: Any, **o: Any) -> None:
        from huzhu.audit.services import event_record
        from huzhu.payouts import banklist

        path = Path(o["file"]) if o.get("file") else banklist.SHIPPED
        if not path.is_file():
            raise CommandError(f"文件不存在：{path}")
        try:
            banklist.ensure_shipped()  # a new installation starts from the shipped list
            report = banklist.load(path.read_bytes(),
                                   deactivate_missing=o["deactivate_missing"])
        except banklist.BankListError as exc:
            raise CommandError(exc.message) from None
        event_record(action="payout.banks_loaded", actor_label="管理命令",
                     object_type="payouts.payeebank",
                     after={"file": path.name[:80], "added": report.added,
                            "updated": report.updated, "deactivated": report.deactivated})
        self.stdout.write(f"银行名录已更新：新增 {report.added} 条，修改 {report.updated} 条，"
                          f"失效 {report.deactivated} 条")
