"""Helpers of the operations tests: a production environment for a child process, and a
migrated SQLite file database made once per run and copied for each test."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def production_env(var_dir: Path, database_url: str, **extra: str) -> dict[str, str]:
    """The environment of a production process: no HUZHU_DEV, every secret given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUZHU_")
           and k not in ("DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE")}
    env.update(HUZHU_SECRET_KEY=secrets.token_urlsafe(60),
               HUZHU_PII_KEYS="1:" + secrets.token_urlsafe(32),
               HUZHU_PII_INDEX_KEY=secrets.token_urlsafe(32),
               HUZHU_VAR_DIR=str(var_dir), HUZHU_ALLOWED_HOSTS="huzhu.example.org",
               DATABASE_URL=database_url, DJANGO_SETTINGS_MODULE="huzhu.settings")
    env.update(extra)
    return env


def migrated_sqlite(template_dir: Path, target: Path) -> Path:
    """A copy of a migrated SQLite database (migrated once into ``template_dir``)."""
    template = template_dir / "migrated.sqlite3"
    if not template.exists():
        env = production_env(template_dir, f"sqlite:///{template}.tmp")
        done = subprocess.run([str(BIN / "huzhu"), "migrate", "--no-input", "-v", "0"],
                              env=env, capture_output=True, text=True, timeout=300, cwd=ROOT)
        assert done.returncode == 0, done.stderr
        Path(f"{template}.tmp").replace(template)
    shutil.copyfile(template, target)
    return target
