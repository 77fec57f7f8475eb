"""``huzhu payouts close-day --region CODE|ID --date YYYY-MM-DD --user U``: close a fund
region's payout day (日结) as a finance user, or say in Chinese why it cannot be closed."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError


def _y(fen: int) -> str:
    return f"{fen // 100:,}.{fen % 100:02d}"


class Command(BaseCommand):
    help = "代付日结：核对并冻结统筹区某日的代付数字（有未处理对账异常或对账不平时拒绝）"

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--region", required=True, help="统筹区的组织代码或编号")
        parser.add_argument("--date", required=True, help="业务日期 YYYY-MM-DD")
        parser.add_argument("--user", required=True, help="以该财务用户身份日结（记入日结人与操作日志）")

    def handle(self, *args: Any, **o: Any) -> None:
        from huzhu.accounts.models import User
        from huzhu.errors import DomainError
        from huzhu.organisations.models import Organisation
        from huzhu.payouts.dayclose import payout_day_close

        regions = Organisation.objects.filter(is_fund_region=True)
        key = o["region"].strip()
        found = list(regions.filter(code=key)) or (
            list(regions.filter(pk=int(key))) if key.isdigit() else [])
        if len(found) != 1:
            raise CommandError(f"统筹区 {key} 不存在或不唯一（请给出统筹区的组织代码或编号）")
        try:
            day = datetime.date.fromisoformat(o["date"])
        except ValueError:
            raise CommandError(f"日期应为 YYYY-MM-DD：{o['date']}") from None
        actor = User.objects.filter(username=o["user"]).first()
        if actor is None:
            raise CommandError(f"用户 {o['user']} 不存在")
        try:
            c = payout_day_close(fund_region=found[0], date=day, actor=actor)
        except DomainError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(
            f"{found[0].name} {day:%Y-%m-%d} 已日结：已发送 {c.sent_count} 笔 {_y(c.sent_fen)} 元，"
            f"已支付 {c.paid_count} 笔 {_y(c.paid_fen)} 元，失败 {c.failed_count} 笔 "
            f"{_y(c.failed_fen)} 元，在途 {c.in_flight_count} 笔 {_y(c.in_flight_fen)} 元")
