from typing import Any

from django.core.management.base import BaseCommand

from huzhu.portal.models import KnowledgeEntry
from huzhu.portal.seed import kb_seed


class Command(BaseCommand):
    help = "载入在线问答知识库的初始条目（演示省份的互助1号/2号/3号与平台办事说明）；已有条目不改动。"

    def handle(self, *args: Any, **options: Any) -> None:
        added = kb_seed()
        total = KnowledgeEntry.objects.count()
        self.stdout.write(f"知识库：新增 {added} 条，共 {total} 条")
