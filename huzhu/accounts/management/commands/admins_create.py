"""``huzhu admins create --username U --role system_admin|security_admin|audit_admin
[--org ORG]``: make one of the three administrators' accounts (三员) on the server.

No page can grant these roles (docs/adr/0011); this command is the root of trust, run at
installation. The account gets the admin's staff flag and no usable password: set it with
``huzhu changepassword U``. Recorded in the event chain as this command's act.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q

from huzhu.accounts.models import User
from huzhu.accounts.roles import ADMIN_ROLES, Role
from huzhu.organisations.models import Organisation
from huzhu.web.request_context import acting_as


class Command(BaseCommand):
    help = "建立系统管理员、安全管理员或审计管理员账号（三员分立；页面上不能授予这三个角色）。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", required=True)
        parser.add_argument("--role", required=True, choices=sorted(ADMIN_ROLES))
        parser.add_argument("--org", default="", help="所属组织编号或代码（默认：根组织）")
        parser.add_argument("--name", default="", help="姓名")

    def handle(self, *args: Any, **options: Any) -> None:
        key = options["org"].strip()
        if key:
            q = Q(code=key) | (Q(pk=int(key)) if key.isdigit() else Q(pk=None))
            org = Organisation.objects.filter(q).first()
        else:
            org = Organisation.objects.filter(parent__isnull=True).order_by("pk").first()
        if org is None:
            raise CommandError("组织不存在")
        username = options["username"].strip()
        if User.objects.filter(username=username).exists():
            raise CommandError(f"用户 {username} 已存在")
        role = Role(options["role"])
        user = User(username=username, role=role, organisation=org, is_staff=True,
                    display_name=options["name"] or role.label)
        user.set_unusable_password()
        with acting_as(label="huzhu admins create"):
            user.save()
        self.stdout.write(f"已建立{role.label}账号 {username}（{org.name}）。"
                          f"请用 huzhu changepassword {username} 设置密码。")
