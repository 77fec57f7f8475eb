"""``huzhu keys new``: add a new personal-data key version to the keyring file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from huzhu.ops.index_keys import index_fingerprint
from huzhu.ops.keys import fingerprint, index_keyring_extend, keyring_extend
from huzhu.pii.crypto import parse_index_keyring, parse_keyring


class Command(BaseCommand):
    help = ("在密钥环文件中加入一个新版本的随机密钥（保留旧版本），只打印版本号和指纹，不打印密钥。"
            "默认写入 HUZHU_PII_KEYS_FILE 所指的文件；也可用 --out 写到另一个文件（权限 0600）。"
            "之后重启全部进程，再运行 huzhu keys rotate。加 --index 时改为检索索引密钥环。")

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--out", help="写入的文件（默认 HUZHU_PII_KEYS_FILE，"
                                          "加 --index 时 HUZHU_PII_INDEX_KEY_FILE）")
        parser.add_argument("--index", action="store_true",
                            help="改为在检索索引密钥环（HUZHU_PII_INDEX_KEY）中加入新版本")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["index"]:
            self._index(options)
            return
        out = options["out"] or os.environ.get("HUZHU_PII_KEYS_FILE")
        if not out:
            raise CommandError("密钥环不在文件中：请设置 HUZHU_PII_KEYS_FILE，或用 --out 指定新文件")
        spec, version = keyring_extend(settings.PII_KEYS)
        path = Path(out)
        _write(path, spec)
        key = parse_keyring(spec)[version]
        self.stdout.write(f"已在 {path} 加入密钥版本 {version}（指纹 {fingerprint(key)}）。"
                          "请重启全部进程使其生效，然后运行 huzhu keys rotate。")

    def _index(self, options: dict[str, Any]) -> None:
        out = options["out"] or os.environ.get("HUZHU_PII_INDEX_KEY_FILE")
        if not out:
            raise CommandError("检索密钥环不在文件中：请设置 HUZHU_PII_INDEX_KEY_FILE，"
                               "或用 --out 指定新文件")
        try:
            spec, version = index_keyring_extend(settings.PII_INDEX_KEY)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        path = Path(out)
        _write(path, spec)
        key = parse_index_keyring(spec)[version]
        self.stdout.write(f"已在 {path} 加入检索密钥版本 {version}（指纹 {index_fingerprint(key)}）。"
                          "请重启全部进程使其生效，然后运行 huzhu keys rotate --index。")


def _write(path: Path, spec: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(spec + "\n")
    os.replace(tmp, path)
