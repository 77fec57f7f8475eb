"""``huzhu keys rotate``: re-encrypt everything still under an older personal-data key."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from huzhu.ops.keys import Progress, rotate
from huzhu.pii.crypto import cipher


class Command(BaseCommand):
    help = ("用当前密钥（HUZHU_PII_KEYS 中版本号最大的）重新加密仍由旧密钥加密的全部个人信息和"
            "理赔材料文件。分批提交，每批记一条事件；中断后再运行即从未完成处继续，已换新的不会再加密一次。"
            "运行前须先把新密钥加入所有进程的密钥环并重启（见 docs/operations.md）。")

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--batch", type=int, default=500, help="每批行数（默认 500）")
        parser.add_argument("--throttle", type=float, default=0.0,
                            help="每批之后暂停的秒数，减轻在线数据库的负担（默认 0）")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["batch"] < 1:
            raise CommandError("--batch 至少为 1")
        current = cipher().current_version

        def report(p: Progress) -> None:
            self.stdout.write(f"{p.label}：本批重新加密 {p.reencrypted} 项（至编号 {p.last_id}）")
            self.stdout.flush()

        done = rotate(batch=options["batch"], throttle=options["throttle"],
                      report=report if options["verbosity"] >= 1 else None)
        total = sum(done.values())
        self.stdout.write(f"完成：共重新加密 {total} 项，现全部使用密钥版本 {current}")
