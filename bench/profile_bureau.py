"""Profile the national-format import of bench_bureau.py (issue 15) in one process: cProfile
and the SQL statements per record (no task workers: the caller runs every part itself).

    HUZHU_DEV=1 .venv/bin/python bench/profile_bureau.py seed [--records N]
    HUZHU_DEV=1 .venv/bin/python bench/profile_bureau.py run [--out FILE.prof] [--code DIR]

``seed`` makes the template database ``huzhu_prof_bureau_seed`` as bench_bureau.py does (its
province, its members, the generic file imported), and writes the national file; ``run``
copies the template and times and profiles the national file's import on the copy, with the
code of ``--code`` (default this tree; another worktree measures older code on the same data).
On a loaded machine compare the process's CPU seconds and the Python function calls counted,
not the wall clock.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime
import gc
import json
import os
import pstats
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

ROOT = Path(__file__).resolve().parent.parent
SEED = "huzhu_prof_bureau_seed"
VAR = Path(os.environ.get("HUZHU_PROF_DIR", Path(tempfile.gettempdir()) / "huzhu-prof-bureau"))


def psql(sql: str, check: bool = True) -> None:
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", sql], check=check)


def child(mode: str, records: int, out: str) -> None:
    import django

    django.setup()
    from bench_bureau import national
    from bench_claims import bench_records, seed
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from huzhu.claims.ingest import settlement_import_file
    from huzhu.organisations.models import Organisation

    if mode == "seed":
        region, ids, members, _setup = seed(records)
        gen = bench_records(records, ids, members)
        report = settlement_import_file(
            path_or_bytes=("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in gen)
                           ).encode(), file_name="generic.jsonl", actor=None,
            fund_region=region, as_of=datetime.date(2026, 12, 20))
        assert report.created == records, report.lines_zh()[:2]
        later = bench_records(records, ids, members, first=datetime.date(2026, 8, 1),
                              second=datetime.date(2026, 11, 1), prefix="N")
        (VAR / "national.jsonl").write_text(
            "".join(json.dumps(national(r), ensure_ascii=False) + "\n" for r in later))
        print(json.dumps({"records": records, "generic": report.lines_zh()[:2]},
                         ensure_ascii=False))
        return
    region = Organisation.objects.get(depth=0)
    path = VAR / "national.jsonl"
    n = sum(1 for _ in path.open())
    prof = cProfile.Profile()
    gc_time = [0.0, 0.0, 0]  # seconds in the cyclic collector, its start, collections of gen 2

    def gc_timer(phase: str, info: dict) -> None:
        if phase == "start":
            gc_time[1] = time.perf_counter()
        else:
            gc_time[0] += time.perf_counter() - gc_time[1]
            gc_time[2] += info["generation"] == 2

    gc.callbacks.append(gc_timer)
    with CaptureQueriesContext(connection) as queries:
        t, cpu = time.perf_counter(), time.process_time()
        prof.enable()
        report = settlement_import_file(path_or_bytes=path, actor=None, fund_region=region,
                                        as_of=datetime.date(2026, 12, 20))
        prof.disable()
        seconds, cpu = time.perf_counter() - t, time.process_time() - cpu
    gc.callbacks.remove(gc_timer)
    assert not report.errors and report.created == n, report.lines_zh()[:2]
    prof.dump_stats(out)
    kinds: Counter = Counter()
    for q in queries.captured_queries:
        kinds[" ".join(q["sql"].split()[:6])[:110]] += 1
    calls = sum(v[1] for v in pstats.Stats(out).stats.values())  # type: ignore[attr-defined]
    print(f"code {os.environ['PYTHONPATH']}: {cpu / n * 1000:.3f} ms CPU a record"
          f" ({cpu:.2f} s), {calls / n:.0f} Python calls a record; garbage collector"
          f" {gc_time[0]:.2f} s ({gc_time[2]} full collections)")
    print(f"records {n}: {seconds:.2f} s, {seconds / n * 1000:.3f} ms a record;"
          f" {len(queries)} statements ({len(queries) / n:.3f} a record); {report.lines_zh()[1]}")
    for sql, count in kinds.most_common(25):
        print(f"{count:>7}  {sql}")
    print("slowest statements (s):")
    for q in sorted(queries.captured_queries, key=lambda q: -float(q["time"]))[:25]:
        print(f"{float(q['time']):>7.3f}  {' '.join(q['sql'].split())[:300]}")
    pstats.Stats(out).sort_stats("cumulative").print_stats(45)
    pstats.Stats(out).sort_stats("tottime").print_stats(30)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=("seed", "run"))
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--out", default=str(VAR / "import.prof"))
    parser.add_argument("--code", default=str(ROOT), help="the code tree to import with")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.mode, args.records, args.out)
        return 0
    VAR.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, HUZHU_DEV="1", DJANGO_SETTINGS_MODULE="huzhu.settings",
               PYTHONPATH=args.code, HUZHU_VAR_DIR=str(VAR))
    db = SEED if args.mode == "seed" else f"huzhu_prof_bureau_{os.getpid()}"
    if args.mode == "seed":
        psql(f"DROP DATABASE IF EXISTS {SEED} WITH (FORCE)")
        psql(f"CREATE DATABASE {SEED}")
    else:
        psql(f"CREATE DATABASE {db} TEMPLATE {SEED}")
    env["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{db}"
    try:
        return subprocess.run([sys.executable, __file__, args.mode, "--child", "--records",
                               str(args.records), "--out", args.out], env=env, cwd=ROOT).returncode
    finally:
        if args.mode == "run":
            psql(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)", check=False)


if __name__ == "__main__":
    sys.exit(main())
