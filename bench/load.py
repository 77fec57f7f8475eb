"""Load test: an enrollment season against gunicorn on PostgreSQL (issue 13 part 9).

    HUZHU_DEV=1 .venv/bin/python bench/load.py [--db-url URL] [--members N] [--users 200]
        [--duration 180] [--steps 25,50,100,150] [--step-duration 60] [--spawn-rate 4]
        [--var-dir DIR]

``make load`` runs it with the defaults. Not part of ``make test``.

1. The database (default ``postgres://postgres@127.0.0.1:5432/huzhu_load``) gets the demo
   province (``--members``, default 1,000,000: a province) with its products, demo accounts and
   claims, unless it has members already. Secrets and demo passwords live in ``var/load/``.
2. gunicorn serves it with deploy/gunicorn.conf.py (``HUZHU_WEB_WORKERS``, default 2 x CPUs + 1)
   and ``huzhu worker --loop`` runs the background work. HUZHU_DEV=1 here only means the
   generated secrets and no TLS (no proxy in front); DEBUG is off as in production.
3. locust (bench/locustfile.py) runs the season mix at ``--users`` for ``--duration`` seconds:
   agents downloading templates and committing rosters, members viewing their cover and claims,
   reviewers in the queue, and the bureau pushing a delivery of settlements, each person waiting
   5-15 s. Statistics are reset once every user has logged in (the logins, a deliberately slow
   password hash, are the ramp, not the season).
4. Row counts before and after: the members the rosters committed and the settlements the
   delivery stored must all be there (nothing lost). At the end of a run each person finishes
   the request in hand (``--stop-timeout``), so the counts are exact.
5. Step-up: the same mix at each of ``--steps`` users for ``--step-duration`` seconds; the largest
   number (of these and the main run) whose page p95 is at most 300 ms with no error.

Prints the figures and writes ``bench/results/load.json``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
RESULTS = ROOT / "bench" / "results"
VAR = ROOT / "var" / "load"  # --var-dir
TARGET_P95_MS = 300
LOGIN_ALLOWANCE = 60  # seconds after the last spawn for the last logins to finish


def huzhu(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([str(BIN / "huzhu"), *args], env=env, cwd=ROOT, capture_output=True,
                          text=True)
    if done.returncode != 0:
        raise SystemExit(f"huzhu {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def prepare(env: dict[str, str], members: int) -> None:
    huzhu(env, "migrate", "--no-input", "-v", "0")
    print(huzhu(env, "demo", "seed", "--members", str(members), "--if-empty").strip())
    huzhu(env, "demo", "products")
    huzhu(env, "demo", "accounts")
    print(huzhu(env, "demo", "claims", "--if-empty").strip())


SNAPSHOT = """
import json, django; django.setup()
from huzhu.audit.models import Event
from huzhu.claims.models import Claim
from huzhu.enrollment.models import Enrollment, Roster
from huzhu.members.models import Member
from huzhu.settlements.models import Settlement
print(json.dumps({"members": Member.objects.count(), "enrollments": Enrollment.objects.count(),
                  "rosters": Roster.objects.count(), "settlements": Settlement.objects.count(),
                  "claims": Claim.objects.count(), "events": Event.objects.count()}))
"""

CONFIG = """
import datetime, json, random, sys, django; django.setup()
from huzhu import clock
from huzhu.accounts.models import User
from huzhu.demo.accounts import accounts_path
from huzhu.demo.claims import _record
from huzhu.enrollment.models import Enrollment
from huzhu.enrollment.roster_file import COLUMNS
from huzhu.enrollment.selectors import period_current
from huzhu.members.models import Member
from huzhu.products.services import offers_for
from huzhu.settlements.models import Settlement
n_records = int(sys.argv[1])
accounts = {a["username"]: a["password"]
            for a in json.loads(accounts_path().read_text())["accounts"]}
agent = User.objects.get(username="demo_agent")
member = User.objects.get(username="demo_member")
period = period_current(agent.unit.fund_region_id)
offers = offers_for(org_path=agent.unit.org_path, period=period)
product = sorted(offers.values(), key=lambda o: o.product_version.code)[0].product_version.name
enrolled = list(Member.objects.filter(pk__in=Enrollment.objects.values("member_id")
                                      ).order_by("pk")[:n_records])
base = int(datetime.datetime.now().timestamp()) % 10**7 * 1000  # unique to this run
rng = random.Random(base)
today = clock.today()
records = [_record(rng, base + i, m, m.id_number, m.name, today)
           for i, m in enumerate(enrolled * (n_records // max(1, len(enrolled)) + 1))][:n_records]
for i, r in enumerate(records):
    r["setl_id"] = f"LOAD{base + i:010d}"
    r["mdtrt_id"] = f"LOADMD{base + i:010d}"
print(json.dumps({
    "accounts": {role: [name, accounts[name]] for role, name in
                 (("agent", "demo_agent"), ("member", "demo_member"),
                  ("reviewer", "demo_reviewer"))},
    "unit_id": agent.unit_id, "member_id": member.member_id, "product_name": product,
    "roster_headers": [title for _, title, _ in COLUMNS],
    "roster_seed": Member.objects.count() * 7 + 13,
    "settlements": records}, ensure_ascii=False))
"""


def python(env: dict[str, str], code: str, *args: str) -> Any:
    done = subprocess.run([str(BIN / "python"), "-c", code, *args], env=env, cwd=ROOT,
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    return json.loads(done.stdout)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(env: dict[str, str]) -> tuple[subprocess.Popen, subprocess.Popen, str]:
    port = free_port()
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), "-c", "deploy/gunicorn.conf.py", "huzhu.wsgi:application"],
        cwd=ROOT, env={**env, "HUZHU_BIND": f"127.0.0.1:{port}", "HUZHU_ACCESS_LOG": ""})
    worker = subprocess.Popen([str(BIN / "huzhu"), "worker", "--loop"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL)
    host = f"http://127.0.0.1:{port}"
    import urllib.request

    for _ in range(300):
        try:
            with urllib.request.urlopen(host + "/healthz", timeout=5) as r:  # noqa: S310
                if r.status == 200:
                    return server, worker, host
        except OSError:
            time.sleep(0.5)
    raise SystemExit("gunicorn did not start")


def locust(env: dict[str, str], host: str, users: int, seconds: int, spawn_rate: float,
           config: dict[str, Any], tag: str) -> dict[str, Any]:
    config_path = VAR / f"locust-{tag}.json"
    config_path.write_text(json.dumps(config, ensure_ascii=False))
    tally_path = VAR / f"tally-{tag}.json"
    prefix = VAR / f"stats-{tag}"
    ramp = users / spawn_rate + LOGIN_ALLOWANCE  # the statistics restart once all logged in
    subprocess.run(
        [str(BIN / "locust"), "-f", "bench/locustfile.py", "--headless", "--host", host,
         "-u", str(users), "-r", str(spawn_rate), "-t", f"{int(seconds + ramp)}s",
         "--stop-timeout", "120", "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING"],
        cwd=ROOT, env={**env, "HUZHU_LOAD_CONFIG": str(config_path),
                       "HUZHU_LOAD_TALLY": str(tally_path)},
        stdout=subprocess.DEVNULL, check=False)
    rows = list(csv.DictReader(open(f"{prefix}_stats.csv")))
    endpoints = {}
    for row in rows:
        if row["Name"] == "Aggregated":
            continue
        endpoints[f"{row['Type']} {row['Name']}"] = {
            "requests": int(row["Request Count"]), "failures": int(row["Failure Count"]),
            "p50_ms": _ms(row["50%"]), "p95_ms": _ms(row["95%"]),
            "max_ms": _ms(row["Max Response Time"])}
    pages = [r for r in rows if r["Name"] not in ("Aggregated", "/login/", "/login/ [POST]")
             and r["Type"] == "GET"]
    return {"users": users, "seconds": seconds, "endpoints": endpoints,
            "page_p95_ms": _pooled_p95(pages),
            "requests": sum(int(r["Request Count"]) for r in rows if r["Name"] != "Aggregated"),
            "failures": sum(int(r["Failure Count"]) for r in rows if r["Name"] != "Aggregated"),
            "tally": json.loads(tally_path.read_text()) if tally_path.exists() else {}}


def _ms(text: str | None) -> float:
    try:
        return float(text or 0)
    except ValueError:  # "N/A": no request of that name after the restart
        return 0.0


def _pooled_p95(rows: list[dict[str, str]]) -> float:
    """The p95 of the page requests together, from each endpoint's percentile columns."""
    points: list[tuple[float, int]] = []
    cols = ["50%", "66%", "75%", "80%", "90%", "95%", "98%", "99%", "99.9%", "99.99%", "100%"]
    shares = [0.50, 0.16, 0.09, 0.05, 0.10, 0.05, 0.03, 0.01, 0.009, 0.0009, 0.0001]
    for row in rows:
        n = int(row["Request Count"])
        for col, share in zip(cols, shares, strict=True):
            if n and row.get(col) not in (None, "", "N/A"):
                points.append((_ms(row[col]), max(1, round(n * share))))
    if not points:
        return 0.0
    points.sort()
    total = sum(w for _, w in points)
    running = 0
    for value, weight in points:
        running += weight
        if running >= 0.95 * total:
            return value
    return points[-1][0]


def main() -> int:
    global VAR
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db-url", default="postgres://postgres@127.0.0.1:5432/huzhu_load")
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--duration", type=int, default=180)
    parser.add_argument("--steps", default="25,50,100,150",
                        help="user counts of the step-up runs (the main run counts as a step)")
    parser.add_argument("--step-duration", type=int, default=60)
    parser.add_argument("--spawn-rate", type=float, default=4)
    parser.add_argument("--var-dir", default=str(ROOT / "var" / "load"),
                        help="secrets, demo passwords and locust files (default var/load)")
    args = parser.parse_args()
    VAR = Path(args.var_dir)
    VAR.mkdir(parents=True, exist_ok=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "HUZHU_DEV": "1", "HUZHU_VAR_DIR": str(VAR),
           "DATABASE_URL": args.db_url, "HUZHU_DB_CONN_MAX_AGE": "60",
           "DJANGO_SETTINGS_MODULE": "huzhu.settings"}
    if args.db_url.startswith("postgres"):
        name = args.db_url.rsplit("/", 1)[1]
        subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", name],
                       capture_output=True)
    prepare(env, args.members)
    steps = [int(s) for s in args.steps.split(",") if s.strip()]
    runs = [("main", args.users, args.duration)] + [(f"step{u}", u, args.step_duration)
                                                     for u in steps]
    pushes = sum(seconds + users / args.spawn_rate + LOGIN_ALLOWANCE
                 for _, users, seconds in runs) + 60
    config = python(env, CONFIG, str(int(pushes)))
    config["bureau_token"] = huzhu(env, "interface", "create", "--region",
                                   str(_region(env))).strip()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # still stop the servers
    server, worker, host = start_server(env)
    report: dict[str, Any] = {"members": args.members, "cpus": os.cpu_count(),
                              "web_workers": os.environ.get("HUZHU_WEB_WORKERS",
                                                            f"{2 * (os.cpu_count() or 1) + 1}")}
    try:
        offset = 0
        for tag, users, seconds in runs:
            share = int(seconds + users / args.spawn_rate + LOGIN_ALLOWANCE) + 10
            run_config = {**config, "settlements": config["settlements"][offset:offset + share],
                          "roster_seed": config["roster_seed"] + offset * 1000}
            offset += share
            before = python(env, SNAPSHOT)
            result = locust(env, host, users, seconds, args.spawn_rate, run_config, tag)
            time.sleep(3)
            after = python(env, SNAPSHOT)
            result["before"], result["after"] = before, after
            tally = result["tally"]
            result["nothing_lost"] = (
                after["members"] - before["members"] == tally.get("members_committed", -1)
                and after["settlements"] - before["settlements"]
                == tally.get("settlements_created", -1))
            report[tag] = result
            (RESULTS / "load.json").write_text(json.dumps(report, ensure_ascii=False, indent=2))
            print(f"{tag}: {users} users, page p95 {result['page_p95_ms']:.0f} ms, "
                  f"{result['requests']} requests, {result['failures']} failures, "
                  f"members +{after['members'] - before['members']} "
                  f"(committed {tally.get('members_committed')}), settlements "
                  f"+{after['settlements'] - before['settlements']} "
                  f"(stored {tally.get('settlements_created')}), "
                  f"nothing lost: {result['nothing_lost']}", flush=True)
    finally:
        server.terminate()
        worker.terminate()
        server.wait(30)
        worker.wait(30)
    held = [r["users"] for tag, r in report.items() if tag in ["main"] + [f"step{u}" for u in steps]
            and r["page_p95_ms"] <= TARGET_P95_MS and r["failures"] == 0]
    report["largest_users_at_p95_300ms"] = max(held) if held else 0
    (RESULTS / "load.json").write_text(json.dumps(report, ensure_ascii=False, indent=2))
    main_run = report["main"]
    print(f"\n{args.users} users: page p95 {main_run['page_p95_ms']:.0f} ms, "
          f"failures {main_run['failures']}/{main_run['requests']}")
    for name, e in sorted(main_run["endpoints"].items()):
        print(f"  {name:50s} n={e['requests']:5d} fail={e['failures']:3d} "
              f"p50={e['p50_ms']:6.0f} p95={e['p95_ms']:6.0f} ms")
    print(f"largest number of users at page p95 <= {TARGET_P95_MS} ms: "
          f"{report['largest_users_at_p95_300ms']}")
    print(f"written to {RESULTS / 'load.json'}")
    return 0 if main_run["nothing_lost"] and main_run["failures"] == 0 else 1


def _region(env: dict[str, str]) -> int:
    return python(env, "import django; django.setup()\n"
                  "from huzhu.organisations.models import Organisation\n"
                  "print(Organisation.objects.filter(depth=0, is_fund_region=True)"
                  ".values_list('pk', flat=True).first())")


if __name__ == "__main__":
    sys.exit(main())
