"""``huzhu keys rotate``: re-encrypt everything still under an older personal-data key."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from huzhu.ops.index_keys import Progress as IndexProgress
from huzhu.ops.index_keys import rotate_index
from huzhu.ops.keys import Progress, rotate
from huzhu.pii.crypto import cipher, index_keyring


class Command(BaseCommand):
    help = ("用当前密钥（HUZHU_PII_KEYS 中版本号最大的）重新加密仍由旧密钥加密的全部个人信息和"
            "理赔材料文件。分批提交，每批记一条事件；中断后再运行即从未完成处继续，已换新的不会再加密一次。"
            "运行前须先把新密钥加入所有进程的密钥环并重启（见 docs/operations.md）。"
            "加 --index 时改为重新计算全部检索索引（检索密钥 HUZHU_PII_INDEX_KEY）。")

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--batch", type=int, default=500, help="每批行数（默认 500）")
        parser.add_argument("--index", action="store_true",
                            help="改为轮换检索索引密钥：用 HUZHU_PII_INDEX_KEY 中版本号最大的密钥重新"
                                 "计算全部检索索引（身份证号、手机号、银行账号）")
        parser.add_argument("--throttle", type=float, default=0.0,
                            help="每批之后暂停的秒数，减轻在线数据库的负担（默认 0）")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["batch"] < 1:
            raise CommandError("--batch 至少为 1")
        if options["index"]:
            self._index(options)
            return
        current = cipher().current_version

        def report(p: Progress) -> None:
            self.stdout.write(f"{p.label}：本批重新加密 {p.reencrypted} 项（至编号 {p.last_id}）")
            self.stdout.flush()

        done = rotate(batch=options["batch"], throttle=options["throttle"],
                      report=report if options["verbosity"] >= 1 else None)
        total = sum(done.values())
        self.stdout.write(f"完成：共重新加密 {total} 项，现全部使用密钥版本 {current}")

    def _index(self, options: dict[str, Any]) -> None:
        current = max(index_keyring())

        def report(p: IndexProgress) -> None:
            self.stdout.write(f"{p.label}：本批重新计算 {p.recomputed} 项（至编号 {p.last_id}）")
            self.stdout.flush()

        result = rotate_index(batch=options["batch"], throttle=options["throttle"],
                              report=report if options["verbosity"] >= 1 else None)
        total = sum(result["recomputed"].values())
        for label, n in result["cleared"].items():
            self.stdout.write(f"{label}：清除 {n} 条已过期注册请求的旧索引（无明文可重算，已不再使用）")
        for label, n in result["unverified"].items():
            self.stderr.write(f"{label}：{n} 项检索索引与本行密文不符，未改动，请核查")
        self.stdout.write(f"完成：共重新计算 {total} 项检索索引，现全部使用检索密钥版本 {current}")
        if result["unverified"]:
            raise CommandError("有检索索引与密文不符，旧检索密钥暂不能移除")
