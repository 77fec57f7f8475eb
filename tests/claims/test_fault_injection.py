"""Kill the money road at random points and run it again (issue 12): a 5,000-record delivery
imported by ``huzhu claims import`` is killed (SIGKILL) at seeded random moments, each on a
fresh copy of the same database, then imported again; separately, ``huzhu worker`` deciding a
stored delivery is killed the same way and run again. After each re-run the database must
equal the one an uninterrupted run leaves — every claim by settlement and product, usage,
payouts, payables and SMS — with ``claims verify``, ``ledger verify`` and ``audit verify``
clean: nothing lost, nothing doubled.

``HUZHU_FAULT_KILLS`` (default 20) sets how many kills must land while the process runs.
"""

from __future__ import annotations

import datetime
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from django.db import connection, connections

from huzhu.demo.identities import resident_id

from .conftest import MEDICAL, record

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif("connection.vendor != 'postgresql'",
                       reason="processes killed half way need a database server"),
    pytest.mark.django_db(transaction=True),
    pytest.mark.xdist_group("faults"),
]
ROOT = Path(__file__).resolve().parents[2]
HUZHU = [sys.executable, "-m", "huzhu.cli"]
MEMBERS, RECORDS = 500, 5000
KILLS = int(os.environ.get("HUZHU_FAULT_KILLS", "20"))


def enroll(w: Any, n: int) -> list[str]:
    """``n`` members of unit A enrolled in 重庆 住院医疗 through a roster, paid."""
    from huzhu.enrollment.billing import invoice_create, payment_record
    from huzhu.enrollment.services import roster_check, roster_confirm, roster_upload
    from tests.enrollment.conftest import person, xlsx

    ids = [resident_id("450103", datetime.date(1965, 1, 1) + datetime.timedelta(days=11 * i),
                       2 * i + 1) for i in range(n)]
    name = w.medical.product_version.name
    rows = [person(f"会员{i}", ids[i], name, 手机号=f"138{i:08d}") for i in range(n)]
    roster, _ = roster_upload(unit=w.unit_a, period=w.period, file_name="r.xlsx",
                              data=xlsx(rows), actor=w.lisi)
    validation = roster_check(roster)
    assert validation is not None and len(validation.errors) <= 1, validation.errors[:3]
    roster_confirm(roster=roster, actor=w.lisi, skip_listed=True)  # a row the checks refuse
    invoice = invoice_create(unit=w.unit_a, period=w.period, actor=w.lisi)
    payment_record(invoice=invoice, bank_ref="B1", amount_fen=invoice.due_fen,
                   paid_on=datetime.date(2025, 12, 10), payer_name="南宁示范机械厂",
                   actor=w.wangwu)
    return ids


def delivery(ids: list[str]) -> bytes:
    """5,000 stays: ten a member over the year, and 1 in 25 of someone not a member."""
    lines = []
    for i in range(RECORDS):
        month = 1 + (i // len(ids)) % 10
        begin = datetime.date(2026, month, 1 + i % 20)
        certno = ids[i % len(ids)] if i % 25 else resident_id(
            "450202", datetime.date(1990, 1, 1) + datetime.timedelta(days=i), 7)
        rec = record(f"FI{i:05d}", certno, begin=begin.isoformat(),
                     end=(begin + datetime.timedelta(days=3)).isoformat(),
                     inscp=300_000 + (i * 7919) % 2_000_000, hifp=200_000)
        lines.append(json.dumps(rec, ensure_ascii=False))
    return "\n".join(lines).encode()


class Databases:
    """Fresh copies of the test database (``CREATE DATABASE … TEMPLATE``)."""

    def __init__(self, template: str) -> None:
        self.template, self.made = template, []

    def _admin(self, sql: str) -> None:
        import psycopg

        s = connection.settings_dict
        with psycopg.connect(host=s["HOST"] or "127.0.0.1", port=s["PORT"] or 5432,
                             user=s["USER"], dbname="postgres", autocommit=True) as c:
            c.execute(sql)

    def copy(self, name: str, template: str | None = None) -> str:
        connections.close_all()
        # A copy needs the template to itself: end any session a process of an earlier test on
        # this worker (a Celery worker still exiting) has left on it.
        self._admin("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    f"WHERE datname = '{template or self.template}' AND pid <> pg_backend_pid()")
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._admin(f'CREATE DATABASE "{name}" TEMPLATE "{template or self.template}"')
        self.made.append(name)
        return name

    def counts(self, name: str) -> dict[str, int]:
        """Where a kill left ``name``: settlements stored, matched ones undecided, claims,
        granted claims, payouts, payables."""
        import psycopg

        s = connection.settings_dict
        with psycopg.connect(host=s["HOST"] or "127.0.0.1", port=s["PORT"] or 5432,
                             user=s["USER"], dbname=name) as c:
            row = c.execute(
                "SELECT (SELECT count(*) FROM claims_settlement),"
                " (SELECT count(*) FROM claims_settlement s WHERE member_id IS NOT NULL"
                "  AND is_current AND NOT EXISTS (SELECT 1 FROM claims_settlementdecision d"
                "  WHERE d.settlement_id = s.id AND d.decided_at IS NOT NULL)),"
                " (SELECT count(*) FROM claims_claim),"
                " (SELECT count(*) FROM claims_claim WHERE status = 'approved'),"
                " (SELECT count(*) FROM payouts_payout),"
                " (SELECT count(*) FROM ledger_transaction WHERE key LIKE 'claim-payable:%%')"
                ).fetchone()
        return dict(zip(("stored", "undecided", "claims", "granted", "payouts", "payables"),
                        row, strict=True))

    def drop_all(self) -> None:
        for name in self.made:
            self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def env_for(db: str) -> dict[str, str]:
    s = connection.settings_dict
    url = f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{db}"
    # Parts of 500 records: a kill lands between parts as well as inside one.
    return {**os.environ, "DATABASE_URL": url, "HUZHU_DEV": "1", "HUZHU_BULK_PART": "500",
            "HUZHU_SWEEP_GRACE": "0"}  # the worker may finish a delivery stored just now


def start(db: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen([*HUZHU, *args], cwd=ROOT, env=env_for(db),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def finish(db: str, *args: str) -> float:
    t = time.perf_counter()
    p = start(db, *args)
    out, err = p.communicate(timeout=600)
    assert p.returncode == 0, (out.decode()[-2000:], err.decode()[-2000:])
    return time.perf_counter() - t


def state(db: str, *then: str) -> dict[str, Any]:
    """The database's state (after running ``huzhu then`` in the same process)."""
    p = subprocess.run([sys.executable, "-m", "tests.claims.faultcheck", *then], cwd=ROOT,
                       env=env_for(db), capture_output=True, timeout=600)
    assert p.returncode == 0, p.stderr.decode()[-3000:]
    return json.loads(p.stdout)


def log(line: str) -> None:
    if os.environ.get("HUZHU_FAULT_LOG"):
        with open(os.environ["HUZHU_FAULT_LOG"], "a") as f:
            f.write(f"{time.strftime('%H:%M:%S')} {line}\n")


def killed_then_rerun(dbs: Databases, template: str, args: tuple[str, ...],
                      window: tuple[float, float], expected: dict[str, Any], seed: int
                      ) -> list[dict[str, Any]]:
    """Kill ``huzhu args`` at seeded random moments in ``window`` (seconds after its start:
    from the end of Django's start-up to the end of an uninterrupted run), each on a fresh
    copy of ``template``; run it again to the end and compare; until ``KILLS`` kills landed
    while it ran."""
    rng = random.Random(seed)
    landed: list[dict[str, Any]] = []
    for k in range(KILLS * 2):
        if len(landed) >= KILLS:
            break
        log(f"round {k}")
        db = dbs.copy(f"{template}_k", template)
        at = rng.uniform(*window)
        p = start(db, *args)
        time.sleep(at)
        if p.poll() is None:
            p.send_signal(signal.SIGKILL)
            p.wait()
            cut = dbs.counts(db)
            assert cut["payouts"] == cut["payables"] == cut["granted"], cut
            landed.append({"round": k, "at": round(at, 2), **cut})
        log("killed; rerun")
        after = state(db, *args)
        log("rerun and checked")
        assert after == expected, (k, at, {key: (after[key], expected[key]) for key in after
                                           if after[key] != expected[key] and key != "claims"})
    log(f"{args[:2]}: {len(landed)} kills mid-run in {window}: {landed}")
    assert len(landed) >= KILLS
    return landed


def test_killed_imports_and_workers_lose_nothing_and_double_nothing(claims_world, tmp_path):
    from huzhu.claims.models import ClaimPolicy

    w = claims_world
    ids = enroll(w, MEMBERS)
    ClaimPolicy.objects.create(product_code=MEDICAL, auto_claim=True)
    path = tmp_path / "delivery.jsonl"
    path.write_bytes(delivery(ids))
    template = connection.settings_dict["NAME"]
    dbs = Databases(template)
    importing = ("claims", "import", str(path), "--region", str(w.province.pk))
    try:
        # The uninterrupted run: what every killed-and-rerun copy must equal.
        reference = dbs.copy(f"{template}_ref")
        duration = finish(reference, *importing)
        expected = state(reference)
        startup = finish(reference, "claims", "repair")  # nothing left to do: the start-up
        log(f"import {duration:.1f} s, start-up {startup:.1f} s")
        assert expected["problems"] == [] and expected["undecided"] == 0
        assert expected["settlements"] == RECORDS
        assert expected["granted"] > 500 and len(expected["claims"]) > 4000
        assert expected["payouts"] == expected["payables"] == expected["sms_approved"] \
            == expected["granted"]
        killed_then_rerun(dbs, template, importing, (startup, duration), expected, seed=2026)

        # The worker: the delivery stored without decisions, then decided by `huzhu worker`.
        stored = dbs.copy(f"{template}_stored")
        finish(stored, *importing, "--store-only")
        assert state(stored)["undecided"] > 4000
        check = dbs.copy(f"{template}_wref", stored)
        duration = finish(check, "worker")
        assert state(check) == expected
        killed_then_rerun(dbs, stored, ("worker",), (startup, duration), expected, seed=2027)
    finally:
        dbs.drop_all()
