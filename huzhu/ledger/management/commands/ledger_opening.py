"""``huzhu ledger opening``: record a fund region's balance carried over (期初基金余额)."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from huzhu.errors import DomainError
from huzhu.ledger.opening import fund_opening_record
from huzhu.organisations.models import Organisation
from huzhu.rules.money import MoneyError, format_yuan, parse_yuan


class Command(BaseCommand):
    help = "录入统筹区的期初基金余额（借 1002 基金专户存款 / 贷 3101 基金结余，每个统筹区一次）"

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--region", required=True, help="统筹区的组织代码")
        parser.add_argument("--yuan", required=True, help="金额（元），如 1234567.89")
        parser.add_argument("--on", required=True, help="建账日期 YYYY-MM-DD")

    def handle(self, *args: Any, **options: Any) -> None:
        region = Organisation.objects.filter(code=options["region"]).first()
        if region is None:
            raise CommandError(f"没有代码为 {options['region']} 的组织")
        try:
            fen = parse_yuan(options["yuan"])
            on = datetime.date.fromisoformat(options["on"])
        except (MoneyError, ValueError) as exc:
            raise CommandError(f"金额或日期格式错误：{exc}") from exc
        try:
            tx = fund_opening_record(region=region, amount_fen=fen, on=on, actor=None)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"{region.name} 期初基金余额 {format_yuan(fen)} 元已入账（凭证 {tx.pk}）")
