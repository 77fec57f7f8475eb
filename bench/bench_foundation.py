"""Foundation benchmarks: demo seed, member lookup by ID number, a county's member list.

    HUZHU_DEV=1 .venv/bin/python bench/bench_foundation.py [--members N] [--db sqlite|postgres|both]
                                                           [--quick] [--keep] [--probe-index]

For each database a child process gets a throwaway database (a SQLite file under /tmp, or a
PostgreSQL database ``huzhu_bench_<pid>`` on 127.0.0.1:5432 as user postgres), migrates it and
measures:

(a) ``huzhu demo seed --members N`` wall time, run as the real command (target <= 180 s at 1 M);
(b) member lookup by full ID number through the blind index: median of 1,000 calls of
    ``member_find_by_id_number(members_visible_to(user), id_number)`` for a province-level
    reviewer (target <= 20 ms);
(c) the member list page of the largest county union, ``GET /members/?org=<county id>``, rendered
    by the Django test Client logged in as that county's staff user: median server time of 20
    requests (target <= 200 ms) and its query count, which must not change with the page size.

It also records the query plans of (b) and (c) and flags a full scan of the member table. Prints a
table of figures, targets and PASS/FAIL and writes ``bench/results/foundation.json``. ``--quick``
is 20,000 members. Exit status 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "foundation.json"
PG_SERVER = os.environ.get("HUZHU_BENCH_PG", "postgres://postgres@127.0.0.1:5432")

TARGETS = {
    "seed_seconds": 180.0,
    "lookup_median_ms": 20.0,
    "county_list_median_ms": 200.0,
}


# --------------------------------------------------------------------------- parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--quick", action="store_true", help="20,000 members")
    parser.add_argument("--lookups", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--keep", action="store_true", help="keep the databases afterwards")
    parser.add_argument("--probe-index", action="store_true",
                        help="PostgreSQL: afterwards add (org_path varchar_pattern_ops, id) to the "
                             "throwaway database and measure the list pages again (what-if)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.quick:
        args.members = 20_000
    if args.child:
        return child(args)

    dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    results: dict[str, Any] = {}
    for db in dbs:
        print(f"--- {db}: {args.members:,} 名会员 ---", flush=True)
        with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as tmp:
            out = tmp.name
        cmd = [sys.executable, __file__, "--child", db, "--out", out,
               "--members", str(args.members), "--lookups", str(args.lookups),
               "--requests", str(args.requests), "--seed", str(args.seed)]
        if args.keep:
            cmd.append("--keep")
        if args.probe_index:
            cmd.append("--probe-index")
        proc = subprocess.run(cmd, cwd=ROOT)
        try:
            results[db] = json.loads(Path(out).read_text() or "{}")
        except (OSError, json.JSONDecodeError):
            results[db] = {}
        finally:
            Path(out).unlink(missing_ok=True)
        if proc.returncode != 0:
            results[db]["error"] = results[db].get("error") or f"child exited {proc.returncode}"

    rows = []
    ok = True
    for db, r in results.items():
        if r.get("error"):
            ok = False
            rows.append((db, "error", r["error"], "", "FAIL"))
            continue
        checks = [
            ("demo seed 墙钟时间", f"{r['seed_seconds']:.1f} s", "≤ 180 s",
             r["seed_seconds"] <= TARGETS["seed_seconds"] or r["members"] < 1_000_000),
            ("按身份证号查会员（中位数）", f"{r['lookup']['median_ms']:.2f} ms", "≤ 20 ms",
             r["lookup"]["median_ms"] <= TARGETS["lookup_median_ms"]),
            ("县级工会会员列表页（中位数）", f"{r['county_list']['median_ms']:.1f} ms", "≤ 200 ms",
             r["county_list"]["median_ms"] <= TARGETS["county_list_median_ms"]),
            ("列表页查询数（每页 20/50/200）",
             "/".join(str(n) for n in r["county_list"]["queries_by_page_size"].values()),
             "固定", r["county_list"]["fixed_query_count"]),
            ("查询计划无全表扫描", "是" if not r["plans"]["full_scan"] else
             "否：" + _short(r["plans"]["full_scan"]), "无全表扫描", not r["plans"]["full_scan"]),
        ]
        for name, value, target, passed in checks:
            ok &= bool(passed)
            rows.append((db, name, value, target, "PASS" if passed else "FAIL"))
        extra = r.get("small_county_list")
        if extra:
            rows.append((db, f"（参考）最小县 {r['small_county']['name']} 会员列表页",
                         f"{extra['median_ms']:.1f} ms", "—", "info"))
        probe = r.get("probe_index")
        if probe:
            rows.append((db, "（试验）加 varchar_pattern_ops 索引后县级列表页",
                         f"{probe['county_list']['median_ms']:.1f} ms", "≤ 200 ms", "info"))
            rows.append((db, "（试验）加索引后最小县列表页",
                         f"{probe['small_county_list']['median_ms']:.1f} ms", "—", "info"))
            rows.append((db, "（试验）加索引后全表扫描",
                         _short(probe["plans"]["full_scan"]) or "无", "无", "info"))
        extra = r.get("province_list")
        if extra:
            rows.append((db, "（参考）自治区审核员会员列表首页", f"{extra['median_ms']:.1f} ms",
                         "—", "info"))
    print()
    print(_table(("数据库", "指标", "结果", "目标", "结论"), rows))
    if any(r.get("members", 0) < 1_000_000 for r in results.values() if not r.get("error")):
        print("注：会员少于 1,000,000 时 demo seed 的 180 秒目标不适用（按比例仅供参考）。")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({
        "benchmark": "foundation",
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform()},
        "targets": TARGETS,
        "members": args.members,
        "results": results,
        "passed": ok,
    }, ensure_ascii=False, indent=2))
    print(f"结果已写入 {RESULTS.relative_to(ROOT)}")
    return 0 if ok else 1


def _short(names: list[str]) -> str:
    return ", ".join(names[:2]) + (f" 等 {len(names)} 项" if len(names) > 2 else "")


def _width(text: str) -> int:
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in str(text))


def _table(header: tuple[str, ...], rows: list[tuple[Any, ...]]) -> str:
    widths = [max(_width(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = []
    for row in [header, *rows]:
        lines.append("  ".join(str(c) + " " * (widths[i] - _width(c)) for i, c in enumerate(row)))
        if row is header:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


# --------------------------------------------------------------------------- child


def child(args: argparse.Namespace) -> int:
    db = args.child
    pid = os.getpid()
    result: dict[str, Any] = {"database": db, "members": args.members}
    sqlite_path = Path(tempfile.gettempdir()) / f"huzhu_bench_{pid}.sqlite3"
    pg_name = f"huzhu_bench_{pid}"
    if db == "sqlite":
        url = f"sqlite:///{sqlite_path}"
    else:
        _pg_admin(f'CREATE DATABASE "{pg_name}"')
        url = f"{PG_SERVER}/{pg_name}"
    env = {**os.environ, "DATABASE_URL": url, "HUZHU_DEV": os.environ.get("HUZHU_DEV", "1"),
           "HUZHU_ALLOWED_HOSTS": "testserver,127.0.0.1,localhost",
           "DJANGO_SETTINGS_MODULE": "huzhu.settings"}
    os.environ.update(env)
    try:
        _measure(args, result, env)
    except Exception as exc:  # noqa: BLE001 - reported in the table and the JSON
        import traceback

        traceback.print_exc()
        result["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        Path(args.out).write_text(json.dumps(result, ensure_ascii=False, indent=2))
        if not args.keep:
            from django.db import connections

            connections.close_all()
            if db == "sqlite":
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{sqlite_path}{suffix}").unlink(missing_ok=True)
            else:
                _pg_admin(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
        else:
            print(f"保留数据库：{url}")
    return 1 if result.get("error") else 0


def _pg_admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(sql)


def _measure(args: argparse.Namespace, result: dict[str, Any], env: dict[str, str]) -> None:
    import django

    sys.path.insert(0, str(ROOT))
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0, interactive=False)
    result["vendor"] = connection.vendor
    with connection.cursor() as cursor:
        cursor.execute("SELECT sqlite_version()" if connection.vendor == "sqlite"
                       else "SHOW server_version")
        result["server_version"] = cursor.fetchone()[0]

    # (a) the real command, timed from outside.
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "huzhu.cli", "demo", "seed",
                    "--members", str(args.members), "--seed", str(args.seed)],
                   cwd=ROOT, env=env, check=True)
    result["seed_seconds"] = round(time.perf_counter() - started, 2)
    print(f"demo seed: {result['seed_seconds']:.1f} s", flush=True)

    from huzhu.accounts.models import User
    from huzhu.accounts.roles import Role
    from huzhu.members.models import Member
    from huzhu.organisations.models import Organisation

    province = Organisation.objects.get(kind="province")
    county = _largest_county()
    reviewer = User.objects.create_user("bench_reviewer", role=Role.REVIEWER,
                                        organisation=province, password=None)
    county_staff = User.objects.create_user("bench_county", role=Role.COUNTY_STAFF,
                                            organisation=county, password=None)
    result["lookup"] = _lookups(args, reviewer)
    print(f"lookup: median {result['lookup']['median_ms']:.2f} ms", flush=True)
    result["county"] = {"id": county.pk, "name": county.name,
                        "members": Member.objects.filter(org_path__startswith=county.path).count()}
    result["county_list"] = _list_page(args, county_staff, {"org": str(county.pk)})
    print(f"county list: median {result['county_list']['median_ms']:.1f} ms", flush=True)
    small = _smallest_county()
    small_staff = User.objects.create_user("bench_county_small", role=Role.COUNTY_STAFF,
                                           organisation=small, password=None)
    result["small_county"] = {
        "id": small.pk, "name": small.name,
        "members": Member.objects.filter(org_path__startswith=small.path).count()}
    result["small_county_list"] = _list_page(args, small_staff, {"org": str(small.pk)},
                                             sizes=(50,))
    result["province_list"] = _list_page(args, reviewer, {}, sizes=(50,))
    result["plans"] = _plans(result)
    if args.probe_index and connection.vendor == "postgresql":
        result["probe_index"] = _probe_index(args, result, county_staff, small_staff, county,
                                             small)


def _probe_index(args: argparse.Namespace, result: dict[str, Any], county_staff: Any,
                 small_staff: Any, county: Any, small: Any) -> dict[str, Any]:
    """What-if: the scope index with varchar_pattern_ops, so LIKE 'prefix%' can use it."""
    from django.db import connection

    ddl = ("CREATE INDEX member_scope_probe_idx ON members_member "
           "(org_path varchar_pattern_ops, id)")
    with connection.cursor() as cursor:
        cursor.execute(ddl)
        cursor.execute("ANALYZE members_member")
    probe: dict[str, Any] = {"ddl": ddl}
    probe["county_list"] = _list_page(args, county_staff, {"org": str(county.pk)})
    probe["small_county_list"] = _list_page(args, small_staff, {"org": str(small.pk)},
                                            sizes=(50,))
    probe["province_list"] = result["province_list"]
    probe["lookup"] = result["lookup"]
    probe["plans"] = _plans(probe)
    print(f"probe index: county list median {probe['county_list']['median_ms']:.1f} ms",
          flush=True)
    return probe


def _largest_county() -> Any:
    return _county_by_size(max)


def _smallest_county() -> Any:
    return _county_by_size(min)


def _county_by_size(pick: Any) -> Any:
    from django.db.models import Count

    from huzhu.members.models import Member
    from huzhu.organisations.models import Organisation

    counties = {o.path: o for o in Organisation.objects.filter(kind="county")}
    sizes: dict[str, int] = {}
    for row in Member.objects.values("org_path").annotate(n=Count("id")).order_by():
        parts = row["org_path"].strip("/").split("/")
        for depth in range(1, len(parts) + 1):
            prefix = "/" + "/".join(parts[:depth]) + "/"
            if prefix in counties:
                sizes[prefix] = sizes.get(prefix, 0) + row["n"]
                break
    return counties[pick(sizes, key=lambda p: sizes[p])]


def _lookups(args: argparse.Namespace, user: Any) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from huzhu.members.access import members_visible_to
    from huzhu.members.models import Member
    from huzhu.members.services import member_find_by_id_number

    rng = random.Random(1)
    total = Member.objects.count()
    pks = rng.sample(range(1, total + 1), min(args.lookups, total))
    numbers = list(Member.objects.filter(pk__in=pks).values_list("pk", "id_number"))
    rng.shuffle(numbers)
    for _pk, number in numbers[:20]:  # warm up caches and connections
        member_find_by_id_number(members_visible_to(user), number)
    times = []
    misses = 0
    for pk, number in numbers:
        t = time.perf_counter()
        found = member_find_by_id_number(members_visible_to(user), number)
        times.append((time.perf_counter() - t) * 1000)
        misses += found is None or found.pk != pk
    times.sort()
    with CaptureQueriesContext(connection) as ctx:
        member_find_by_id_number(members_visible_to(user), numbers[0][1])
    return {
        "sql": ctx.captured_queries[-1]["sql"],
        "count": len(times), "misses": misses,
        "median_ms": round(statistics.median(times), 3),
        "p95_ms": round(times[int(len(times) * 0.95) - 1], 3),
        "max_ms": round(times[-1], 3),
    }


def _list_page(args: argparse.Namespace, user: Any, params: dict[str, str],
               sizes: tuple[int, ...] = (20, 50, 200)) -> dict[str, Any]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import NoReverseMatch, reverse

    try:
        url = reverse("web:member_list")
    except NoReverseMatch:
        return _list_queryset(args, user, params)
    client = Client()
    client.force_login(user)
    queries: dict[str, int] = {}
    for _ in range(2):  # the first request of a session does one-off work (session, user)
        client.get(url, params)
    for size in sizes:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url, {**params, "size": str(size)})
        if response.status_code != 200:
            raise RuntimeError(f"GET {url} {params} answered {response.status_code}")
        queries[str(size)] = len(ctx.captured_queries)
    sample_queries = [q["sql"] for q in ctx.captured_queries]
    for _ in range(3):
        client.get(url, params)
    times = []
    for _ in range(args.requests):
        t = time.perf_counter()
        response = client.get(url, params)
        times.append((time.perf_counter() - t) * 1000)
        assert response.status_code == 200
    return {
        "how": f"GET {url}?{'&'.join(f'{k}={v}' for k, v in params.items())} (Django test Client)",
        "requests": len(times), "median_ms": round(statistics.median(times), 2),
        "max_ms": round(max(times), 2), "queries_by_page_size": queries,
        "fixed_query_count": len(set(queries.values())) == 1, "queries": sample_queries,
        "bytes": len(response.content),
    }


def _list_queryset(args: argparse.Namespace, user: Any, params: dict[str, str]) -> dict[str, Any]:
    """Stand-in while the page does not exist: the scoped queryset, first page plus count."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from huzhu.members.access import members_visible_to
    from huzhu.organisations.models import Organisation

    def run() -> None:
        qs = members_visible_to(user)
        if params.get("org"):
            qs = qs.filter(org_path__startswith=Organisation.objects.get(pk=params["org"]).path)
        list(qs.order_by("id")[:50])
        qs.count()

    with CaptureQueriesContext(connection) as ctx:
        run()
    times = []
    for _ in range(args.requests):
        t = time.perf_counter()
        run()
        times.append((time.perf_counter() - t) * 1000)
    n = len(ctx.captured_queries)
    return {"how": "queryset (page web:member_list not found)", "requests": len(times),
            "median_ms": round(statistics.median(times), 2), "max_ms": round(max(times), 2),
            "queries_by_page_size": {"50": n}, "fixed_query_count": True,
            "queries": [q["sql"] for q in ctx.captured_queries]}


def _plans(result: dict[str, Any]) -> dict[str, Any]:
    """EXPLAIN the member-table queries the measured code actually ran."""
    from django.db import connection

    sqls: dict[str, str] = {"lookup": result["lookup"]["sql"]}
    for key in ("county_list", "small_county_list", "province_list"):
        member_sql = [q for q in result[key]["queries"] if 'FROM "members_member"' in q]
        for i, sql in enumerate(member_sql):
            sqls[f"{key}.{'count' if 'COUNT(' in sql else 'page'}" if len(member_sql) > 1
                 else f"{key}.{i}"] = sql
    plans: dict[str, Any] = {"full_scan": []}
    for name, sql in sqls.items():
        with connection.cursor() as cursor:
            if connection.vendor == "sqlite":
                cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
                text = "\n".join(str(r[-1]) for r in cursor.fetchall())
                full = any(line.startswith("SCAN members_member") and "INDEX" not in line
                           for line in text.splitlines())
            else:
                cursor.execute(f"EXPLAIN {sql}")
                text = "\n".join(r[0] for r in cursor.fetchall())
                full = "Seq Scan on members_member" in text
        plans[name] = {"sql": sql, "plan": text, "full_scan": full}
        # The province list walks the whole province by design; only flag the others.
        if full and not name.startswith("province_list"):
            plans["full_scan"].append(name)
    return plans


if __name__ == "__main__":
    sys.exit(main())
