"""Claims benchmark: N settlement records ingested, matched, assessed and decided.

    HUZHU_DEV=1 .venv/bin/python bench/bench_claims.py [--records N] [--db postgres|sqlite]
                                                       [--quick]

Creates a throwaway database (PostgreSQL ``huzhu_bench_claims_<pid>`` on 127.0.0.1:5432 by
default), migrates it, seeds a small province, enrolls 90 % of N members in 重庆 住院医疗 for
2026 through the roster services (setup, not timed) and marks 免申即享 for the product. Then it
times, through :mod:`huzhu.claims.bulk`:

- ingest: N records validated, encrypted, blind-indexed, matched and stored (COPY);
- claims: the matched ones turned into claims, assessed (scalar engine, with trace), risk
  checked and approved / sent to review / refused, with one chained event per decision.

Target: ingest + claims <= 60 s at 100,000 records on PostgreSQL (ledger postings come later).
Prints a table and writes ``bench/results/claims.json``. ``--quick`` is 5,000 records.
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
RESULTS = ROOT / "bench" / "results" / "claims.json"
TARGET = 60.0


def _yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def make_record(i: int, certno: str, begin: datetime.date) -> dict:
    inscp = 200_000 + (i * 7919) % 3_000_000
    hifp = inscp * 7 // 10
    own, over, pre = 10_000 + i % 5000, 2_000, 3_000
    medfee = own + over + pre + inscp
    end = begin + datetime.timedelta(days=3 + i % 9)
    return {
        "setl_id": f"SETL{i:09d}", "mdtrt_id": f"MD{i:09d}", "psn_no": f"P{i}", "psn_name": f"会员{i}",
        "certno": certno, "gend": "1", "insutype": "310", "med_type": "21",
        "begndate": begin.isoformat(), "enddate": end.isoformat(),
        "setl_time": f"{end.isoformat()} 10:00:00", "fixmedins_code": "H45010300001",
        "fixmedins_name": "广西医科大学第一附属医院", "hosp_lv": "3", "diag_code": "K35.800",
        "diag_name": "急性阑尾炎", "medfee_sumamt": _yuan(medfee), "fulamt_ownpay_amt": _yuan(own),
        "overlmt_selfpay": _yuan(over), "preselfpay_amt": _yuan(pre),
        "inscp_scp_amt": _yuan(inscp), "hifp_pay": _yuan(hifp), "fund_pay_sumamt": _yuan(hifp),
        "psn_part_amt": _yuan(medfee - hifp), "acct_pay": "0.00", "psn_cash_pay": _yuan(medfee - hifp),
    }


def run(records: int) -> dict:
    import django

    django.setup()
    from bench_enrollment import build_file
    from django.core.management import call_command

    from huzhu.claims.bulk import claims_process_many, settlements_ingest_many
    from huzhu.claims.models import Claim, ClaimPolicy
    from huzhu.demo.identities import resident_id
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
    members = records * 9 // 10
    unit = Unit.objects.order_by("id").first()
    t = time.perf_counter()
    data = build_file(members, offer.product_version.name)
    roster, _ = roster_upload(unit=unit, period=period, file_name="bench.xlsx", data=data, actor=None)
    validation = roster_validate(table=read_roster(data, "bench.xlsx"), unit=unit, period=period)
    roster_commit(roster=roster, validation=validation, actor=None)
    Enrollment.objects.update(status="active", coverage_start=datetime.date(2026, 1, 1),
                              continuous_since=datetime.date(2026, 1, 1), first_time=True)
    ClaimPolicy.objects.create(product_code="chongqing-2015-medical", auto_claim=True,
                               review_threshold_fen=1_000_000, sample_percent=2)
    setup = time.perf_counter() - t

    start = datetime.date(1970, 1, 1)
    ids = [resident_id("450103", start + datetime.timedelta(days=(i // 1000) * 97 % 12000), i % 1000)
           for i in range(members)]
    recs = []
    for i in range(records):
        if i < members:
            certno, begin = ids[i], datetime.date(2026, 2, 1) + datetime.timedelta(days=i % 60)
        elif i < members + (records - members) // 2:  # a second stay for some members
            certno, begin = ids[i - members], datetime.date(2026, 6, 1)
        else:  # people who are not members (yet): the unmatched queue
            certno, begin = resident_id("450202", datetime.date(1985, 1, 1) + datetime.timedelta(
                days=i % 5000), i % 997), datetime.date(2026, 3, 1)
        recs.append(make_record(i, certno, begin))

    t = time.perf_counter()
    report = settlements_ingest_many(recs, actor=None, fund_region=region)
    ingest = time.perf_counter() - t
    assert not report.errors, [e.text() for e in report.errors[:3]]
    t = time.perf_counter()
    counts = claims_process_many(report.ids, actor=None, as_of=datetime.date(2026, 7, 1))
    claims = time.perf_counter() - t
    assert Claim.objects.count() == sum(counts.values())
    return {"records": records, "setup_seconds": setup, "ingest_seconds": ingest,
            "claims_seconds": claims, "total_seconds": ingest + claims, "counts": counts}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--db", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    records = 5000 if args.quick else args.records
    if args.child:
        print(json.dumps(run(records)))
        return 0
    env = dict(os.environ, HUZHU_DEV="1", DJANGO_SETTINGS_MODULE="huzhu.settings")
    tmp = tempfile.mkdtemp(prefix="huzhu-bench-claims-")
    env["HUZHU_VAR_DIR"] = tmp
    db = f"huzhu_bench_claims_{os.getpid()}"
    if args.db == "postgres":
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"CREATE DATABASE {db}"],
                       check=True)
        env["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{db}"
    else:
        env["DATABASE_URL"] = f"sqlite:///{tmp}/bench.sqlite3"
    try:
        out = subprocess.run([sys.executable, __file__, "--child", "--records", str(records)],
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
    ok = result["total_seconds"] <= TARGET if records >= 100_000 else True
    print(f"{'figure':<28}{'value':>12}{'target':>12}  result")
    for key in ("ingest_seconds", "claims_seconds", "total_seconds"):
        target = f"{TARGET:>12.1f}" if key == "total_seconds" else f"{'':>12}"
        status = ("PASS" if result[key] <= TARGET else "FAIL") if key == "total_seconds" else ""
        print(f"{key:<28}{result[key]:>12.2f}{target}  {status}"
              + ("" if records >= 100_000 or not status else " (small run)"))
    print(f"records {records:,} on {args.db}; decisions {result['counts']}; "
          f"setup {result['setup_seconds']:.1f} s (not timed)")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
