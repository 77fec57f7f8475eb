"""``huzhu demo code USERNAME``: the current second-factor code of a demo user, for a person
trying the demo without an authenticator app at hand. Only in a development checkout
(HUZHU_DEV=1): it reads the user's TOTP key from the database, as the user's phone would hold it.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = (
        "打印演示用户当前的 6 位双因素认证验证码（代替手机身份验证器，仅限 HUZHU_DEV=1 的演示环境）"
        " / Print a demo user's current second-factor code (development checkouts only)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")

    def handle(self, *args: Any, **options: Any) -> None:
        from django_otp.oath import TOTP
        from django_otp.plugins.otp_totp.models import TOTPDevice

        if not settings.DEV:
            raise CommandError("仅用于演示环境（HUZHU_DEV=1）；生产环境的验证码只在本人手机上。")
        device = (TOTPDevice.objects.filter(user__username=options["username"])
                  .order_by("-confirmed", "-pk").first())
        if device is None:
            raise CommandError("该用户还没有身份验证器：请先用其账号登录，打开绑定页面后再运行本命令。")
        clock = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
        clock.time = time.time()
        left = device.step - int(clock.time - device.t0) % device.step
        self.stdout.write(f"{clock.token():0{device.digits}d}")
        self.stderr.write(f"（{'已绑定' if device.confirmed else '绑定中'}，{left} 秒后更换；"
                          "每个验证码只能用一次）")
