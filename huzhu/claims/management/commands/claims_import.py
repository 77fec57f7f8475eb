"""``huzhu claims import FILE [FILE ...] [--region ORG_ID] [--user USERNAME] [--store-only]``:
import settlement records and print a Chinese report; exit status 1 when any record was
refused. Running it again after a crash finishes what the first run left (ADR 0008)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from huzhu.claims.ingest import settlement_import_file
from huzhu.errors import DomainError


class Command(BaseCommand):
    help = "导入医保结算数据（JSON、JSON Lines 或 CSV），逐条校验并报告"

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("files", nargs="+")
        parser.add_argument("--region", type=int, help="统筹区（组织 ID）；只有一个统筹区时可省略")
        parser.add_argument("--user", help="以该用户身份导入（记入操作日志；须为本统筹区的医保数据接口账号）")
        parser.add_argument("--store-only", action="store_true",
                            help="只校验入库，免申即享理赔由后台任务（huzhu worker）生成")

    def handle(self, *args: Any, **options: Any) -> None:
        from huzhu.accounts.models import User
        from huzhu.organisations.models import Organisation

        actor = None
        if options["user"]:
            actor = User.objects.filter(username=options["user"]).first()
            if actor is None:
                raise CommandError(f"用户 {options['user']} 不存在")
        region = None
        if options["region"]:
            region = Organisation.objects.filter(pk=options["region"], is_fund_region=True).first()
            if region is None:
                raise CommandError(f"组织 {options['region']} 不是统筹区")
        failed = False
        for path in options["files"]:
            try:
                report = settlement_import_file(path_or_bytes=path, actor=actor,
                                                fund_region=region,
                                                decide=not options["store_only"])
            except (OSError, DomainError) as exc:
                raise CommandError(f"无法导入 {path}：{getattr(exc, 'message', exc)}") from exc
            for line in report.lines_zh():
                self.stdout.write(line)
            failed = failed or not report.ok
        if failed:
            raise SystemExit(1)
