"""Logical backups and their restore (TRUST S-24; docs/operations.md).

``huzhu backup dump --out F`` writes the database to ``F`` — on PostgreSQL with ``pg_dump
--format=custom``, on SQLite with SQLite's online backup — and beside it ``F.json``, the
manifest: the row count of every table, the ledger's figures (the sum of all debits, the fund
balance, per account kind) and the head of the event chain, read in the same snapshot as the
dump (PostgreSQL: ``pg_export_snapshot`` shared with ``pg_dump --snapshot``). The dump holds what
the database holds: personal data sealed with the keyring (the keys are not in it; a restore
needs the keyring that was current when the dump was taken, so old key versions are kept as
long as the backups that need them).

``huzhu backup restore --from F --into URL`` loads a dump into an EMPTY database (a new
PostgreSQL database, or a SQLite file that does not exist yet), then, against the restored
database, compares every figure with the manifest and runs ``huzhu ledger verify`` and ``huzhu
audit verify``; any difference fails the restore.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dj_database_url
from django.db import connection, transaction

from huzhu.audit.models import Action
from huzhu.audit.services import event_record

MANIFEST_VERSION = 1


class BackupError(Exception):
    """A dump or restore could not be made, or the restored database differs."""


def manifest_path(dump: Path) -> Path:
    return dump.with_name(dump.name + ".json")


def _pg_env(db: Mapping[str, Any]) -> tuple[list[str], dict[str, str]]:
    """The connection arguments and environment of pg_dump/pg_restore/psql for a database."""
    args = ["--dbname", str(db["NAME"])]
    if db.get("HOST"):
        args += ["--host", str(db["HOST"])]
    if db.get("PORT"):
        args += ["--port", str(db["PORT"])]
    if db.get("USER"):
        args += ["--username", str(db["USER"])]
    env = dict(os.environ)
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])  # never on the command line
    return args, env


def figures(cursor: Any, tables: Sequence[str], quote: Any) -> dict[str, Any]:
    """What a restore must reproduce exactly: every table's row count, the ledger's totals and
    the event chain's head."""
    counts = {}
    for table in sorted(tables):
        cursor.execute(f"SELECT COUNT(*) FROM {quote(table)}")  # table names from the catalogue
        counts[table] = cursor.fetchone()[0]
    cursor.execute("SELECT COALESCE(SUM(amount_fen), 0), COUNT(*) FROM ledger_leg "
                   "WHERE amount_fen > 0")
    debits, debit_legs = cursor.fetchone()
    cursor.execute("SELECT a.kind, COALESCE(SUM(l.amount_fen), 0) FROM ledger_leg l "
                   "JOIN ledger_account a ON a.id = l.account_id GROUP BY a.kind ORDER BY a.kind")
    by_kind = {kind: int(total) for kind, total in cursor.fetchall()}
    cursor.execute("SELECT seq, hash FROM audit_chainhead WHERE name = 'events'")
    head = cursor.fetchone()
    return {"tables": counts,
            "ledger": {"debits_fen": int(debits), "debit_legs": int(debit_legs),
                       "fund_balance_fen": by_kind.get("fund_balance", 0),
                       "by_kind_fen": by_kind},
            "audit_head": {"seq": head[0], "hash": head[1]} if head else None}


def _django_tables() -> list[str]:
    return [t for t in connection.introspection.table_names() if not t.startswith("sqlite_")]


def current_figures() -> dict[str, Any]:
    with connection.cursor() as cur:
        return figures(cur, _django_tables(), connection.ops.quote_name)


def dump(out: Path, *, actor_label: str = "huzhu backup dump") -> dict[str, Any]:
    """Write the database to ``out`` and its manifest beside it; the manifest."""
    out = out.resolve()
    if out.exists():
        raise BackupError(f"{out} 已存在：备份不覆盖已有文件")
    out.parent.mkdir(parents=True, exist_ok=True)
    event_record(action=Action.BACKUP_MADE, actor_label=actor_label, object_type="database",
                 object_id=connection.vendor, after={"file": out.name})
    if connection.vendor == "postgresql":
        found = _dump_postgresql(out)
    elif connection.vendor == "sqlite":
        found = _dump_sqlite(out)
    else:
        raise BackupError(f"不支持的数据库：{connection.vendor}")
    manifest = {"version": MANIFEST_VERSION, "engine": connection.vendor,
                "created_at": datetime.datetime.now(datetime.UTC).isoformat(),
                "file": out.name, "size": out.stat().st_size, **found}
    tmp = manifest_path(out).with_suffix(".tmp")
    tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=2))
    tmp.replace(manifest_path(out))
    return manifest


def _dump_postgresql(out: Path) -> dict[str, Any]:
    args, env = _pg_env(connection.settings_dict)
    # The figures and the dump read one snapshot: the manifest matches the file exactly even
    # while the platform keeps writing.
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        cur.execute("SELECT pg_export_snapshot()")
        snapshot = cur.fetchone()[0]
        found = figures(cur, _django_tables(), connection.ops.quote_name)
        done = subprocess.run(  # fixed program; arguments from settings
            ["pg_dump", "--format=custom", "--no-owner", "--no-privileges",
             f"--snapshot={snapshot}", "--file", str(out), *args],
            env=env, capture_output=True, text=True)
    if done.returncode != 0:
        out.unlink(missing_ok=True)
        raise BackupError(f"pg_dump 失败：{done.stderr.strip()}")
    return found


def _dump_sqlite(out: Path) -> dict[str, Any]:
    connection.ensure_connection()
    target = sqlite3.connect(str(out))
    try:
        connection.connection.backup(target)  # a consistent copy, online
    finally:
        target.close()
    copy = sqlite3.connect(f"file:{out}?mode=ro", uri=True)
    try:
        cur = copy.cursor()
        cur.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                    "AND name NOT LIKE 'sqlite_%'")
        tables = [row[0] for row in cur.fetchall()]
        return figures(cur, tables, lambda name: '"' + name.replace('"', '""') + '"')
    finally:
        copy.close()


def restore(dump_file: Path, into: str) -> None:
    """Load ``dump_file`` into the empty database ``into`` (a database URL)."""
    manifest = json.loads(manifest_path(dump_file).read_text())
    target = dj_database_url.parse(into)
    engine = target["ENGINE"]
    if manifest["engine"] == "postgresql" and engine.endswith("postgresql"):
        args, env = _pg_env(target)
        done = subprocess.run(
            ["psql", "-At", "-c",
             "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", *args],
            env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise BackupError(f"无法连接目标数据库：{done.stderr.strip()}")
        if int(done.stdout.strip() or 0):
            raise BackupError("目标数据库不是空的：请恢复到新建的空数据库")
        done = subprocess.run(
            ["pg_restore", "--exit-on-error", "--single-transaction", "--no-owner",
             "--no-privileges", *args, str(dump_file)], env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise BackupError(f"pg_restore 失败：{done.stderr.strip()}")
    elif manifest["engine"] == "sqlite" and engine.endswith("sqlite3"):
        path = Path(str(target["NAME"]))
        if path.exists() and path.stat().st_size:
            raise BackupError(f"{path} 已存在：请恢复到新的文件")
        shutil.copyfile(dump_file, path)
    else:
        raise BackupError(f"备份来自 {manifest['engine']}，不能恢复到 {engine}")


def check_restored(dump_file: Path, into: str) -> list[str]:
    """Compare the restored database with the manifest and verify its ledger and event chain,
    each in a child process connected to it; the problems found (none: a good restore)."""
    problems = []
    env = {**os.environ, "DATABASE_URL": into}
    huzhu = [sys.executable, "-m", "huzhu.cli"]
    for command in (["backup", "check", "--manifest", str(manifest_path(dump_file))],
                    ["ledger", "verify"], ["audit", "verify"]):
        done = subprocess.run([*huzhu, *command], env=env,
                              capture_output=True, text=True)
        if done.returncode != 0:
            problems.append(f"huzhu {' '.join(command[:2])}：{done.stderr.strip()}")
    return problems


def compare(manifest: dict[str, Any], found: dict[str, Any]) -> list[str]:
    problems = []
    for table, count in manifest["tables"].items():
        if found["tables"].get(table) != count:
            problems.append(f"表 {table}：备份时 {count} 行，恢复后 {found['tables'].get(table)} 行")
    for key, value in manifest["ledger"].items():
        if found["ledger"].get(key) != value:
            problems.append(f"基金账 {key}：备份时 {value}，恢复后 {found['ledger'].get(key)}")
    if manifest["audit_head"] != found["audit_head"]:
        problems.append("事件链末端与备份时不同")
    return problems


def redact_url(url: str) -> str:
    """A database URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url
