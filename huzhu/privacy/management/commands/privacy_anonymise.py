"""``huzhu privacy anonymise``: clear the personal data of members whose retention period is over."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from huzhu.privacy.anonymise import members_anonymise, members_due


class Command(BaseCommand):
    help = ("匿名化保存期满的会员：最后一个保障期结束已满保存年限、且没有未办结理赔、未支付互助金、"
            "未了结追回款的会员，清除其姓名、证件号、手机、银行卡、结算记录中的个人信息和诊断、"
            "理赔材料文件；账务与事件日志保留（以会员编号为假名）。可重复运行，中断后再运行即补完。")

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--years", type=int, default=settings.MEMBER_RETENTION_YEARS,
                            help="保存年限（自最后一个保障期结束起，默认取 "
                                 "HUZHU_MEMBER_RETENTION_YEARS，当前 %(default)s 年）")
        parser.add_argument("--dry-run", action="store_true", help="只列出人数，不做修改")

    def handle(self, *args: Any, **options: Any) -> None:
        years = options["years"]
        if years < 1:
            raise CommandError("保存年限至少 1 年")
        due, held = members_due(retention_years=years)
        for why, count in held.items():
            self.stdout.write(f"保存期满但{why}，暂不匿名化：{count} 人")
        if options["dry_run"]:
            self.stdout.write(f"保存期满、可匿名化：{len(due)} 人（试运行，未做修改）")
            return
        done = members_anonymise(member_ids=due, actor=None)
        self.stdout.write(f"已匿名化 {done} 人")
