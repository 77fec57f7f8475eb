"""``huzhu demo seed``: load the synthetic demo province."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from huzhu.demo.generator import Summary, seed, summary_lines


class Command(BaseCommand):
    help = (
        "载入演示省份（广西）：工会组织树、参保单位、经办人和会员，全部为合成数据。"
        "同样的 --members 和 --seed 得到同样的数据。批量载入不写审计日志：载入演示数据不是用户操作。"
        " / Load the synthetic demo province; deterministic for a seed. No audit events are "
        "written: bulk seeding is not a user action."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--members", type=int, default=5000, help="会员人数（默认 5000）")
        parser.add_argument("--seed", type=int, default=2026, help="随机种子（默认 2026）")
        parser.add_argument("--if-empty", action="store_true",
                            help="已有会员时什么也不做 / do nothing if members exist")
        parser.add_argument("--database", default="default", help="数据库别名")

    def handle(self, *args: Any, **options: Any) -> None:
        from huzhu.members.models import Member

        alias = options["database"]
        members = options["members"]
        if members < 0:
            raise CommandError("--members 不能为负数")
        existing = Member.objects.using(alias).count()
        if existing:
            if options["if_empty"]:
                s = Summary(skipped=True, existing_members=existing)
                for line in summary_lines(s):
                    self.stdout.write(line)
                return
            raise CommandError(
                f"数据库中已有 {existing:,} 名会员；演示数据只能载入没有会员的数据库"
                "（加 --if-empty 可在已有数据时跳过）"
            )
        verbose = options["verbosity"] >= 2 or members >= 200_000

        def progress(done: int, total: int) -> None:
            if verbose:
                self.stderr.write(f"  已写入会员 {done:,}/{total:,}")

        try:
            summary = seed(members, options["seed"], using=alias, progress=progress)
        except RuntimeError as exc:
            raise CommandError(str(exc)) from exc
        for line in summary_lines(summary):
            self.stdout.write(line)
