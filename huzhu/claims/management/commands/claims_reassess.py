"""``huzhu claims reassess --product CODE --product-version V --period P [--dry-run] [--user U]``:
re-assess a period's claims of a product under a corrected rule version (vector engine).

The option is ``--product-version`` (not ``--version``: Django's commands already own that one
and answer it with Django's own version number)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError


def _y(fen: int) -> str:
    return f"{fen // 100:,}.{fen % 100:02d}"


class Command(BaseCommand):
    help = "规则更正后按新版本批量重新核算某期某产品的理赔（--dry-run 只报告差异）"

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--product", required=True, help="产品编号")
        parser.add_argument("--product-version", dest="product_version", required=True,
                            help="更正后的产品版本号（须已载入）")
        parser.add_argument("--period", required=True, help="保障期号，如 2026")
        parser.add_argument("--dry-run", action="store_true", help="只计算差异，不写入")
        parser.add_argument("--user", help="以该用户身份执行（记入操作日志）")

    def handle(self, *args: Any, **o: Any) -> None:
        from huzhu.accounts.models import User
        from huzhu.claims.reassess import claims_reassess_rule
        from huzhu.products.models import Period, ProductVersion

        version = ProductVersion.objects.filter(code=o["product"], version=o["product_version"]).first()
        if version is None:
            raise CommandError(f"产品 {o['product']} 没有版本 {o['product_version']}（先运行 huzhu migrate 或载入目录）")
        periods = list(Period.objects.filter(code=o["period"]))
        if len(periods) != 1:
            raise CommandError(f"保障期 {o['period']} 不存在或不唯一")
        actor = User.objects.filter(username=o["user"]).first() if o["user"] else None
        if o["user"] and actor is None:
            raise CommandError(f"用户 {o['user']} 不存在")
        r = claims_reassess_rule(version=version, period=periods[0], actor=actor,
                                 dry_run=o["dry_run"])
        self.stdout.write(f"{'试算' if o['dry_run'] else '已重新核算'}：理赔 {r.claims} 笔，金额变化 "
                          f"{r.changed} 笔（增加 {_y(r.up_fen)} 元，减少 {_y(r.down_fen)} 元）；"
                          f"未决理赔更新 {r.open_updated} 笔，已核准理赔标记待处理 "
                          f"{r.granted_flagged} 笔。")
