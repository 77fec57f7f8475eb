from django.core.management.base import BaseCommand

from huzhu.claims.status import ClaimStatus
from huzhu.demo.claims import ensure_demo_claims


class Command(BaseCommand):
    help = ("为演示省份建立往年的历史（参保、续保与退保、缴费、医保结算、理赔审核、代付与一笔失败）"
            "和本年度保障期（互助1号，免申即享）、若干单位的参保缴费和医保结算数据，生成待审核与待支付的理赔；"
            "最后更新驾驶舱汇总。")

    def add_arguments(self, parser):
        parser.add_argument("--units", type=int, default=45, help="本年度参保的单位数（与历史年度相同）")
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument("--history-years", type=int, default=2,
                            help="本年度之前生成几年的历史（0：不生成）")
        parser.add_argument("--history-units", type=int, default=45, help="历史年度参保的单位数")
        parser.add_argument("--if-empty", action="store_true", help="本年度已有理赔时什么也不做")

    def handle(self, *args, **o):
        from huzhu.claims.models import Claim
        from huzhu.demo.history import ensure_demo_history
        from huzhu.insights.cockpit_refresh import refresh

        if o["if_empty"] and Claim.objects.exists():
            self.stdout.write("已有理赔，未重复生成")
            return
        if o["history_years"]:
            h = ensure_demo_history(years=o["history_years"], units=o["history_units"],
                                    seed=o["seed"])
            if h is not None and h.years:
                enrolled = "，".join(f"{y} 年参保 {n} 人" for y, n in h.enrolled.items())
                self.stdout.write(f"历史：{enrolled}；结算记录 {h.settlements} 条，人工审核 "
                                  f"{h.reviewed} 件，代付批次 {h.batches} 个，失败 {h.failed_lines} 笔")
        made = ensure_demo_claims(units=o["units"], seed=o["seed"], if_empty=o["if_empty"])
        if made is None:
            self.stdout.write("尚未载入演示省份，请先运行 huzhu demo seed")
            return
        if not made.claims and o["if_empty"]:
            self.stdout.write(f"{made.period.name} 已有理赔，未重复生成")
        else:
            counts = "，".join(f"{ClaimStatus(k).label} {v} 笔"
                              for k, v in sorted(made.claims.items()))
            self.stdout.write(f"{made.period.name}：参保 {made.enrolled} 人，结算记录 "
                              f"{made.settlements} 条；理赔 {counts or '0 笔'}")
        from huzhu.demo.showcase import ensure_demo_showcase

        for line in ensure_demo_showcase():
            self.stdout.write(line)
        run = refresh()
        self.stdout.write(f"驾驶舱汇总已更新：{run.rows} 行")
