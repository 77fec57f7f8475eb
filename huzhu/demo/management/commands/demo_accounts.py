"""``huzhu demo accounts``: one demo user per role, with generated passwords."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from huzhu.demo.accounts import DemoAccountsError, accounts_path, ensure_demo_accounts, format_table


class Command(BaseCommand):
    help = (
        "为演示省份的每个角色建一个演示账号（已有则沿用），密码随机生成并保存在 "
        "var/demo-accounts.json（仅本人可读），然后打印账号表。没有任何默认密码。"
        " / Create one demo user per role (if missing) with a generated password kept in "
        "var/demo-accounts.json (mode 0600), and print them."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            accounts = ensure_demo_accounts()
        except DemoAccountsError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write("演示账号 / Demo accounts（仅用于本地演示，请勿用于生产环境）：")
        for line in format_table(accounts):
            self.stdout.write("  " + line)
        new = sum(a.created for a in accounts)
        if new:
            self.stdout.write(f"新建或重设了 {new} 个账号。")
        self.stdout.write(f"密码保存在 {accounts_path()}（权限 0600）。")
        self.stdout.write(
            "工作人员（会员、单位经办人以外的角色）登录后须绑定身份验证器（双因素认证）：用手机"
            "身份验证器扫描页面上的二维码；手边没有时，运行 `.venv/bin/huzhu demo code 用户名` "
            "得到当前的 6 位验证码。")
