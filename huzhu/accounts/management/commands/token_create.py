"""``huzhu token create --user U --name N [--scope AREA:read|write ...] [--region ORG]
[--days D]``: issue an API token from the server's command line and print it once.

Without ``--scope`` the token may read and write every area the user's role has a use for;
without ``--region`` it covers the user's own scope; it expires after ``--days`` (default 90,
at most 365). Recorded in the event chain as the command line's act.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q

from huzhu.accounts.models import User
from huzhu.accounts.services import token_create
from huzhu.accounts.tokens import AREAS, MAX_DAYS, READ, WRITE
from huzhu.errors import DomainError
from huzhu.organisations.models import Organisation


class Command(BaseCommand):
    help = "为集成客户端生成接口令牌。令牌只显示这一次，平台只保存它的 SHA-256 摘要。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", required=True, help="令牌代表的用户名；令牌沿用其角色")
        parser.add_argument("--name", required=True, help="用途，例如 “人社局对接”")
        parser.add_argument("--scope", action="append", default=[],
                            help=f"接口范围 区域:read 或 区域:write，可重复；区域：{'、'.join(AREAS)}")
        parser.add_argument("--region", default="", help="数据范围：组织编号（ID）或组织代码")
        parser.add_argument("--days", type=int, default=90, help=f"有效天数（1–{MAX_DAYS}）")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["user"]).first()
        if user is None:
            raise CommandError(f"用户 {options['user']} 不存在")
        if not user.is_active:
            raise CommandError(f"用户 {options['user']} 已停用，不能为其生成令牌")
        name = options["name"].strip()
        if not name:
            raise CommandError("请用 --name 说明令牌用途")
        scopes = None
        if options["scope"]:
            scopes = {}
            for item in options["scope"]:
                area, _, level = item.partition(":")
                if area not in AREAS or level not in (READ, WRITE):
                    raise CommandError(f"接口范围 “{item}” 应为 区域:read 或 区域:write")
                scopes[area] = level
        region = None
        if options["region"]:
            key = options["region"].strip()
            q = Q(code=key) | (Q(pk=int(key)) if key.isdigit() else Q(pk=None))
            region = Organisation.objects.filter(q).first()
            if region is None:
                raise CommandError(f"组织 “{key}” 不存在")
        try:
            token, _plain = token_create(actor=None, user=user, name=name[:100], scopes=scopes,
                                         region=region, days=options["days"])
        except DomainError as exc:
            raise CommandError(exc.message) from None
        self.stderr.write(
            f"已为 {user.username}（{user.get_role_display()}）生成令牌“{token.name}”，"
            f"有效期至 {token.expires_at:%Y-%m-%d}。请立即妥善保存，它不会再次显示："
        )
        self.stdout.write(_plain)
