"""``huzhu token create --user U --name N``: issue an API token and print it once."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from huzhu.accounts.models import User
from huzhu.accounts.services import token_create


class Command(BaseCommand):
    help = "为集成客户端生成接口令牌。令牌只显示这一次，平台只保存它的 SHA-256 摘要。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", required=True, help="令牌代表的用户名；令牌沿用其角色和数据范围")
        parser.add_argument("--name", required=True, help="用途，例如 “人社局对接”")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["user"]).first()
        if user is None:
            raise CommandError(f"用户 {options['user']} 不存在")
        if not user.is_active:
            raise CommandError(f"用户 {options['user']} 已停用，不能为其生成令牌")
        name = options["name"].strip()
        if not name:
            raise CommandError("请用 --name 说明令牌用途")
        token, plain = token_create(actor=None, user=user, name=name[:100])
        self.stderr.write(
            f"已为 {user.username}（{user.get_role_display()}）生成令牌“{token.name}”。"
            "请立即妥善保存，它不会再次显示："
        )
        self.stdout.write(plain)
