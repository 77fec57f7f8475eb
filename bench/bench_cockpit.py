"""Cockpit benchmark (issue 18 part 1): server time of the cockpit page on a province's
aggregates, and the refresh and its recount on a small lived history.

    HUZHU_DEV=1 .venv/bin/python bench/bench_cockpit.py [--db postgres|sqlite] [--quick]
                                                        [--months 36] [--runs 30]

On a throwaway database (PostgreSQL ``huzhu_bench_cockpit_<pid>`` on 127.0.0.1:5432 by default):

(a) page: the demo province's tree (``demo seed``), then the aggregate tables filled to the size
    a province of 2.5 M members and three years gives them — every county-level node × month ×
    product × measure, waiting-time a second period in five months of the year, histograms of 0–60 working days per year, 60 hospitals and 40
    diagnoses per county and year (the table's size depends on places, months and buckets, not
    on members). Timed: GET of the cockpit page (server time, Django test client, second
    factor passed) for the province (target p95 <= 500 ms) and for a county (<= 300 ms).
(b) refresh: ``--history`` past years of the demo (``demo claims``, real services, small) and
    ``huzhu insights refresh``; reports its time and that the recount agrees.

Seeding the 2.5 M-member province with three years of claims is NOT what (b) measures: the
history generator goes through the per-claim services (docs/adr/0018); the figure printed is
its throughput on the small history. Prints a table and writes ``bench/results/cockpit.json``.
``--quick``: 12 months, 10 runs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "cockpit.json"
TARGETS = {"province_p95_ms": 500.0, "county_p95_ms": 300.0}


def _p95(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(0.95 * len(xs)))]


def child(months: int, runs: int, history: bool) -> dict:
    import datetime
    import random

    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import setup_test_environment

    setup_test_environment()  # the test client's host name is allowed
    from huzhu import clock
    from huzhu.accounts.models import User
    from huzhu.accounts.roles import Role
    from huzhu.insights.cockpit_refresh import MEASURES
    from huzhu.insights.models_cockpit import (
        CockpitMonth,
        CockpitRefresh,
        CockpitTop,
        CockpitWait,
    )
    from huzhu.organisations.models import Organisation

    out: dict = {}
    call_command("demo_seed", members=3000, seed=7, verbosity=0)
    call_command("demo_accounts", verbosity=0, stdout=open(os.devnull, "w"))
    if history:
        t0 = time.perf_counter()
        call_command("demo_claims", history_years=1, history_units=12, units=4,
                     stdout=open(os.devnull, "w"))
        out["history_seconds"] = time.perf_counter() - t0
        from huzhu.settlements.models import Settlement

        out["history_settlements"] = Settlement.objects.count()
        t0 = time.perf_counter()
        from huzhu.insights.cockpit_recount import differences
        from huzhu.insights.cockpit_refresh import refresh

        refresh()
        out["refresh_seconds"] = time.perf_counter() - t0
        out["recount_differences"] = len(differences())
    # (a) province-size aggregates.
    CockpitMonth.objects.all().delete()
    CockpitTop.objects.all().delete()
    CockpitWait.objects.all().delete()
    rng = random.Random(1)
    nodes = list(Organisation.objects.filter(depth__lte=2).values_list("pk", "path"))
    this = clock.today().year
    first = datetime.date(this - months // 12 + (0 if months % 12 else 1) - 1, 1, 1)
    month_list = []
    d = first
    for _ in range(months):
        month_list.append(d)
        d = (d.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
    products = ["guangxi-2024-huzhu1", "guangxi-2024-huzhu2", "guangxi-2024-tese"]
    plain = [m for m in MEASURES if not m.startswith("days_") and m not in ("backlog", "overdue")]
    # November and December also carry the next period (premium billed ahead), January to
    # March the previous one (claims of last year paid late).
    rows: list = []
    for pk, path in nodes:
        ids = [int(x) for x in path.strip("/").split("/")]
        place = {"node_id": pk, "l0": ids[0], "l1": ids[1] if len(ids) > 1 else None,
                 "l2": ids[2] if len(ids) > 2 else None}
        for mo in month_list:
            for prod in products:
                for m in plain:
                    periods = (mo.year, *((mo.year + 1,) if mo.month >= 11 else
                                          (mo.year - 1,) if mo.month <= 3 else ()))
                    for period in periods:
                        rows.append(CockpitMonth(**place, month=mo, period_code=str(period),
                                                 product_code=prod, measure=m,
                                                 count=rng.randrange(1, 5000),
                                                 amount_fen=rng.randrange(1, 10**9)))
            if len(rows) > 50_000:
                CockpitMonth.objects.bulk_create(rows, batch_size=10_000)
                rows = []
        tops = []
        waits = [CockpitWait(**place, year=year, measure=m, bucket=b,
                             count=rng.randrange(1, 3000))
                 for year in {mo.year for mo in month_list}
                 for m in ("days_to_approval", "days_to_paid") for b in range(61)]
        CockpitWait.objects.bulk_create(waits, batch_size=10_000)
        for year in {mo.year for mo in month_list}:
            tops += [CockpitTop(**place, year=year, kind="hospital", label=f"医院{h:03d}",
                                count=rng.randrange(1, 900), amount_fen=rng.randrange(1, 10**9))
                     for h in range(60)]
            tops += [CockpitTop(**place, year=year, kind="diagnosis", label=f"诊断{h:03d}",
                                count=rng.randrange(1, 900), amount_fen=rng.randrange(1, 10**9))
                     for h in range(40)]
        CockpitTop.objects.bulk_create(tops, batch_size=10_000)
    CockpitMonth.objects.bulk_create(rows, batch_size=10_000)
    CockpitRefresh.objects.create(started_at=clock.now(), finished_at=clock.now(), rows=0)
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    out["aggregate_rows"] = CockpitMonth.objects.count()
    province = Organisation.objects.get(depth=0)
    county = Organisation.objects.filter(depth=2, kind="county").order_by("pk").first()
    for label, org, role in (("province", province, Role.LEADERSHIP),
                             ("county", county, Role.COUNTY_STAFF)):
        user = User.objects.create_user(username=f"bench-{label}", password=None, role=role,
                                        organisation=org, display_name=label)
        client = Client()
        client.force_login(user)
        from django_otp import DEVICE_ID_SESSION_KEY
        from django_otp.plugins.otp_totp.models import TOTPDevice

        device = TOTPDevice.objects.create(user=user, name="bench", confirmed=True)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
        url = f"/insights/cockpit/{org.pk}/?year={this}"
        first = client.get(url)
        assert first.status_code == 200, (first.status_code, first.get("Location"))
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - t0) * 1000)
            assert response.status_code == 200
        out[f"{label}_p95_ms"] = _p95(times)
        out[f"{label}_p50_ms"] = sorted(times)[len(times) // 2]
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--no-history", action="store_true")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.quick:
        args.months, args.runs = 12, 10
    if args.child:
        print(json.dumps(child(args.months, args.runs, not args.no_history), default=str))
        return 0
    env = dict(os.environ, HUZHU_DEV="1", DJANGO_SETTINGS_MODULE="huzhu.settings",
               PYTHONPATH=str(ROOT))
    tmp = tempfile.mkdtemp(prefix="huzhu-bench-cockpit-")
    env["HUZHU_VAR_DIR"] = tmp
    db = f"huzhu_bench_cockpit_{os.getpid()}"
    if args.db == "postgres":
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc",
                        f"CREATE DATABASE {db}"], check=True)
        env["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{db}"
    else:
        env["DATABASE_URL"] = f"sqlite:///{tmp}/bench.sqlite3"
    try:
        subprocess.run([sys.executable, "-m", "huzhu.cli", "migrate", "--no-input", "-v", "0"],
                       env=env, cwd=ROOT, check=True)
        cmd = [sys.executable, str(ROOT / "bench" / "bench_cockpit.py"), "--child",
               "--months", str(args.months), "--runs", str(args.runs)]
        if args.no_history:
            cmd.append("--no-history")
        out = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
        if out.returncode != 0:
            print(out.stderr[-3000:])
            return 1
        result = json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        if args.db == "postgres":
            subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc",
                            f"DROP DATABASE IF EXISTS {db} WITH (FORCE)"])
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, default=str))
    failed = False
    print(f"{'figure':<36}{'result':>12}{'target':>10}  verdict")
    for key, target in TARGETS.items():
        value = result[key]
        ok = value <= target
        failed |= not ok
        print(f"{key:<36}{value:>12.1f}{target:>10.1f}  {'PASS' if ok else 'FAIL'}")
    print(f"aggregate rows {result['aggregate_rows']:,} ({args.months} months, {args.db}); "
          f"p50 province {result['province_p50_ms']:.0f} ms, county {result['county_p50_ms']:.0f} ms")
    if "history_seconds" in result:
        print(f"history (1 past year, small) {result['history_seconds']:.1f} s for "
              f"{result['history_settlements']} settlements; refresh "
              f"{result['refresh_seconds']:.2f} s; recount differences "
              f"{result['recount_differences']}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
