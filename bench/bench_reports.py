"""Reports benchmark (issue 18 part 2): the annual report, the disclosure and a bulletin, timed.

    HUZHU_DEV=1 .venv/bin/python bench/bench_reports.py [--quick] [--members N] [--units U]
                                                        [--keep]

Creates a throwaway PostgreSQL database (``huzhu_bench_reports_<pid>``, server from
HUZHU_BENCH_PG or DATABASE_URL, else 127.0.0.1:5432), migrates it and loads the demo province
(``huzhu demo seed --members N``, ``huzhu demo claims --units U``: setup, not timed). Then, each
the median of three runs:

- ``annual_report`` of the province for the year so far (every claim's benefit from its ledger
  legs, premiums by place, the fund's figures): target <= 5 s;
- ``disclosure_snapshot`` (the same plus masked cases by county): target <= 5 s;
- ``unit_bulletin`` of the unit with most claims: target <= 500 ms;
- the public disclosure page once published, drawn once then served from the cache: the
  second GET, target <= 50 ms.

Also checks (PASS/FAIL, not timed) that the report's benefits and income equal the ledger's
leg sums. Prints a table and writes ``bench/results/reports.json``. ``--quick``: 2,000
members, 6 units (figures not comparable). Once the seeded history of issue 18 part 4 is in,
``--members 2500000`` gives the province-sized figure.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_ledger import admin_sql, server_url, setup_django  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "reports.json"
TARGETS = {"annual_report_ms": 5000.0, "disclosure_snapshot_ms": 5000.0,
           "unit_bulletin_ms": 500.0, "public_page_cached_ms": 50.0}


def timed(fn: Callable[[], Any], runs: int = 3) -> tuple[float, Any]:
    times, value = [], None
    for _ in range(runs):
        started = time.perf_counter()
        value = fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2,000 members, 6 units")
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--units", type=int, default=40)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    if args.quick:
        args.members, args.units = 2_000, 6
    server = server_url()
    name = f"huzhu_bench_reports_{os.getpid()}"
    admin_sql(server, f"CREATE DATABASE {name}")
    try:
        return run(args, f"{server}/{name}")
    finally:
        if not args.keep:
            from django.db import connections

            connections.close_all()
            admin_sql(server, f"DROP DATABASE IF EXISTS {name}")
        else:
            print(f"数据库保留：{server}/{name}")


def run(args: argparse.Namespace, db_url: str) -> int:
    setup_django(db_url)
    from django.core.management import call_command
    from django.db.models import Count, Sum

    call_command("migrate", verbosity=0)
    print(f"载入演示省份：会员 {args.members:,} 人，参保单位 {args.units} 个……", flush=True)
    started = time.perf_counter()
    call_command("demo_seed", members=args.members, verbosity=0)
    call_command("demo_products", verbosity=0)
    call_command("demo_accounts", verbosity=0)
    call_command("demo_claims", units=args.units, verbosity=0)
    print(f"准备用时 {time.perf_counter() - started:.0f}s", flush=True)

    from django.core.cache import cache
    from django.test import Client
    from django.urls import reverse

    from huzhu import clock
    from huzhu.accounts.models import User
    from huzhu.accounts.roles import Role
    from huzhu.claims.models import Claim
    from huzhu.insights.reports import annual_report, unit_bulletin
    from huzhu.insights.reports_disclosure import (
        disclosure_propose,
        disclosure_publish,
        disclosure_snapshot,
    )
    from huzhu.ledger.models import AccountKind, Leg
    from huzhu.organisations.models import Organisation, Unit

    region = Organisation.objects.get(parent=None)
    end = clock.today()
    start = datetime.date(end.year - 1, 1, 1)
    annual_ms, report = timed(lambda: annual_report(org=region, start=start, end=end))
    snapshot_ms, snapshot = timed(lambda: disclosure_snapshot(region=region, start=start,
                                                              end=end))
    busiest = (Claim.objects.exclude(enrollment__unit=None).values("enrollment__unit")
               .annotate(n=Count("pk")).order_by("-n").first())
    unit = Unit.objects.get(pk=busiest["enrollment__unit"]) if busiest else Unit.objects.first()
    bulletin_ms, bulletin = timed(lambda: unit_bulletin(unit=unit, start=start, end=end))

    def leg_sum(kind: str) -> int:
        return int(Leg.objects.filter(account__fund_region=region, account__kind=kind,
                                      business_date__gte=start, business_date__lte=end)
                   .aggregate(s=Sum("amount_fen"))["s"] or 0)

    equal = (report.benefits_fen == leg_sum(AccountKind.BENEFIT_EXPENSE)
             and report.income_fen == -leg_sum(AccountKind.PREMIUM_INCOME))

    finance = User.objects.filter(role=Role.FINANCE, organisation=region).order_by("pk")
    maker = finance.first() or User.objects.create_user(
        username="bench-maker", role=Role.FINANCE, organisation=region)
    checker = finance.exclude(pk=maker.pk).first() or User.objects.create_user(
        username="bench-checker", role=Role.FINANCE, organisation=region)
    d = disclosure_propose(region=region, start=start, end=end, title="", actor=maker)
    disclosure_publish(disclosure=d, actor=checker)
    cache.clear()
    from django.conf import settings

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    client = Client()
    url = reverse("insights:public_detail", args=[d.pk])
    first = time.perf_counter()
    assert client.get(url).status_code == 200
    first_ms = (time.perf_counter() - first) * 1000
    cached_ms, _ = timed(lambda: client.get(url), runs=5)

    rows = [("annual_report_ms", annual_ms), ("disclosure_snapshot_ms", snapshot_ms),
            ("unit_bulletin_ms", bulletin_ms), ("public_page_cached_ms", cached_ms)]
    ok = all(v <= TARGETS[k] for k, v in rows) and equal
    print(f"\n{'指标':<28}{'实测':>12}{'目标':>10}  结果")
    for key, value in rows:
        print(f"{key:<28}{value:>10.1f}ms{TARGETS[key]:>8.0f}ms  "
              f"{'PASS' if value <= TARGETS[key] else 'FAIL'}")
    print(f"{'totals_equal_ledger':<28}{'':>12}{'':>10}  {'PASS' if equal else 'FAIL'}")
    print(f"赔付 {report.claims_paid:,} 件，互助金 {report.benefits_fen / 100:,.2f} 元；"
          f"公示案例 {len(snapshot['cases']):,} 件；通报 {unit.name}：理赔 {len(bulletin.cases)} 件；"
          f"公示页面首次绘制 {first_ms:.0f}ms")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({
        "when": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": platform.platform(), "python": platform.python_version(),
        "quick": args.quick, "members": args.members, "units": args.units,
        "claims_paid": report.claims_paid, "cases": len(snapshot["cases"]),
        **{k: round(v, 1) for k, v in rows}, "public_page_first_ms": round(first_ms, 1),
        "totals_equal_ledger": equal, "targets": TARGETS, "pass": ok,
    }, indent=2, ensure_ascii=False))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
