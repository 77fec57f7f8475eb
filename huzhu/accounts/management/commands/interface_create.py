"""``huzhu interface create --region ORG [--name N]``: the bureau interface's machine account
of one fund region (role 医保数据接口), and an API token for it, printed once."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q

from huzhu.accounts.models import User
from huzhu.accounts.roles import Role
from huzhu.accounts.services import token_create
from huzhu.organisations.models import Organisation
from huzhu.web.request_context import acting_as


class Command(BaseCommand):
    help = ("为一个统筹区建立医保数据接口账号（只能推送本统筹区的医保结算数据）并生成接口令牌；"
            "令牌只显示这一次。")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--region", required=True, help="统筹区：组织编号（ID）或组织代码")
        parser.add_argument("--name", default="医保结算数据推送", help="令牌用途")

    def handle(self, *args: Any, **options: Any) -> None:
        key = options["region"].strip()
        q = Q(code=key) | (Q(pk=int(key)) if key.isdigit() else Q(pk=None))
        region = Organisation.objects.filter(q, is_fund_region=True).first()
        if region is None:
            raise CommandError(f"“{key}”不是统筹区")
        username = f"bureau-{region.pk}"
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User(username=username, role=Role.BUREAU_INTERFACE, organisation=region,
                        display_name=f"{region.name}医保数据接口")
            user.set_unusable_password()
            with acting_as(label="huzhu interface create"):
                user.save()  # recorded by huzhu/accounts/trail.py
        elif user.role != Role.BUREAU_INTERFACE or user.organisation_id != region.pk:
            raise CommandError(f"用户 {username} 已存在且不是{region.name}的医保数据接口账号")
        token, plain = token_create(actor=None, user=user, name=options["name"][:100])
        self.stderr.write(f"已为{region.name}的医保数据接口账号 {username} 生成令牌“{token.name}”。"
                          "请立即妥善保存，它不会再次显示：")
        self.stdout.write(plain)
