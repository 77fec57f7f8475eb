from django.core.management.base import BaseCommand

from huzhu.claims.status import ClaimStatus
from huzhu.demo.claims import ensure_demo_claims


class Command(BaseCommand):
    help = "为演示省份建立本年度保障期（互助1号，免申即享）、若干单位的参保缴费和医保结算数据，生成待审核与待支付的理赔。"

    def add_arguments(self, parser):
        parser.add_argument("--units", type=int, default=12, help="参保的单位数")
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument("--if-empty", action="store_true", help="本年度已有理赔时什么也不做")

    def handle(self, *args, **o):
        made = ensure_demo_claims(units=o["units"], seed=o["seed"], if_empty=o["if_empty"])
        if made is None:
            self.stdout.write("尚未载入演示省份，请先运行 huzhu demo seed")
            return
        if not made.claims and o["if_empty"]:
            self.stdout.write(f"{made.period.name} 已有理赔，未重复生成")
            return
        counts = "，".join(f"{ClaimStatus(k).label} {v} 笔" for k, v in sorted(made.claims.items()))
        self.stdout.write(f"{made.period.name}：参保 {made.enrolled} 人，结算记录 {made.settlements} 条；"
                          f"理赔 {counts or '0 笔'}")
