"""The restore drill (TRUST S-24): a small demo province is dumped with ``huzhu backup dump``,
restored into a fresh database with ``huzhu backup restore``, and the restored database passes
``huzhu ledger verify`` and ``huzhu audit verify`` with the same ledger totals, row counts and
decrypted personal data as the original. The dump holds no personal number in the clear.

It runs on the engine of the test run: with DATABASE_URL=postgres://… it makes two databases
beside the run's own (``<name>_drill_src``, ``<name>_drill_dst``, dropped afterwards) and uses
pg_dump/pg_restore; on SQLite, two files."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.ops.support import BIN, ROOT, migrated_sqlite, production_env

FIGURES = """
import hashlib, json, django; django.setup()
from django.db.models import Sum
from huzhu.ledger.models import AccountBalance, Leg
from huzhu.members.models import Member
members = list(Member.objects.order_by("pk"))
print(json.dumps({
    "members": len(members),
    "personal": hashlib.sha256(repr([(m.pk, m.name, m.id_number, m.phone, m.bank_card)
                                     for m in members]).encode()).hexdigest(),
    "legs": Leg.objects.count(),
    "debits_fen": Leg.objects.filter(amount_fen__gt=0).aggregate(s=Sum("amount_fen"))["s"],
    "balances_fen": sorted(AccountBalance.objects.values_list("account_id", "balance_fen")),
    "secrets": [(m.id_number, m.phone, m.bank_card) for m in members[:40]],
    "names": [m.name for m in members[:40]],
}, ensure_ascii=False))
"""


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "huzhu"), *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=600)


def ok(env: dict[str, str], *args: str) -> str:
    done = run(env, *args)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def figures(env: dict[str, str]) -> dict[str, Any]:
    done = subprocess.run([str(BIN / "python"), "-c", FIGURES], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def psql(server: str, sql: str) -> None:
    subprocess.run(["psql", server, "-qc", sql], check=True, capture_output=True, timeout=120)


@pytest.fixture
def databases(tmp_path: Path, sqlite_template: Path) -> Iterator[tuple[str, str, str]]:
    """(engine, source URL, destination URL): two empty databases of the run's engine."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        parts = urlsplit(url)
        base = parts.path.lstrip("/")
        server = urlunsplit(parts._replace(path="/postgres"))
        names = [f"{base}_drill_src", f"{base}_drill_dst"]
        for name in names:
            psql(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        psql(server, f'CREATE DATABASE "{names[0]}"')
        psql(server, f'CREATE DATABASE "{names[1]}"')
        try:
            yield ("postgresql", *(urlunsplit(parts._replace(path=f"/{n}")) for n in names))
        finally:
            for name in names:
                psql(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    else:
        src = migrated_sqlite(sqlite_template, tmp_path / "source.sqlite3")
        yield "sqlite", f"sqlite:///{src}", f"sqlite:///{tmp_path / 'restored.sqlite3'}"


def test_restore_drill(databases, tmp_path):
    engine, source, target = databases
    env = production_env(tmp_path, source)
    if engine == "postgresql":
        ok(env, "migrate", "--no-input", "-v", "0")
    ok(env, "demo", "seed", "--members", "300", "--seed", "11")
    ok(env, "demo", "products")
    ok(env, "demo", "claims", "--units", "4", "--seed", "11")
    original = figures(env)
    assert original["debits_fen"] > 0 and original["legs"] > 0

    dump = tmp_path / "huzhu.dump"
    ok(env, "backup", "dump", "--out", str(dump))
    manifest = json.loads((tmp_path / "huzhu.dump.json").read_text())
    assert manifest["ledger"]["debits_fen"] == original["debits_fen"]
    assert manifest["tables"]["members_member"] == original["members"]

    # No personal number in the clear anywhere in the dump (the names, kept plain, are: the
    # search would find a number if one were there).
    if engine == "postgresql":
        text = subprocess.run(["pg_restore", "--file=-", str(dump)], capture_output=True,
                              check=True, timeout=120).stdout.decode()
    else:
        text = dump.read_bytes().decode("utf-8", errors="replace")
    assert all(name in text for name in original["names"])
    for values in original["secrets"]:
        for value in values:
            if value:
                assert value not in text

    restored = ok(env, "backup", "restore", "--from", str(dump), "--into", target)
    assert "核对通过" in restored
    at_target = {**env, "DATABASE_URL": target}
    assert "基金账核对通过" in ok(at_target, "ledger", "verify")
    assert "哈希链无断点" in ok(at_target, "audit", "verify")
    # The restored database reads with the same keyring: the same people, the same money.
    assert figures(at_target) == original

    # The checks can fail: a manifest one fen off is refused, and so is a non-empty target.
    manifest["ledger"]["debits_fen"] += 1
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(manifest))
    done = run(at_target, "backup", "check", "--manifest", str(tampered))
    assert done.returncode != 0 and "debits_fen" in done.stderr
    done = run(env, "backup", "restore", "--from", str(dump), "--into", target)
    assert done.returncode != 0
