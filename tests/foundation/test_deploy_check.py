"""Production settings pass Django's deployment checks at WARNING (TRUST S-01): HTTPS redirect
(the health check exempt), HSTS with subdomains and preload, secure cookies."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path


def _production_env(tmp_path: Path) -> dict[str, str]:
    # The test run's own switches are not a deployment's (the browser tests allow async-unsafe
    # database calls, which the deployment check rightly refuses).
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUZHU_")
           and k not in ("DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE")}
    env.update(HUZHU_SECRET_KEY=secrets.token_urlsafe(60),
               HUZHU_PII_KEYS="1:" + secrets.token_urlsafe(32),
               HUZHU_PII_INDEX_KEY=secrets.token_urlsafe(32),
               HUZHU_VAR_DIR=str(tmp_path), HUZHU_ALLOWED_HOSTS="huzhu.example.org",
               DJANGO_SETTINGS_MODULE="huzhu.settings")
    return env


def test_check_deploy_is_clean_in_production(tmp_path):
    done = subprocess.run([sys.executable, "-m", "huzhu.cli", "check", "--deploy",
                           "--fail-level", "WARNING"], env=_production_env(tmp_path),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout


def test_production_redirects_to_https_but_not_the_health_check(tmp_path):
    code = (
        "import django; django.setup()\n"
        "from django.test import Client\n"
        "c = Client()\n"
        "r = c.get('/login/', HTTP_HOST='huzhu.example.org')\n"
        "print(r.status_code, r.headers.get('Location'))\n"
        "r = c.get('/login/', HTTP_HOST='huzhu.example.org', HTTP_X_FORWARDED_PROTO='https')\n"
        "print(r.status_code, 'Strict-Transport-Security' in r.headers)\n"
        "print(c.get('/healthz', HTTP_HOST='huzhu.example.org').status_code != 301)\n")
    done = subprocess.run([sys.executable, "-c", code], env=_production_env(tmp_path),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    first, second, third = done.stdout.split("\n")[:3]
    assert first == "301 https://huzhu.example.org/login/"
    assert second.split() == ["200", "True"]
    assert third == "True"
