"""The ``huzhu`` command: Django's commands plus the platform's own.

``huzhu rules ...`` runs the pure rules engine without Django settings or a database.
``huzhu <group> <action> ...`` runs the management command ``<group>_<action>`` when it exists
(``huzhu demo seed`` → ``demo_seed``, ``huzhu audit verify`` → ``audit_verify``; a hyphen in the
action is an underscore: ``huzhu payouts close-day`` → ``payouts_close_day``); anything else goes
to Django (``huzhu migrate``, ``huzhu runserver``).
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "rules":
        from huzhu.rules.cli import main as rules_main

        return rules_main(args[1:])
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "huzhu.settings")
    import django
    from django.core.management import execute_from_command_line, get_commands

    django.setup()
    if len(args) >= 2 and f"{args[0]}_{args[1].replace('-', '_')}" in get_commands():
        args = [f"{args[0]}_{args[1].replace('-', '_')}", *args[2:]]
    if not args:
        args = ["help"]
    from huzhu.web.request_context import acting_as

    # Changes a command makes with nobody logged in are recorded as the command's
    # (huzhu/accounts/trail.py), e.g. ``huzhu changepassword``; a command may name itself.
    with acting_as(label=f"命令行 huzhu {args[0]}"[:150]):
        execute_from_command_line(["huzhu", *args])
    return 0


if __name__ == "__main__":
    sys.exit(main())
