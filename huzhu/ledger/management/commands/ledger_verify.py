"""``huzhu ledger verify``: exit non-zero, naming each problem, unless the ledger is whole."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from huzhu.ledger.verify import ledger_problems


class Command(BaseCommand):
    help = "核对基金账：每笔凭证借贷平衡、余额等于分录重算、分录未被篡改"

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--skip-hashes", action="store_true",
                            help="只核对平衡与余额（不逐笔重算哈希）")

    def handle(self, *args: Any, **options: Any) -> None:
        problems = 0
        for problem in ledger_problems(hashes=not options["skip_hashes"]):
            problems += 1
            self.stderr.write(str(problem))
        if problems:
            raise CommandError(f"基金账核对未通过：{problems} 处问题")
        self.stdout.write("基金账核对通过：借贷平衡，余额与分录一致，分录未被篡改")
