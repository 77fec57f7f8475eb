"""Agents' accounts in bulk (issue 14 part 7): one xlsx of N units' agents (unit USCC, name,
mobile phone) opened by ``huzhu.accounts.staff.agents_bulk`` as the system administrator's
page calls it: the file read, every row checked against the units of his subtree, the accounts
and agent records written, an event per account, the first passwords sealed into the SMS
outbox. Target: 10,000 units <= 30 s.

    HUZHU_DEV=1 .venv/bin/python bench/bench_accounts.py [--units N] [--db postgres|sqlite]
                                                         [--quick]

A throwaway database (PostgreSQL ``huzhu_bench_accounts_<pid>`` on 127.0.0.1:5432 by default);
the units are seeded by SQL-speed inserts (not timed). Checked after (not timed): one account,
one outbox message and one USER_CREATED event per row. Prints a table and writes
``bench/results/accounts.json``. ``--quick`` is 1,000 units.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "accounts.json"
TARGETS = {"bulk_seconds": 30.0}


def run(units: int) -> dict:
    import django

    django.setup()
    import xlsxwriter
    from django.core.management import call_command

    from huzhu.accounts.models import User
    from huzhu.accounts.roles import Role
    from huzhu.accounts.staff import agents_bulk
    from huzhu.audit.models import Action, Event
    from huzhu.demo.identities import social_credit_code
    from huzhu.notices.models import OutboxMessage
    from huzhu.organisations.models import OrgKind, Unit
    from huzhu.organisations.services import org_create

    call_command("migrate", verbosity=0)
    province = org_create(actor=None, name="广西壮族自治区总工会", kind=OrgKind.PROVINCE,
                          parent=None, is_fund_region=True)
    city = org_create(actor=None, name="南宁市总工会", kind=OrgKind.CITY, parent=province)
    grassroots = [org_create(actor=None, name=f"基层工会{i}", kind=OrgKind.GRASSROOTS,
                             parent=city) for i in range(20)]
    Unit.objects.bulk_create([
        Unit(name=f"单位{i}", uscc=social_credit_code("450103", 100000 + i),
             organisation=grassroots[i % 20], org_path=grassroots[i % 20].path,
             fund_region=province) for i in range(units)], batch_size=2000)
    admin = User.objects.create_user(username="sysadmin", password="x",
                                     role=Role.SYSTEM_ADMIN, organisation=province)
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "constant_memory": True})
    ws = book.add_worksheet("经办人")
    for c, h in enumerate(["统一社会信用代码", "经办人姓名", "手机号", "用户名"]):
        ws.write_string(0, c, h)
    for r, unit in enumerate(Unit.objects.order_by("id").values_list("uscc", flat=True), 1):
        ws.write_string(r, 0, unit)
        ws.write_string(r, 1, f"经办人{r}")
        ws.write_string(r, 2, f"139{r:08d}")
    book.close()
    data = out.getvalue()
    start = time.perf_counter()
    result = agents_bulk(actor=admin, data=data, file_name="agents.xlsx")
    seconds = time.perf_counter() - start
    assert result.accounts == units, result
    assert User.objects.filter(role=Role.AGENT).count() == units
    assert OutboxMessage.objects.filter(template="AGENT_ACCOUNT").count() == units
    assert Event.objects.filter(action=Action.USER_CREATED).count() >= units
    return {"units": units, "bulk_seconds": round(seconds, 2),
            "file_kb": len(data) // 1024, "agents": result.agents}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, default=10_000)
    parser.add_argument("--db", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    units = 1000 if args.quick else args.units
    if args.child:
        print(json.dumps(run(units)))
        return 0
    env = dict(os.environ, HUZHU_DEV="1", DJANGO_SETTINGS_MODULE="huzhu.settings")
    tmp = tempfile.mkdtemp(prefix="huzhu-bench-accounts-")
    env["HUZHU_VAR_DIR"] = tmp
    db = f"huzhu_bench_accounts_{os.getpid()}"
    if args.db == "postgres":
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc",
                        f"CREATE DATABASE {db}"], check=True)
        env["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{db}"
    else:
        env["DATABASE_URL"] = f"sqlite:///{tmp}/bench.sqlite3"
    try:
        out = subprocess.run([sys.executable, __file__, "--child", "--units", str(units)],
                             env=env, cwd=ROOT, capture_output=True, text=True)
        if out.returncode != 0:
            print(out.stderr[-3000:])
            return 1
        result = json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        if args.db == "postgres":
            subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc",
                            f"DROP DATABASE IF EXISTS {db} WITH (FORCE)"])
    result["db"] = args.db
    full = units >= 10_000
    ok = result["bulk_seconds"] <= TARGETS["bulk_seconds"] or not full
    print(f"{'figure':<28}{'value':>12}{'target':>12}  result")
    status = "PASS" if result["bulk_seconds"] <= TARGETS["bulk_seconds"] else "FAIL"
    print(f"{'bulk_seconds':<28}{result['bulk_seconds']:>12.2f}"
          f"{TARGETS['bulk_seconds']:>12.1f}  {status}" + ("" if full else " (small run)"))
    print(f"units {units:,} on {args.db}; file {result['file_kb']} KB; "
          f"agents registered {result['agents']:,}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
