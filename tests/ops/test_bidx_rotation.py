"""Blind-index key rotation (TRUST S-14): ``huzhu keys rotate --index`` recomputes every blind
index under a new index key, in audited batches; lookups by ID number, phone and card find the
same people before, during and after; a member's ID number stays unique throughout; afterwards
the old index key can go. A run killed half way is finished by the next."""

from __future__ import annotations

import base64
import datetime
import os
import re
import secrets
import signal
import subprocess
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from huzhu.accounts.models import SignupCode, User
from huzhu.accounts.signup import signup_request
from huzhu.audit.models import Event
from huzhu.audit.services import chain_verify
from huzhu.demo.identities import resident_id
from huzhu.errors import DomainError
from huzhu.members.models import Member
from huzhu.members.services import MemberInput, member_create, member_find_by_id_number
from huzhu.ops.index_keys import (
    INDEX_COLUMNS,
    column_index_versions,
    index_fingerprint,
    rotate_index,
)
from huzhu.organisations.models import Agent
from huzhu.payouts.models import PayoutLine
from huzhu.payouts.services import card_matches
from huzhu.pii.crypto import blind_index, blind_indexes, parse_index_keyring
from huzhu.pii.inventory import PI_INVENTORY
from huzhu.settlements.models import Settlement
from tests.ops.support import BIN, ROOT, migrated_sqlite, production_env


def new_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def lookups() -> dict[str, Any]:
    """Every person found by each of their numbers: what must not change."""
    members = Member.objects.all()
    return {
        "by_id": sorted((m.pk, getattr(member_find_by_id_number(members, m.id_number), "pk", None))
                        for m in members),
        "by_phone": sorted((m.pk, sorted(Member.objects.filter(
            phone_bidx__in=blind_indexes(m.phone, field="phone")).values_list("pk", flat=True)))
            for m in members if m.phone),
        "agents": sorted((a.pk, sorted(Agent.objects.filter(
            phone_bidx__in=blind_indexes(a.phone, field="phone")).values_list("pk", flat=True)))
            for a in Agent.objects.all()),
        "settlements": sorted((s.pk, sorted(Settlement.objects.filter(
            certno_bidx__in=blind_indexes(s.certno, field="id_number")).values_list(
                "pk", flat=True))) for s in Settlement.objects.all()),
        "cards": sorted((ln.pk, card_matches(ln.account_no, ln.account_no_bidx))
                        for ln in PayoutLine.objects.all()),
    }


def index_versions() -> dict[str, dict[int, int]]:
    return {c.label: column_index_versions(c) for c in INDEX_COLUMNS}


@pytest.fixture
def data(paid_and_failed: Any, settings: Any) -> Any:
    w = paid_and_failed
    w.old_key = settings.PII_INDEX_KEY
    assert list(parse_index_keyring(w.old_key)) == [1]  # one key, the format before keyrings
    return w


def test_every_blind_index_of_the_inventory_is_rotated():
    listed = {label for label, f in PI_INVENTORY.items() if f.protection == "blind-index"}
    assert listed == {c.label for c in INDEX_COLUMNS}


def test_index_rotation_keeps_every_lookup_and_the_old_key_can_go(data, settings):
    w = data
    before = lookups()
    assert before["settlements"] and before["cards"] and before["agents"]
    assert all(found for _pk, found in before["cards"])
    assert all(pk == found for pk, found in before["by_id"])
    now = timezone.now()
    stranger = SignupCode.objects.create(  # someone who is not a member, two hours ago
        id_bidx=blind_index(resident_id("450103", datetime.date(1990, 1, 1), 5),
                            field="id_number"),
        phone_bidx=blind_index("13900000000", field="phone"), ip="10.0.0.9",
        created_at=now - datetime.timedelta(hours=2),
        expires_at=now - datetime.timedelta(hours=2) + datetime.timedelta(minutes=10))
    new = new_key()
    settings.PII_INDEX_KEY = f"1:{w.old_key},2:{new}"
    assert lookups() == before  # the same key as version 1: nothing moved yet, all found

    # A new member is indexed under the new key; an old member's ID number is still taken.
    fresh = member_create(actor=None, data=MemberInput(
        name="新会员", id_number=resident_id("450103", datetime.date(1970, 1, 2), 77),
        phone="13800001111", unit=w.unit_a))
    assert fresh.id_number_bidx.startswith("v2:") and len(fresh.id_number_bidx) == 64
    with pytest.raises(DomainError, match="已登记"):
        member_create(actor=None, data=MemberInput(name="重复", id_number=w.members[0].id_number,
                                                   unit=w.unit_a))
    before = lookups()
    stale = sum(n for counts in index_versions().values() for v, n in counts.items() if v != 2)
    assert stale > 10

    # Half way: one batch done, then the run dies.
    class Killed(Exception):
        pass

    def die(_progress: Any) -> None:
        raise Killed

    with pytest.raises(Killed):
        rotate_index(batch=3, report=die)
    mixed = index_versions()["members.Member.id_number_bidx"]
    assert set(mixed) == {1, 2}, mixed
    assert lookups() == before  # every lookup still finds its people, old index or new
    free = Member.objects.exclude(pk__in=User.objects.filter(member__isnull=False)
                                  .values("member_id")).exclude(pk=fresh.pk).exclude(phone_bidx="")
    moved = free.filter(id_number_bidx__startswith="v2:").first()  # its phone not yet
    unmoved = free.exclude(id_number_bidx__startswith="v2:").first()
    assert moved is not None and unmoved is not None
    for taken in (moved, unmoved):  # unique by ID number under either key
        with pytest.raises(DomainError, match="已登记"):
            member_create(actor=None, data=MemberInput(name="重复", id_number=taken.id_number,
                                                       unit=w.unit_a))
    # The member's own sign-up finds them, whichever key their row is under.
    for m in (moved, unmoved):
        if m.phone:  # (every one of them has)
            signup_request(id_number=m.id_number, name=m.name, phone=m.phone, ip="10.0.0.1")
            assert SignupCode.objects.order_by("-pk").first().member_id == m.pk

    events = Event.objects.count()
    out = StringIO()
    call_command("keys_rotate", index=True, batch=2, stdout=out)
    after = index_versions()
    assert all(set(counts) <= {2} for counts in after.values()), after
    assert after["members.Member.id_number_bidx"] == {2: Member.objects.count()}
    assert lookups() == before
    stranger.refresh_from_db()
    assert stranger.id_bidx == "" and stranger.phone_bidx == ""  # expired, nothing to recompute
    # Audited: one event per batch, counting what moved, and one for the run; chain whole.
    batches = Event.objects.filter(action="keys.reindexed", seq__gt=0)
    assert batches.count() >= 5 and Event.objects.filter(action="keys.index_rotated").count() == 1
    assert sum(e.after["count"] for e in batches) == stale  # the killed run's batch included
    assert Event.objects.count() > events and list(chain_verify()) == []
    dumped = out.getvalue() + repr(list(Event.objects.values_list("after", flat=True)))
    assert new not in dumped and w.old_key not in dumped

    # The old key can go: every lookup finds the same people with the new key alone ...
    settings.PII_INDEX_KEY = f"2:{new}"
    assert lookups() == before
    assert member_find_by_id_number(Member.objects.all(), w.members[0].id_number) == w.members[0]
    with pytest.raises(DomainError, match="已登记"):
        member_create(actor=None, data=MemberInput(name="重复", id_number=w.members[0].id_number,
                                                   unit=w.unit_a))
    # ... which it could not before the rotation (so the checks above can fail).
    settings.PII_INDEX_KEY = f"2:{new_key()}"
    assert member_find_by_id_number(Member.objects.all(), w.members[0].id_number) is None


def test_keys_status_shows_the_index_keyring_and_what_is_stale(data, settings):
    w = data
    new = new_key()
    settings.PII_INDEX_KEY = f"1:{w.old_key},2:{new}"
    out = StringIO()
    with pytest.raises(Exception, match="检索索引仍由旧检索密钥计算"):
        call_command("keys_status", check=True, stdout=out)
    text = out.getvalue()
    keys = parse_index_keyring(settings.PII_INDEX_KEY)
    assert index_fingerprint(keys[1]) in text and index_fingerprint(keys[2]) in text
    assert new not in text and w.old_key not in text
    members = Member.objects.count()
    assert f"members.Member.id_number_bidx：版本 1：{members}" in text
    assert re.search(r"尚有 \d+ 项检索索引不是当前检索密钥（版本 2）", text)
    call_command("keys_rotate", index=True, stdout=StringIO())
    out = StringIO()
    call_command("keys_status", check=True, stdout=out)
    assert f"members.Member.id_number_bidx：版本 2：{members}" in out.getvalue()
    assert "全部检索索引由当前检索密钥（版本 2）计算" in out.getvalue()


def test_keys_new_index_turns_one_key_into_a_keyring(tmp_path, settings):
    out_file = tmp_path / "index.key"
    old = settings.PII_INDEX_KEY
    out = StringIO()
    call_command("keys_new", index=True, out=str(out_file), stdout=out)
    keys = parse_index_keyring(out_file.read_text())
    assert sorted(keys) == [1, 2] and keys[1] == old
    assert oct(out_file.stat().st_mode & 0o777) == "0o600"
    assert keys[2] not in out.getvalue() and index_fingerprint(keys[2]) in out.getvalue()
    # Version 1 of the keyring is the single key it was: old indexes keep their meaning.
    settings.PII_INDEX_KEY = out_file.read_text()
    assert blind_index("13800001111", field="phone", version=1) == blind_index(
        "13800001111", field="phone", key=old)
    # A single key of any characters stays one key (version 1), as before keyrings.
    assert parse_index_keyring("a,b:c") == {1: "a,b:c"}
    assert parse_index_keyring(" 1:k1, 3:k3 ") == {1: "k1", 3: "k3"}


# Killed half way: a real process, SIGKILLed while it rotates, on a database of its own.

LOOKUP = ("import hashlib, django; django.setup()\n"
          "from huzhu.members.models import Member\n"
          "from huzhu.members.services import member_find_by_id_number\n"
          "from huzhu.pii.crypto import blind_indexes\n"
          "ms = list(Member.objects.all())\n"
          "rows = sorted((m.pk, getattr(member_find_by_id_number(Member.objects.all(), m.id_number),"
          " 'pk', None), sorted(Member.objects.filter(phone_bidx__in=blind_indexes(m.phone,"
          " field='phone')).values_list('pk', flat=True)) if m.phone else []) for m in ms)\n"
          "print(sum(1 for pk, found, _ in rows if pk == found), len(rows),"
          " hashlib.sha256(repr(rows).encode()).hexdigest())\n")


def run(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run([str(BIN / "huzhu"), *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0 or not check, done.stdout + done.stderr
    return done


def found(env: dict[str, str]) -> str:
    done = subprocess.run([str(BIN / "python"), "-c", LOOKUP], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def stale(env: dict[str, str]) -> int:
    text = run(env, "keys", "status", check=False).stdout
    hit = re.search(r"尚有 (\d+) 项检索索引", text)
    return int(hit.group(1)) if hit else 0


def test_an_index_rotation_killed_half_way_is_finished_by_the_next_run(tmp_path, sqlite_template):
    db = migrated_sqlite(sqlite_template, tmp_path / "db.sqlite3")
    env = production_env(tmp_path, f"sqlite:///{db}")
    old = env["HUZHU_PII_INDEX_KEY"]
    run(env, "demo", "seed", "--members", "400", "--seed", "7")
    before = found(env)
    everyone, total, _ = before.split()
    assert everyone == total and int(total) >= 400
    new = new_key()
    env["HUZHU_PII_INDEX_KEY"] = f"1:{old},2:{new}"
    initial = stale(env)
    assert initial > 800

    child = subprocess.Popen([str(BIN / "huzhu"), "keys", "rotate", "--index", "--batch", "40",
                              "--throttle", "0.05"], env=env, cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = [child.stdout.readline() for _ in range(4)]  # type: ignore[union-attr]
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    assert all("本批重新计算" in line for line in lines), lines
    left = stale(env)
    assert 0 < left <= initial - 4 * 40  # four batches committed, the rest not: half way
    assert found(env) == before  # every member found by ID number and phone, old index or new

    done = run(env, "keys", "rotate", "--index", "--batch", "500")
    assert "现全部使用检索密钥版本 2" in done.stdout
    assert stale(env) == 0
    env["HUZHU_PII_INDEX_KEY"] = f"2:{new}"  # the old key no longer needed
    assert found(env) == before
    assert "哈希链无断点" in run(env, "audit", "verify").stdout
    counted = run(env, "shell", "-v", "0", "-c",
                  "from huzhu.audit.models import Event;"
                  "print(sum(e.after['count'] for e in Event.objects.filter("
                  "action='keys.reindexed')))").stdout
    assert int(counted.split()[-1]) == initial  # every recomputed index in exactly one event


def test_a_settlement_received_during_the_rotation_finds_its_member(data, settings):
    """The bureau's record arrives indexed under the new key while its member is still under
    the old one: matching looks under every key."""
    from huzhu.settlements.intake import settlements_match

    w = data
    s = Settlement.objects.filter(member__isnull=False).order_by("pk").first()
    member = s.member
    assert not member.id_number_bidx.startswith("v")  # the member: old key
    settings.PII_INDEX_KEY = f"1:{w.old_key},2:{new_key()}"
    Settlement.objects.filter(member=member).update(member=None, matched_at=None)
    Settlement.objects.filter(pk=s.pk).update(
        certno_bidx=blind_index(s.certno, field="id_number"))  # the record: new key
    assert Settlement.objects.get(pk=s.pk).certno_bidx.startswith("v2:")
    assert s.pk in settlements_match(Settlement.objects.filter(pk=s.pk))
    assert Settlement.objects.get(pk=s.pk).member_id == member.pk
