"""Enrollment benchmark: a 100,000-row roster validated and committed.

    HUZHU_DEV=1 .venv/bin/python bench/bench_enrollment.py [--rows N] [--db postgres|sqlite]
                                                           [--quick]

Creates a throwaway database (PostgreSQL ``huzhu_bench_enroll_<pid>`` on 127.0.0.1:5432 by
default, or a SQLite file), migrates it, seeds a small province for the union tree, sets up a
period with an offer, writes an N-row roster xlsx of new members (valid identifiers) and
measures, through the same services the upload page uses:

- read + validate the whole file (target <= 20 s at 100,000 rows on PostgreSQL);
- commit: create the members and enrollments in one transaction (target <= 40 s).

Prints a table and writes ``bench/results/enrollment.json``. ``--quick`` is 5,000 rows.
"""

from __future__ import annotations

import argparse
import datetime
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "enrollment.json"
TARGETS = {"validate_seconds": 20.0, "commit_seconds": 40.0}


def build_file(rows: int, product_name: str) -> bytes:
    import xlsxwriter

    from huzhu.demo.identities import bank_card, phone, resident_id
    from huzhu.enrollment.roster_file import COLUMNS

    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "constant_memory": True})
    sheet = book.add_worksheet("花名册")
    sheet.write_row(0, 0, [title for _, title, _ in COLUMNS])
    start = datetime.date(1970, 1, 1)
    for i in range(rows):
        birth = start + datetime.timedelta(days=(i // 1000) * 97 % 12000)  # unique with order
        values = [f"会员{i}", resident_id("450103", birth, i % 1000), phone(10_000_000 + i),
                  bank_card(i), "中国工商银行", "职工医保", "是", "否", "否", "否",
                  product_name, "1"]
        for c, v in enumerate(values):
            sheet.write_string(i + 1, c, v)
    book.close()
    return out.getvalue()


def run(rows: int) -> dict[str, float]:
    import django

    django.setup()
    from django.core.management import call_command

    from huzhu.enrollment.models import Enrollment
    from huzhu.enrollment.roster import roster_commit, roster_validate
    from huzhu.enrollment.roster_file import read_roster
    from huzhu.enrollment.services import roster_upload
    from huzhu.organisations.models import Organisation, Unit
    from huzhu.products.models import Period
    from huzhu.products.services import catalog_import, offer_create

    call_command("migrate", verbosity=0)
    call_command("demo_seed", members=200, seed=1, verbosity=0)
    versions = {v.code: v for v in catalog_import()}
    region = Organisation.objects.get(depth=0)
    period = Period.objects.create(
        fund_region=region, code="2026", name="2026 年度",
        enroll_opens=datetime.date(2025, 11, 1), enroll_closes=datetime.date(2025, 12, 31),
        coverage_start=datetime.date(2026, 1, 1), coverage_end=datetime.date(2026, 12, 31))
    offer = offer_create(period=period, organisation=region,
                         product_version=versions["chongqing-2015-medical"],
                         premium_per_share_fen=11000,
                         split=[{"payer": "employer", "fen": 5000}, {"payer": "member", "rest": True}])
    unit = Unit.objects.order_by("id").first()
    t = time.perf_counter()
    data = build_file(rows, offer.product_version.name)
    build = time.perf_counter() - t
    roster, _ = roster_upload(unit=unit, period=period, file_name="bench.xlsx", data=data,
                              actor=None)
    t = time.perf_counter()
    table = read_roster(data, "bench.xlsx")
    validation = roster_validate(table=table, unit=unit, period=period)
    validate = time.perf_counter() - t
    assert not validation.errors, validation.errors[:3]
    t = time.perf_counter()
    counts = roster_commit(roster=roster, validation=validation, actor=None)
    commit = time.perf_counter() - t
    assert counts["enrollments"] == rows and Enrollment.objects.count() == rows
    return {"rows": rows, "file_mb": round(len(data) / 1e6, 1), "build_file_seconds": build,
            "validate_seconds": validate, "commit_seconds": commit}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--db", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    rows = 5000 if args.quick else args.rows
    if args.child:
        print(json.dumps(run(rows)))
        return 0
    env = dict(os.environ, HUZHU_DEV="1", DJANGO_SETTINGS_MODULE="huzhu.settings")
    tmp = tempfile.mkdtemp(prefix="huzhu-bench-enroll-")
    env["HUZHU_VAR_DIR"] = tmp
    db = f"huzhu_bench_enroll_{os.getpid()}"
    if args.db == "postgres":
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"CREATE DATABASE {db}"],
                       check=True)
        env["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{db}"
    else:
        env["DATABASE_URL"] = f"sqlite:///{tmp}/bench.sqlite3"
    try:
        out = subprocess.run([sys.executable, __file__, "--child", "--rows", str(rows)],
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
    ok = all(result[k] <= v for k, v in TARGETS.items()) if rows >= 100_000 else True
    print(f"{'figure':<28}{'value':>12}{'target':>12}  result")
    for key in ("validate_seconds", "commit_seconds"):
        status = "PASS" if result[key] <= TARGETS[key] else "FAIL"
        print(f"{key:<28}{result[key]:>12.2f}{TARGETS[key]:>12.1f}  {status}"
              + ("" if rows >= 100_000 else " (small run)"))
    print(f"rows {rows:,} on {args.db}; file {result['file_mb']} MB")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
