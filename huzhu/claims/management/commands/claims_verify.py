"""``huzhu claims verify [--grace S]``: exit non-zero, naming each problem, unless every
matched settlement has its decision and every granted claim exactly its payable and payout."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from huzhu.claims.verify import claims_problems


class Command(BaseCommand):
    help = ("核对理赔资金链：已匹配的结算记录都已处理免申即享理赔，已核准的理赔都有且只有一笔应付"
            "互助金和待支付款项")

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--grace", type=int, default=300,
                            help="最近 S 秒内收到的结算记录可能仍在处理中，不计入（默认 300）")

    def handle(self, *args: Any, **options: Any) -> None:
        problems = list(claims_problems(grace_seconds=options["grace"]))
        for p in problems:
            self.stderr.write(p)
        if problems:
            raise CommandError(f"理赔资金链核对未通过：{len(problems)} 处问题")
        self.stdout.write("理赔资金链核对通过：结算记录均已处理，已核准的理赔各有一笔应付互助金和待支付款项")
