import time

from django.core.management.base import BaseCommand

from huzhu.notices.services import outbox_resolve, outbox_send


class Command(BaseCommand):
    help = ("发送发件箱中的待发短信，并向短信服务商查询发送结果未知的短信（--loop 持续运行）。")

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true", help="每隔几秒检查一次，直到被中止")
        parser.add_argument("--interval", type=float, default=5.0)

    def handle(self, *args, **options):
        while True:
            counts = outbox_send()
            if any(counts.values()):
                self.stdout.write(f"已发送 {counts['sent']}，失败 {counts['failed']}，"
                                  f"结果未知 {counts['unknown']}")
            asked = outbox_resolve()
            if any(asked.values()):
                self.stdout.write(f"查询结果未知的短信：已确认发送 {asked['sent']}，"
                                  f"将重发 {asked['retry']}，失败 {asked['failed']}，"
                                  f"仍未知 {asked['unknown']}")
            if not options["loop"]:
                return
            time.sleep(options["interval"])
