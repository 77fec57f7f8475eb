from django.core.management.base import BaseCommand

from huzhu.demo.products import ensure_demo_period


class Command(BaseCommand):
    help = "为演示省份建立当前保障期（参保窗口今日开放）、互助1号/2号/3号产品提供与各市任务。"

    def handle(self, *args, **options):
        period = ensure_demo_period()
        if period is None:
            self.stdout.write("尚未载入演示省份，请先运行 huzhu demo seed")
            return
        offers = period.offers.count()
        self.stdout.write(f"保障期：{period.name}（参保截止 {period.enroll_closes}），提供产品 {offers} 个")
