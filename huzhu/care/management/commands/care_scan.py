"""``huzhu care scan``: open the follow-ups each fund region's rule names (重病关怀).

Safe to run as often as wanted (a member is followed up once a year); run it daily, e.g. from
cron after the day's approvals, or press 按规则检查 on the 重病关怀 page."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from huzhu.care.services import followups_scan
from huzhu.organisations.models import Organisation


class Command(BaseCommand):
    help = "按各统筹区的重病关怀规则开启关怀（可重复运行，每位会员每年只开启一次）"

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--region", help="只检查该统筹区（组织代码）；缺省检查全部统筹区")
        parser.add_argument("--date", help="按该日期检查（YYYY-MM-DD，缺省今天，北京时间）")

    def handle(self, *args: Any, **options: Any) -> None:
        regions = Organisation.objects.filter(is_fund_region=True)
        if options["region"]:
            regions = regions.filter(code=options["region"])
            if not regions.exists():
                raise CommandError(f"没有代码为 {options['region']} 的统筹区")
        try:
            as_of = datetime.date.fromisoformat(options["date"]) if options["date"] else None
        except ValueError as exc:
            raise CommandError(f"日期格式错误：{options['date']}（应为 YYYY-MM-DD）") from exc
        for region in regions:
            result = followups_scan(fund_region=region, as_of=as_of)
            self.stdout.write(f"{region.name}：新开启 {result.opened} 项重病关怀")
