"""``huzhu claims repair``: finish what a crash left: every matched settlement still owed a
decision is decided now (its automatic claims made, in the same transaction as its mark), and
every claim's pending-claims reserve brought to what it should hold (ADR 0016)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from huzhu.claims.bulk import settlements_decide, settlements_pending
from huzhu.claims.reserve import reserve_repair
from huzhu.claims.status import ClaimStatus


class Command(BaseCommand):
    help = "补做未完成的免申即享理赔：对尚未处理的已匹配结算记录逐一作出处理（可重复运行，不会重复理赔）"

    def handle(self, *args: Any, **options: Any) -> None:
        pending = settlements_pending()
        counts = settlements_decide(pending, actor=None)
        made = "，".join(f"{ClaimStatus(k).label} {v} 件" for k, v in sorted(counts.items())) or "无"
        self.stdout.write(f"处理结算记录 {len(pending)} 条；生成免申即享理赔：{made}")
        fixed = reserve_repair()
        self.stdout.write(f"未决赔款准备金更正 {fixed} 件")
