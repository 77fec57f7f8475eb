from django.core.management.base import BaseCommand, CommandError

from huzhu.audit.models import Event
from huzhu.audit.services import chain_verify


class Command(BaseCommand):
    help = "检查事件日志的哈希链：发现被篡改、被删除的事件时以非零状态退出。"

    def handle(self, *args: object, **options: object) -> None:
        problems = list(chain_verify())
        total = Event.objects.count()
        if problems:
            for p in problems:
                self.stderr.write(f"事件 #{p.seq}: {p.message}")
            raise CommandError(f"事件日志校验失败：{len(problems)} 处问题（共 {total} 条事件）")
        self.stdout.write(f"事件日志完整：{total} 条事件，哈希链无断点。")
