"""Serve the app on a real WSGI server, for tests/api/test_schemathesis.py.

Run as ``python -m tests.api.live_app`` with ``DATABASE_URL`` pointing at a fresh SQLite file
and ``HUZHU_VAR_DIR`` at a scratch folder (the parent test sets both): it migrates, loads a
small demo province (members, products, settlements and claims, through huzhu.demo), makes one
staff user with an API token (through ``accounts.services.token_create``, as the suite's
``ApiClient`` does), prints ``{"port": ..., "token": ...}`` as one line on standard output and
serves ``huzhu.wsgi.application`` on 127.0.0.1 with Django's threaded WSGI server (the one
``runserver`` uses, without autoreload) until it is terminated.
"""

from __future__ import annotations

import json
import os
import sys

MEMBERS = 40
SEED = 2026


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "huzhu.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler

    from huzhu.accounts.models import User
    from huzhu.accounts.roles import Role
    from huzhu.accounts.services import token_create
    from huzhu.organisations.models import Organisation
    from huzhu.wsgi import application

    call_command("migrate", interactive=False, verbosity=0)
    call_command("demo_seed", members=MEMBERS, seed=SEED, verbosity=0)
    call_command("demo_products", verbosity=0)
    call_command("demo_claims", verbosity=0)
    province = Organisation.objects.get(parent=None)
    # A reviewer at the province: the widest business scope (every organisation, unit, member
    # and claim), with the right to write members and units and to reveal personal data.
    user = User.objects.create_user(username="schemathesis", role=Role.REVIEWER,
                                    organisation=province, display_name="接口契约测试")
    _, token = token_create(actor=None, user=user, name="schemathesis")

    class Handler(WSGIRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass  # the run's report says what was sent; keep the log quiet

    server = ThreadedWSGIServer(("127.0.0.1", 0), Handler)
    server.set_app(application)
    print(json.dumps({"port": server.server_port, "token": token}), flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    sys.exit(main())
