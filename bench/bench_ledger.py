"""Ledger benchmarks on PostgreSQL: the bulk posting path and balances over 10 M legs.

    HUZHU_DEV=1 .venv/bin/python bench/bench_ledger.py [--quick] [--keep]

Creates a throwaway database ``huzhu_bench_ledger_<pid>`` on the server of ``DATABASE_URL`` (or
``HUZHU_BENCH_PG``, default postgres://postgres@127.0.0.1:5432), migrates it, and measures:

(a) 500,000 two-leg transactions posted through ``ledger_post_many`` (the service's bulk path,
    with every check and trigger on), wall time including building the postings
    (target <= 60 s);
(b) the ledger grown to 10 M legs: the rest is synthesised in SQL with ``generate_series``
    (balanced 10-leg transactions, triggers off for the load) and the maintained balances
    (running, daily and monthly rows) are built from it the way the services maintain them;
    then the median of 20 runs of: one account's balance now and as of a date, a group's
    balance as of a date, the region's trial balance now and as of a date (30 June, and for the
    group and the trial balance also 15 June, the date that reads the most daily rows)
    (target <= 50 ms each);
(c) proof that the maintained balances equal the replay of all legs and every transaction sums
    to zero (``ledger verify`` without the per-transaction hash pass, which is linear in Python).

Prints a table of figures, targets and PASS/FAIL and writes ``bench/results/ledger.json``.
``--quick`` is 20,000 transactions and 200,000 legs. Exit status 1 if a target is missed.
The database is dropped at the end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "ledger.json"
sys.path.insert(0, str(ROOT))

TARGETS = {"bulk_seconds": 60.0, "query_ms": 50.0}
YEAR = datetime.date(2025, 1, 1)
MID_YEAR = datetime.date(2025, 6, 30)
# The as-of query's worst date: half a month of daily rows on top of the monthly rows.
MID_MONTH = datetime.date(2025, 6, 15)


def server_url() -> str:
    url = os.environ.get("HUZHU_BENCH_PG") or os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        url = "postgres://postgres@127.0.0.1:5432"
    parsed = urlparse(url)
    return f"{parsed.scheme}://{parsed.netloc}"


def admin_sql(server: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(sql)


def setup_django(db_url: str) -> None:
    os.environ["DATABASE_URL"] = db_url
    os.environ.setdefault("HUZHU_DEV", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "huzhu.settings")
    import django

    django.setup()


def build_chart() -> dict[str, Any]:
    """A province of 14 cities with 8 counties each; every org keeps 19 accounts."""
    from huzhu.ledger.models import AccountKind as K
    from huzhu.ledger.models import PayerKind as P
    from huzhu.ledger.services import account_open
    from huzhu.organisations.services import org_create

    province = org_create(actor=None, name="基准省总工会", kind="province", parent=None,
                          is_fund_region=True)
    orgs = [province]
    for c in range(14):
        city = org_create(actor=None, name=f"基准市{c}", kind="city", parent=province)
        orgs.append(city)
        orgs += [org_create(actor=None, name=f"基准县{c}-{k}", kind="county", parent=city)
                 for k in range(8)]
    bank = account_open(org=province, kind=K.BANK)
    income, other = [], []
    for org in orgs:
        for product in ("HZ1", "HZ2", "HZ3"):
            for payer in (P.MEMBER, P.EMPLOYER, P.UNION_COUNTY, P.GOVERNMENT):
                income.append(account_open(org=org, kind=K.PREMIUM_INCOME, payer_kind=payer,
                                           product_code=product))
            other.append(account_open(org=org, kind=K.BENEFIT_EXPENSE, product_code=product))
        for kind in (K.RESERVE_CHANGE, K.PENDING_RESERVE, K.REFUND, K.BENEFIT_PAYABLE):
            other.append(account_open(org=org, kind=kind))
    return {"province": province, "bank": bank, "income": income, "other": other}


def bench_bulk(chart: dict[str, Any], n: int) -> float:
    from huzhu.ledger.bulk import Posting, ledger_post_many

    rng = random.Random(2026)
    bank = chart["bank"].pk
    income = [a.pk for a in chart["income"]]

    def postings():  # noqa: ANN202 - a generator
        for i in range(n):
            fen = rng.randint(1_00, 500_00)
            yield Posting(key=f"enroll:{i}", legs=[(bank, fen), (rng.choice(income), -fen)],
                          memo="参保缴费", business_date=YEAR + datetime.timedelta(i % 365),
                          source=("enrollment.enrollment", str(i)))

    started = time.perf_counter()
    # Built in memory, as the enrollment and claims paths build theirs: a list lets the
    # service prepare the next chunk while the database writes this one.
    result = ledger_post_many(postings=list(postings()))
    elapsed = time.perf_counter() - started
    assert result.posted == n, result
    return elapsed


def synthesise_legs(chart: dict[str, Any], legs: int) -> float:
    """Add balanced 10-leg transactions in SQL until the ledger holds ``legs`` legs."""
    from django.db import connection, transaction

    from huzhu.ledger.models import Leg

    missing = legs - Leg.objects.count()
    txns = max(missing // 10, 0)
    ids = [a.pk for a in chart["income"] + chart["other"]] + [chart["bank"].pk]
    array = "ARRAY[" + ",".join(map(str, ids)) + "]::bigint[]"
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cur:
        # A bench load: triggers (and FK checks) off; section (c) proves the result whole.
        cur.execute("SET LOCAL session_replication_role = replica")
        cur.execute(
            "INSERT INTO ledger_transaction (key, fund_region_id, memo, business_date,"
            " recorded_at, source_type, source_id, actor_label, leg_count, legs_hash)"
            " SELECT 'syn:' || g, %s, '合成', %s::date + (g %% 365), now(), 'bench.synthetic',"
            " g::text, 'bench', 10, md5(g::text) || md5(g::text)"
            " FROM generate_series(1, %s) g",
            [chart["province"].pk, YEAR, txns],
        )
        cur.execute(
            "INSERT INTO ledger_leg (transaction_id, account_id, amount_fen, business_date)"
            f" SELECT t.id, ({array})[1 + ((t.id * 7 + k) % {len(ids)})],"
            " CASE WHEN k < 5 THEN 1 ELSE -1 END * (100 + (t.id % 9973) + (k % 5)),"
            " t.business_date"
            " FROM ledger_transaction t CROSS JOIN generate_series(0, 9) k"
            " WHERE t.source_type = 'bench.synthetic'"
        )
        # Maintained balances for the synthetic legs, as apply_balances() would add them.
        cur.execute(
            "INSERT INTO ledger_dailybalance (account_id, day, delta_fen, leg_count)"
            " SELECT l.account_id, l.business_date, sum(l.amount_fen), count(*)"
            " FROM ledger_leg l JOIN ledger_transaction t ON t.id = l.transaction_id"
            " WHERE t.source_type = 'bench.synthetic' GROUP BY 1, 2 ORDER BY 1, 2"
            " ON CONFLICT (account_id, day) DO UPDATE SET"
            " delta_fen = ledger_dailybalance.delta_fen + excluded.delta_fen,"
            " leg_count = ledger_dailybalance.leg_count + excluded.leg_count"
        )
        cur.execute(
            "INSERT INTO ledger_monthlybalance (account_id, month, delta_fen, leg_count)"
            " SELECT l.account_id, date_trunc('month', l.business_date)::date,"
            " sum(l.amount_fen), count(*)"
            " FROM ledger_leg l JOIN ledger_transaction t ON t.id = l.transaction_id"
            " WHERE t.source_type = 'bench.synthetic' GROUP BY 1, 2 ORDER BY 1, 2"
            " ON CONFLICT (account_id, month) DO UPDATE SET"
            " delta_fen = ledger_monthlybalance.delta_fen + excluded.delta_fen,"
            " leg_count = ledger_monthlybalance.leg_count + excluded.leg_count"
        )
        cur.execute(
            "UPDATE ledger_accountbalance b SET balance_fen = b.balance_fen + s.total,"
            " leg_count = b.leg_count + s.n FROM (SELECT l.account_id, sum(l.amount_fen) AS total,"
            " count(*) AS n FROM ledger_leg l JOIN ledger_transaction t"
            " ON t.id = l.transaction_id WHERE t.source_type = 'bench.synthetic'"
            " GROUP BY 1) s WHERE s.account_id = b.account_id"
        )
    with connection.cursor() as cur:
        # What autovacuum does after a load: statistics, and the visibility map that lets the
        # as-of reads use index-only scans of the covering keys (migration 0011).
        cur.execute("VACUUM ANALYZE")
    return time.perf_counter() - started


def median_ms(fn: Any, runs: int = 20) -> float:
    fn()  # warm the cache and the plan
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def bench_queries(chart: dict[str, Any]) -> dict[str, float]:
    from huzhu.ledger.models import Account, AccountKind
    from huzhu.ledger.selectors import accounts_under, balance_as_of, trial_balance

    bank = Account.objects.filter(pk=chart["bank"].pk)
    path = chart["province"].path
    premiums = accounts_under(path).filter(kind=AccountKind.PREMIUM_INCOME)
    return {
        "account_balance_now_ms": median_ms(lambda: balance_as_of(accounts=bank)),
        "account_balance_as_of_ms": median_ms(
            lambda: balance_as_of(accounts=bank, as_of=MID_YEAR)),
        "group_balance_as_of_ms": median_ms(
            lambda: balance_as_of(accounts=premiums, as_of=MID_YEAR)),
        "trial_balance_now_ms": median_ms(lambda: trial_balance(path=path)),
        "trial_balance_as_of_ms": median_ms(lambda: trial_balance(path=path, as_of=MID_YEAR)),
        "group_balance_mid_month_ms": median_ms(
            lambda: balance_as_of(accounts=premiums, as_of=MID_MONTH)),
        "trial_balance_mid_month_ms": median_ms(
            lambda: trial_balance(path=path, as_of=MID_MONTH)),
    }


def prove_replay() -> tuple[float, list[str]]:
    from huzhu.ledger.verify import check_balances_replay, check_transactions_balanced

    started = time.perf_counter()
    problems = [str(p) for p in check_transactions_balanced()]
    problems += [str(p) for p in check_balances_replay()]
    return time.perf_counter() - started, problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="20,000 postings, 200,000 legs")
    parser.add_argument("--transactions", type=int, default=500_000)
    parser.add_argument("--legs", type=int, default=10_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    if args.quick:
        args.transactions, args.legs = 20_000, 200_000
    server = server_url()
    name = f"huzhu_bench_ledger_{os.getpid()}"
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

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    chart = build_chart()
    print(f"开设科目用时 {time.perf_counter() - started:.1f}s", flush=True)
    print(f"科目 {1 + len(chart['income']) + len(chart['other']):,} 个；"
          f"批量记账 {args.transactions:,} 笔……", flush=True)
    bulk = bench_bulk(chart, args.transactions)
    print(f"合成分录至 {args.legs:,} 条……", flush=True)
    load = synthesise_legs(chart, args.legs)
    from huzhu.ledger.models import DailyBalance, Leg, MonthlyBalance

    legs = Leg.objects.count()
    queries = bench_queries(chart)
    proof_seconds, problems = prove_replay()
    rows = [("bulk_seconds", bulk, TARGETS["bulk_seconds"], "s")]
    rows += [(k, v, TARGETS["query_ms"], "ms") for k, v in queries.items()]
    ok = all(value <= target for _, value, target, _ in rows) and not problems
    print(f"\n{'指标':<28}{'实测':>12}{'目标':>10}  结果")
    for key, value, target, unit in rows:
        verdict = "PASS" if value <= target else "FAIL"
        print(f"{key:<28}{value:>10.2f}{unit:<2}{target:>8.0f}{unit:<2}  {verdict}")
    print(f"{'replay_proof':<28}{proof_seconds:>10.2f}s {'':>9}  "
          f"{'PASS' if not problems else 'FAIL: ' + '; '.join(problems[:3])}")
    daily, monthly = DailyBalance.objects.count(), MonthlyBalance.objects.count()
    print(f"分录 {legs:,} 条；日发生额 {daily:,} 行；月发生额 {monthly:,} 行；合成用时 {load:.1f}s")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({
        "when": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": platform.platform(), "python": platform.python_version(),
        "quick": args.quick, "transactions": args.transactions, "legs": legs,
        "accounts": 1 + len(chart["income"]) + len(chart["other"]),
        "daily_rows": daily, "monthly_rows": monthly,
        "bulk_seconds": round(bulk, 2), "bulk_per_second": round(args.transactions / bulk),
        "synthesis_seconds": round(load, 1),
        **{k: round(v, 2) for k, v in queries.items()},
        "replay_proof_seconds": round(proof_seconds, 1), "replay_problems": problems[:20],
        "targets": TARGETS, "pass": ok,
    }, indent=2, ensure_ascii=False))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
