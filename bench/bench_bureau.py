"""The bureau's messages benchmark (issue 15): the 100,000-record import of bench_claims.py,
once in huzhu's generic record format and once in the national platform's 2304 settlement
output (each record in its envelope: ``infcode``, ``output.setlinfo``, ``output.setldetail``,
the platform's codes and the fields huzhu keeps but does not use), in one run on one
throwaway database.

    HUZHU_DEV=1 .venv/bin/python bench/bench_bureau.py [--records N] [--db postgres|sqlite]
                                                       [--quick]

Seeds as bench_claims.py does (not timed), writes both JSON Lines files (not timed), then
times ``settlement_import_file`` of each: read, unwrapped, validated, encrypted, matched,
stored, and the automatic claims decided (the stays of the second file are other stays of the
same members, months later). Target: each <= 60 s at 100,000 records. Prints a table and
writes ``bench/results/bureau.json``. ``--quick``: 5,000 records.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "bureau.json"
TARGETS = {"generic_seconds": 60.0, "national_seconds": 60.0}
FIGURES = (("generic_seconds", "(a) 通用格式导入（秒）"),
           ("national_seconds", "(b) 国家平台 2304 报文导入（秒）"))


def national(rec: dict) -> dict:
    """A generic record as the platform's 2304 answer carries it."""
    info = {k: v for k, v in rec.items() if k not in ("diag_code", "diag_name")}
    info.update({"psn_cert_type": "01", "naty": "01", "psn_type": "1101", "cvlserv_flag": "0",
                 "mdtrt_cert_type": "02", "clr_way": "1", "clr_type": "21",
                 "clr_optins": "450100", "balc": "0.00", "acct_mulaid_pay": "0.00",
                 "pool_prop_selfpay": "0.7000", "hosp_lv": "02",
                 "medins_setl_id": "H45010300001" + rec["setl_id"][-18:]})
    return {"infcode": 0, "inf_refmsgid": "450100202607010000000000000001",
            "refmsg_time": "20260701000000000", "respond_time": "20260701000000100",
            "err_msg": None, "warn_msg": None,
            "output": {"setlinfo": info, "setldetail": [{
                "fund_pay_type": "310100", "inscp_scp_amt": rec["inscp_scp_amt"],
                "crt_payb_lmt_amt": "0.00", "fund_payamt": rec["hifp_pay"],
                "fund_pay_type_name": "职工基本医疗保险统筹基金", "setl_proc_info": ""}]}}


def run(records: int) -> dict:
    import django

    django.setup()
    from bench_claims import _start_workers, bench_records, seed

    from huzhu.claims.ingest import settlement_import_file

    region, ids, members, setup = seed(records)
    var = Path(os.environ.get("HUZHU_VAR_DIR", tempfile.gettempdir()))
    generic = var / "generic.jsonl"
    generic.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n"
                               for r in bench_records(records, ids, members)))
    later = bench_records(records, ids, members, first=datetime.date(2026, 8, 1),
                          second=datetime.date(2026, 11, 1), prefix="N")
    nat = var / "national.jsonl"
    nat.write_text("".join(json.dumps(national(r), ensure_ascii=False) + "\n" for r in later))
    out: dict = {"records": records, "setup_seconds": setup,
                 "national_file_mb": nat.stat().st_size / 1e6}
    workers = _start_workers(int(os.environ.get("HUZHU_BENCH_WORKERS", "2")))
    try:
        for key, path in (("generic", generic), ("national", nat)):
            t = time.perf_counter()
            report = settlement_import_file(path_or_bytes=path, actor=None, fund_region=region,
                                            as_of=datetime.date(2026, 12, 20))
            out[f"{key}_seconds"] = time.perf_counter() - t
            assert not report.errors, [e.text() for e in report.errors[:3]]
            assert report.created == records, report.lines_zh()[:2]
            out[f"{key}_report"] = report.lines_zh()[:2]
    finally:
        for w in workers:
            w.terminate()
            w.wait(30)
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--db", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.quick:
        args.records = 5000
    if args.child:
        print(json.dumps(run(args.records), default=str))
        return 0
    env = dict(os.environ, HUZHU_DEV="1", DJANGO_SETTINGS_MODULE="huzhu.settings",
               PYTHONPATH=str(ROOT))
    tmp = tempfile.mkdtemp(prefix="huzhu-bench-bureau-")
    env["HUZHU_VAR_DIR"] = tmp
    db = f"huzhu_bench_bureau_{os.getpid()}"
    if args.db == "postgres":
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc",
                        f"CREATE DATABASE {db}"], check=True)
        env["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{db}"
    else:
        env["DATABASE_URL"] = f"sqlite:///{tmp}/bench.sqlite3"
    try:
        child = subprocess.run([sys.executable, str(ROOT / "bench" / "bench_bureau.py"),
                                "--child", "--records", str(args.records)],
                               env=env, cwd=ROOT, capture_output=True, text=True)
    finally:
        if args.db == "postgres":
            subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc",
                            f"DROP DATABASE IF EXISTS {db} WITH (FORCE)"])
    if child.returncode != 0:
        print(child.stderr[-3000:])
        return 1
    result = json.loads(child.stdout.strip().splitlines()[-1])
    full = args.records >= 100_000 and args.db == "postgres"
    ok = True
    print(f"{'figure':<44}{'result':>10}{'target':>10}  verdict")
    result["figures"] = []
    for key, label in FIGURES:
        value, target = result[key], TARGETS[key]
        verdict = "PASS" if value <= target else "FAIL"
        ok = ok and verdict == "PASS"
        if not full:
            verdict += " (small run)"
        print(f"{label:<44}{value:>10.1f}{target:>10.1f}  {verdict}")
        result["figures"].append({"figure": key, "label": label, "result": value,
                                  "target": target, "verdict": verdict,
                                  "command": f"bench/bench_bureau.py --records {args.records}"})
    print(f"records {args.records:,} on {args.db}; national file "
          f"{result['national_file_mb']:.0f} MB; setup {result['setup_seconds']:.1f} s (not timed)")
    for key in ("generic", "national"):
        print(f"{key}: {' '.join(result[f'{key}_report'])}")
    result["db"] = args.db
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    return 0 if ok or not full else 1


if __name__ == "__main__":
    sys.exit(main())
