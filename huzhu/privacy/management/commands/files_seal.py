"""``huzhu files seal``: encrypt roster and bank files stored in plaintext by older versions."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from huzhu.privacy.files import files_seal_legacy


class Command(BaseCommand):
    help = "把旧版本以明文保存的花名册文件和银行代付文件就地加密（已加密的不变）；升级后运行一次。"

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"已加密明文文件 {files_seal_legacy()} 个")
