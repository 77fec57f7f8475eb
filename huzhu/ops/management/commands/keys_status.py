"""``huzhu keys status``: the key inventory, and what each key version still seals."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from huzhu.ops.index_keys import INDEX_COLUMNS, column_index_versions, index_fingerprint
from huzhu.ops.keys import (
    FILE_KINDS,
    column_versions,
    encrypted_columns,
    file_versions,
    fingerprint,
    keyring,
)
from huzhu.pii.crypto import index_keyring


class Command(BaseCommand):
    help = ("列出个人信息密钥环（版本号与指纹，不显示密钥本身）以及每个加密字段、理赔材料、花名册与银行文件"
            "各有多少项由哪个版本加密；检索索引密钥环与各检索索引列按版本的项数。加 --check 时，若仍有项目不是当前密钥加密则以非零状态退出。")

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--check", action="store_true",
                            help="仍有旧密钥或未配置的密钥加密的项目时以非零状态退出")

    def handle(self, *args: Any, **options: Any) -> None:
        keys = keyring()
        current = max(keys)
        self.stdout.write("个人信息密钥环（HUZHU_PII_KEYS）：")
        for version in sorted(keys):
            mark = "（当前，用于加密新数据）" if version == current else "（仅用于解密）"
            self.stdout.write(f"  版本 {version}  指纹 {fingerprint(keys[version])}{mark}")
        stale = 0
        rows = [(c.label, column_versions(c)) for c in encrypted_columns()]
        rows += [(kind, file_versions(kind)) for kind in FILE_KINDS]
        self.stdout.write("各字段按密钥版本的项数：")
        for label, counts in rows:
            parts = "，".join(f"版本 {v}：{n}" + ("" if v in keys else "（密钥未配置！）")
                             for v, n in sorted(counts.items())) or "无数据"
            self.stdout.write(f"  {label}：{parts}")
            stale += sum(n for v, n in counts.items() if v != current)
        if stale:
            self.stdout.write(f"尚有 {stale} 项不是当前密钥（版本 {current}）加密："
                              "运行 huzhu keys rotate")
        else:
            self.stdout.write(f"全部由当前密钥（版本 {current}）加密")
        stale_index = self._index()
        if options["check"] and stale:
            raise CommandError(f"{stale} 项仍由旧密钥加密")
        if options["check"] and stale_index:
            raise CommandError(f"{stale_index} 项检索索引仍由旧检索密钥计算")

    def _index(self) -> int:
        keys = index_keyring()
        current = max(keys)
        self.stdout.write("检索索引密钥环（HUZHU_PII_INDEX_KEY）：")
        for version in sorted(keys):
            mark = "（当前，用于新索引）" if version == current else "（仅用于查找，轮换后可移除）"
            self.stdout.write(f"  版本 {version}  指纹 {index_fingerprint(keys[version])}{mark}")
        self.stdout.write("各检索索引按密钥版本的项数：")
        stale = 0
        for col in INDEX_COLUMNS:
            counts = column_index_versions(col)
            parts = "，".join(("未配置的版本" if v == 0 else f"版本 {v}") + f"：{n}"
                             + ("" if v in keys else "（密钥未配置！）")
                             for v, n in sorted(counts.items())) or "无数据"
            self.stdout.write(f"  {col.label}：{parts}")
            stale += sum(n for v, n in counts.items() if v != current)
        if stale:
            self.stdout.write(f"尚有 {stale} 项检索索引不是当前检索密钥（版本 {current}）计算："
                              "运行 huzhu keys rotate --index")
        else:
            self.stdout.write(f"全部检索索引由当前检索密钥（版本 {current}）计算")
        return stale
