"""The same tasks on Celery over RabbitMQ (ADR 0009): a delivery imported with
``HUZHU_TASKS=celery`` and its parts decided by two Celery worker processes gives the same rows
as the database backend deciding it in one process.

Needs RabbitMQ (127.0.0.1:5672) and Redis (127.0.0.1:6379), as CI has; skipped without them
unless ``HUZHU_REQUIRE_BROKER=1`` (set by ``.ci/run``), which makes their absence a failure.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid

import pytest
from django.db import connection  # noqa: F401 - skipif

from .conftest import MEDICAL
from .test_fault_injection import ROOT, Databases, delivery, enroll, env_for, finish, state

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif("connection.vendor != 'postgresql'",
                       reason="Celery workers in other processes need a database server"),
    pytest.mark.django_db(transaction=True),
    pytest.mark.xdist_group("faults"),
]


def reachable(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def test_two_celery_workers_decide_a_delivery_as_one_process_does(claims_world, tmp_path):
    from huzhu.claims.models import ClaimPolicy

    if not (reachable(5672) and reachable(6379)):
        if os.environ.get("HUZHU_REQUIRE_BROKER") == "1":
            pytest.fail("RabbitMQ (5672) 或 Redis (6379) 未运行")
        pytest.skip("RabbitMQ or Redis is not running here")
    w = claims_world
    ids = enroll(w, 200)
    ClaimPolicy.objects.create(product_code=MEDICAL, auto_claim=True)
    path = tmp_path / "delivery.jsonl"
    path.write_bytes(delivery(ids))
    dbs = Databases(connection.settings_dict["NAME"])
    importing = ("claims", "import", str(path), "--region", str(w.province.pk))
    workers: list[subprocess.Popen] = []
    try:
        one = dbs.copy(f"{dbs.template}_one")
        finish(one, *importing)
        expected = state(one)
        assert expected["problems"] == [] and expected["granted"] > 100

        on_celery = dbs.copy(f"{dbs.template}_celery")
        queue = f"huzhu-test-{uuid.uuid4().hex[:8]}"
        env = {**env_for(on_celery), "HUZHU_TASKS": "celery", "HUZHU_CELERY_QUEUE": queue}
        logs = [tmp_path / f"worker{k}.log" for k in range(2)]
        for k, log in enumerate(logs):
            workers.append(subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "huzhu.work.celery_app", "worker",
                 "-Q", queue, "-c", "1", "-n", f"w{k}-{queue}@%h", "--without-gossip",
                 "--without-mingle", "--without-heartbeat", "-l", "info"],
                cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT))
        time.sleep(1.0)
        p = subprocess.run([sys.executable, "-m", "huzhu.cli", *importing], cwd=ROOT, env=env,
                           capture_output=True, timeout=600)
        assert p.returncode == 0, (p.stdout.decode()[-2000:], p.stderr.decode()[-2000:])
        got = state(on_celery)
        assert got == expected, {k: (got[k], expected[k]) for k in got
                                 if got[k] != expected[k] and k != "claims"}
        ran = [log.read_text(errors="replace").count("succeeded in") for log in logs]
        assert all(n >= 1 for n in ran), ran  # the parts were split across both workers
        # 5,000 records stored in 10 parts of 500, 4,800 matched decided in 5 of about 1,000
        assert sum(ran) == 15
    finally:
        for proc in workers:
            proc.terminate()
        for proc in workers:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
        dbs.drop_all()
