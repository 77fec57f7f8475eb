"""Key rotation (TRUST S-14): a new key version encrypts new writes while old rows stay
readable; ``huzhu keys rotate`` re-encrypts every encrypted column and the claim documents
under the new key, in audited batches; afterwards the old key can go. A run killed half way is
finished by the next, nothing lost and nothing sealed twice."""

from __future__ import annotations

import base64
import datetime
import os
import re
import secrets
import signal
import subprocess
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection

from huzhu.audit.models import Event
from huzhu.audit.services import chain_verify
from huzhu.claims.documents import _path, document_read, documents_add
from huzhu.demo.identities import resident_id
from huzhu.enrollment.models import Roster
from huzhu.enrollment.services import roster_file_read
from huzhu.members.models import Member
from huzhu.members.services import MemberInput, member_create
from huzhu.ops.keys import (
    BANK_FILES,
    DOCUMENTS,
    FILE_KINDS,
    ROSTERS,
    column_versions,
    encrypted_columns,
    file_versions,
    fingerprint,
)
from huzhu.payouts.channels import FileDropChannel
from huzhu.payouts.models import PayoutLine
from huzhu.pii.crypto import DecryptionError, parse_keyring
from huzhu.settlements.models import Settlement
from tests.ops.support import BIN, ROOT, migrated_sqlite, production_env

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
BANK_FILE = "批次号,PB20261207000001\n明细号,账号,户名,金额\n1,6222021234567893029,张三,100.00\n".encode()


def new_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def versions() -> dict[str, dict[int, int]]:
    return {c.label: dict(column_versions(c)) for c in encrypted_columns()}


def plaintexts() -> dict[str, Any]:
    return {
        "members": sorted((m.pk, m.id_number, m.phone, m.bank_card)
                          for m in Member.objects.all()),
        "settlements": sorted((s.pk, s.certno, s.raw, s.diag_code, s.diag_name)
                              for s in Settlement.objects.all()),
        "lines": sorted((ln.pk, ln.account_no) for ln in PayoutLine.objects.all()),
    }


@pytest.fixture
def data(paid_and_failed: Any, settings: Any, tmp_path: Path) -> Any:
    w = paid_and_failed
    settings.DOCUMENTS_DIR = tmp_path / "documents"
    w.doc = documents_add(claim=w.paid, files=[("discharge", "出院记录.pdf", PDF)],
                          actor=w.lisi)[0]
    w.old_spec = settings.PII_KEYS
    w.old_version = max(parse_keyring(w.old_spec))
    w.batch_no = "PB20261207000001"
    return w


def test_rotation_moves_every_value_to_the_new_key(data, settings):
    w = data
    before = plaintexts()
    assert before["settlements"] and before["lines"]  # something in every kind of column
    new_version = w.old_version + 1
    settings.PII_KEYS = f"{w.old_spec},{new_version}:{new_key()}"
    # Old rows stay readable; new writes use the new key.
    assert plaintexts() == before
    fresh = member_create(actor=None, data=MemberInput(
        name="新会员", id_number=resident_id("450103", datetime.date(1970, 1, 2), 77), phone="13800001111", unit=w.unit_a))
    with connection.cursor() as cur:
        cur.execute("SELECT id_number FROM members_member WHERE id = %s", [fresh.pk])
        assert int.from_bytes(bytes(cur.fetchone()[0])[1:3], "big") == new_version
    before = plaintexts()
    assert versions()["members.Member.id_number"][w.old_version] == len(before["members"]) - 1

    stale = sum(n for counts in versions().values() for v, n in counts.items()
                if v != new_version)
    drop = FileDropChannel()  # the installation's outgoing folder, where the page sends
    drop.submit(w.batch_no, BANK_FILE)
    files = {kind: dict(file_versions(kind)) for kind in FILE_KINDS}
    assert files[ROSTERS] and files[BANK_FILES]  # the world's roster and its sent batches
    # (the bank file just written is sealed under the new key already: nothing to do for it)
    sealed = sum(n for counts in files.values() for v, n in counts.items() if v != new_version)
    roster = Roster.objects.order_by("pk").first()
    roster_bytes = roster_file_read(roster)
    events = Event.objects.count()
    out = StringIO()
    call_command("keys_rotate", batch=2, stdout=out)
    after = versions()
    assert all(set(counts) <= {new_version} for counts in after.values()), after
    assert after["members.Member.id_number"] == {new_version: len(before["members"])}
    assert after["settlements.Settlement.raw"] == {new_version: len(before["settlements"])}
    token = _path(w.doc.storage_name).read_bytes()
    assert int.from_bytes(token[1:3], "big") == new_version
    # Every sealed file moved too: the document, the uploaded roster, the bank files.
    assert {kind: set(file_versions(kind)) for kind in FILE_KINDS} == {
        kind: {new_version} for kind in FILE_KINDS}
    assert roster_file_read(roster) == roster_bytes and drop.read(w.batch_no) == BANK_FILE
    # Audited: one event per batch and per file, and the run's summary; chain whole.
    batches = Event.objects.filter(action="keys.reencrypted", seq__gt=0).order_by("seq")
    counted = sum(e.after["count"] for e in batches)
    assert counted == stale + sealed
    assert Event.objects.filter(action="keys.rotated").count() == 1
    assert Event.objects.count() > events and list(chain_verify()) == []
    # Key material is nowhere in the events or the output; its fingerprint is.
    new_raw = parse_keyring(settings.PII_KEYS)[new_version]
    dumped = out.getvalue() + repr(list(Event.objects.values_list("after", flat=True)))
    assert base64.urlsafe_b64encode(new_raw).decode().rstrip("=") not in dumped

    # The old key can go: everything reads with the new key alone ...
    settings.PII_KEYS = f"{new_version}:{settings.PII_KEYS.rsplit(':', 1)[1]}"
    assert plaintexts() == before
    assert document_read(document=w.doc, actor=w.lisi) == PDF
    # ... which it could not before the rotation (the check above can fail).
    settings.PII_KEYS = f"{new_version}:{new_key()}"
    with pytest.raises(DecryptionError):
        plaintexts()


def test_keys_status_lists_the_keyring_by_fingerprint_and_what_is_stale(data, settings):
    w = data
    extra = new_key()
    settings.PII_KEYS = f"{w.old_spec},{w.old_version + 1}:{extra}"
    out = StringIO()
    with pytest.raises(Exception, match="仍由旧密钥加密"):
        call_command("keys_status", check=True, stdout=out)
    text = out.getvalue()
    assert fingerprint(parse_keyring(settings.PII_KEYS)[w.old_version + 1]) in text
    assert extra not in text and w.old_spec.split(":", 1)[1] not in text
    assert f"{DOCUMENTS}：版本 {w.old_version}：1" in text
    call_command("keys_rotate", stdout=StringIO())
    out = StringIO()
    call_command("keys_status", check=True, stdout=out)
    assert f"全部由当前密钥（版本 {w.old_version + 1}）加密" in out.getvalue()


# Killed half way: a real process, SIGKILLed while it rotates, on a database of its own.

DIGEST = ("import hashlib, django; django.setup()\n"
          "from huzhu.members.models import Member\n"
          "from huzhu.organisations.models import Agent\n"
          "rows = sorted((m.pk, m.id_number, m.phone, m.bank_card) for m in Member.objects.all())\n"
          "rows += sorted((a.pk, a.phone) for a in Agent.objects.all())\n"
          "print(len(rows), hashlib.sha256(repr(rows).encode()).hexdigest())\n")


def run(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run([str(BIN / "huzhu"), *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0 or not check, done.stdout + done.stderr
    return done


def digest(env: dict[str, str]) -> str:
    done = subprocess.run([str(BIN / "python"), "-c", DIGEST], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def stale(env: dict[str, str]) -> int:
    text = run(env, "keys", "status", check=False).stdout
    found = re.search(r"尚有 (\d+) 项", text)
    return int(found.group(1)) if found else 0


def test_a_rotation_killed_half_way_is_finished_by_the_next_run(tmp_path, sqlite_template):
    db = migrated_sqlite(sqlite_template, tmp_path / "db.sqlite3")
    env = production_env(tmp_path, f"sqlite:///{db}")
    old = env["HUZHU_PII_KEYS"]
    run(env, "demo", "seed", "--members", "400", "--seed", "7")
    before = digest(env)
    env["HUZHU_PII_KEYS"] = f"{old},2:{new_key()}"
    initial = stale(env)
    assert initial > 1000

    child = subprocess.Popen([str(BIN / "huzhu"), "keys", "rotate", "--batch", "40",
                              "--throttle", "0.05"], env=env, cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = [child.stdout.readline() for _ in range(6)]  # type: ignore[union-attr]
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    assert all("本批重新加密" in line for line in lines), lines
    left = stale(env)
    assert 0 < left <= initial - 6 * 40  # six batches committed, the rest not: half way
    assert digest(env) == before  # every value readable, old key or new

    done = run(env, "keys", "rotate", "--batch", "500")
    assert "现全部使用密钥版本 2" in done.stdout
    assert stale(env) == 0
    # Read with the new key alone: nothing was left under the old one, nothing sealed twice.
    env["HUZHU_PII_KEYS"] = "2:" + env["HUZHU_PII_KEYS"].rsplit(":", 1)[1]
    assert digest(env) == before
    assert "哈希链无断点" in run(env, "audit", "verify").stdout
    counted = run(env, "shell", "-v", "0", "-c",
                  "from huzhu.audit.models import Event;"
                  "print(sum(e.after['count'] for e in Event.objects.filter("
                  "action='keys.reencrypted')))").stdout
    assert int(counted.split()[-1]) == initial  # every re-encrypted value is in exactly one event
