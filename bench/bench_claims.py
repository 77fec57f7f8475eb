"""Claims benchmark: the three figures of issue 6, on a throwaway database.

    HUZHU_DEV=1 .venv/bin/python bench/bench_claims.py [--records N] [--db postgres|sqlite]
                                                       [--quick] [--single N] [--open N]

Creates a throwaway database (PostgreSQL ``huzhu_bench_claims_<pid>`` on 127.0.0.1:5432 by
default), migrates it, seeds a small province, enrolls 90 % of N members in 重庆 住院医疗 for
2026 through the roster services (setup, not timed) and marks 免申即享 for the product. Then:

(a) bulk: a JSON Lines file of N records imported as ``huzhu claims import`` imports it
    (``settlement_import_file``: read, validated, encrypted, blind-indexed, matched, stored by
    COPY) and their claims created, assessed (scalar engine, full trace), risk checked and
    decided through :mod:`huzhu.claims.bulk`, the approved ones granted as ``claim_grant``
    grants one: usage rows, payables in the ledger, payouts, SMS rows. Target: the whole
    import <= 60 s at 100,000 records (writing the file is not timed). Checked after (not timed): one payout, one payable and one SMS per
    approved claim, usage rows add up, ``ledger_problems`` finds nothing.
(b) one by one: ``--single`` (1,000) new records pushed through ``settlement_ingest`` (the
    API push service), each of which creates its automatic claim at once; p50 / p95 of the
    time from arrival to approved payable, over the claims approved. Target p95 <= 2 s.
(c) the reviewer queue at ``--open`` (100,000) claims in review (copied from the claims above
    by SQL, spread over the counties, due dates and two levels): plan and time of
    ``review_queue(user)[:50]`` with its select_related, for a province and a county reviewer,
    and a GET of ``claims:queue`` when that URL exists. Target <= 200 ms.

Prints a table and writes ``bench/results/claims.json``. ``--quick`` is 5,000 records, 200
single claims and 5,000 open claims (figures not comparable with the targets).
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
TARGETS = {"bulk_total_seconds": 60.0, "single_p95_seconds": 0.2,
           "queue_province_ms": 200.0, "queue_county_ms": 200.0, "queue_page_ms": 200.0}


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


def seed(records: int) -> tuple:
    """The bench's province, 90 % of ``records`` members enrolled in 重庆 住院医疗 for 2026 and
    免申即享 marked (setup, not timed). Returns (region, member ID numbers, members, seconds)."""
    from bench_enrollment import build_file
    from django.core.management import call_command

    from huzhu.claims.models import ClaimPolicy
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
    return region, member_ids(members), members, time.perf_counter() - t


def bench_records(records: int, ids: list[str], members: int,
                  first: datetime.date = datetime.date(2026, 2, 1),
                  second: datetime.date = datetime.date(2026, 6, 1), prefix: str = "") -> list:
    """``records`` settlement records: one stay of each member, a second stay of some, and
    people who are not members (yet)."""
    recs = []
    for i in range(records):
        if i < members:
            certno, begin = ids[i], first + datetime.timedelta(days=i % 60)
        elif i < members + (records - members) // 2:  # a second stay for some members
            certno, begin = ids[i - members], second
        else:  # people who are not members (yet): the unmatched queue
            certno, begin = outsider_id(i), datetime.date(2026, 3, 1)
        rec = make_record(i, certno, begin)
        if prefix:
            rec["setl_id"], rec["mdtrt_id"] = prefix + rec["setl_id"], prefix + rec["mdtrt_id"]
        recs.append(rec)
    return recs


def run(records: int, single: int, open_claims: int) -> dict:
    import django

    django.setup()
    from huzhu.claims.ingest import settlement_import_file

    region, ids, members, setup = seed(records)
    recs = bench_records(records, ids, members)

    path = Path(os.environ.get("HUZHU_VAR_DIR", tempfile.gettempdir())) / "settlements.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs))
    split = _time_parts()
    workers = _start_workers(int(os.environ.get("HUZHU_BENCH_WORKERS", "2")))
    try:
        t = time.perf_counter()
        report = settlement_import_file(path_or_bytes=path, actor=None, fund_region=region,
                                        as_of=datetime.date(2026, 7, 1))
        total = time.perf_counter() - t
    finally:
        for w in workers:
            w.terminate()
            w.wait(30)
    assert not report.errors, [e.text() for e in report.errors[:3]]
    assert report.created == records, report.lines_zh()[:2]
    counts = report.claims
    checks = bulk_checks(counts)
    out = {"records": records, "setup_seconds": setup,
           "ingest_seconds": split["ingest"],
           "claims_seconds": split["claims"], "bulk_total_seconds": total, "counts": counts,
           "report": report.lines_zh()[:2], "checks": checks}
    out.update(single_claims(ids, records, single, region))
    out.update(review_queue_figures(open_claims, region))
    return out


def _start_workers(n: int) -> list[subprocess.Popen]:
    """``n`` task workers (``huzhu worker --loop``) on the bench's database, started before the
    import is timed, as they would run beside an import (ADR 0009); none where the code is older
    than the task engine (the baseline)."""
    if not (ROOT / "huzhu" / "work").exists() and not Path("huzhu/work").exists():
        return []
    workers = [subprocess.Popen([sys.executable, "-m", "huzhu.cli", "worker", "--loop",
                                 "--interval", "0.1"], env=dict(os.environ),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
               for _ in range(n)]
    time.sleep(3)  # Django started, polling
    return workers


def _time_parts() -> dict[str, float]:
    """How long the import spends in the intake and in the claims (for the note; the figure
    is the whole import)."""
    import huzhu.claims.ingest as ingest

    split = {"ingest": 0.0, "claims": 0.0}  # storing (settlements app), then deciding (claims)
    for module, name, label in ((ingest, "settlements_receive", "ingest"),
                                (ingest, "settlements_decide", "claims")):
        real = getattr(module, name)

        def timed(*args, _real=real, _label=label, **kwargs):
            t = time.perf_counter()
            try:
                return _real(*args, **kwargs)
            finally:
                split[_label] += time.perf_counter() - t

        setattr(module, name, timed)
    return split


def member_ids(members: int) -> list[str]:
    from huzhu.demo.identities import resident_id

    start = datetime.date(1970, 1, 1)
    return [resident_id("450103", start + datetime.timedelta(days=(i // 1000) * 97 % 12000),
                        i % 1000) for i in range(members)]


def outsider_id(i: int) -> str:
    from huzhu.demo.identities import resident_id

    return resident_id("450202", datetime.date(1985, 1, 1) + datetime.timedelta(days=i % 5000),
                       i % 997)


def bulk_checks(counts: dict) -> dict:
    """What the bulk run must have written besides the claims (not timed)."""
    from django.db.models import Sum

    from huzhu.claims.models import Claim, MemberPeriodUsage
    from huzhu.ledger.models import Transaction
    from huzhu.ledger.verify import ledger_problems
    from huzhu.notices.models import OutboxMessage
    from huzhu.payouts.models import Payout

    t = time.perf_counter()
    approved = Claim.objects.filter(status="approved")
    granted = approved.aggregate(s=Sum("payable_fen"))["s"] or 0
    usage = MemberPeriodUsage.objects.aggregate(f=Sum("granted_fen"), n=Sum("claims"))
    found = {
        "claims": Claim.objects.count(),
        "approved": approved.count(),
        "payables": Transaction.objects.filter(source_type="claims.claim").count(),
        "payouts": Payout.objects.count(),
        "payout_fen": Payout.objects.aggregate(s=Sum("amount_fen"))["s"] or 0,
        "granted_fen": granted,
        "usage_fen": usage["f"] or 0, "usage_claims": usage["n"] or 0,
        "sms_approved": OutboxMessage.objects.filter(template="CLAIM_APPROVED").count(),
        "sms_rejected": OutboxMessage.objects.filter(template="CLAIM_REJECTED").count(),
        "ledger_problems": [str(p) for p in list(ledger_problems())[:5]],
    }
    found["verify_seconds"] = time.perf_counter() - t
    assert found["claims"] == sum(counts.values()), found
    n = found["approved"]
    assert found["payables"] == found["payouts"] == found["sms_approved"] == n, found
    assert found["usage_claims"] == n and found["usage_fen"] == granted == found["payout_fen"]
    assert found["sms_rejected"] == counts.get("rejected", 0), found
    assert not found["ledger_problems"], found
    return found


def single_claims(ids: list[str], records: int, n: int, region) -> dict:
    """(b): a clean claim from arrival (API push) to approved payable, one by one."""
    from huzhu.claims.ingest import settlement_ingest
    from huzhu.claims.models import Claim
    from huzhu.ledger.models import Transaction

    # Members with one stay so far (the first ones had a second, in June): a third stay in
    # September is their second claim of the year, inside every cap.
    first = len(ids) - n
    times, approved = [], []
    for k in range(n):
        i = first + k
        rec = make_record(records + k, ids[i], datetime.date(2026, 9, 1) + datetime.timedelta(
            days=k % 20))
        rec["setl_id"], rec["mdtrt_id"] = f"API{k:09d}", f"APIMD{k:09d}"
        t = time.perf_counter()
        result = settlement_ingest(record=rec, actor=None, source="api", fund_region=region)
        elapsed = time.perf_counter() - t
        claim = Claim.objects.filter(settlement=result.settlement).first()
        times.append(elapsed)
        if claim is not None and claim.status == "approved":
            assert Transaction.objects.filter(key=f"claim-payable:{claim.pk}").exists()
            approved.append(elapsed)
    assert approved, "no claim was approved"
    return {"single_n": n, "single_approved": len(approved),
            "single_p50_seconds": pct(approved, 50), "single_p95_seconds": pct(approved, 95),
            "single_max_seconds": max(approved), "single_all_p95_seconds": pct(times, 95)}


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def _copy_col(column: str) -> str:
    return "c.setl_id || '#' || g" if column == "setl_id" else f"c.{column}"


def _open_copies_portable(cols: list[str], leaves: list[str], n: int) -> None:
    """What the PostgreSQL statement in review_queue_figures does, for SQLite: ``n`` copies
    of the claims there are, in review, spread over the leaves, due dates and two levels."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(cols)} FROM claims_claim ORDER BY id")
        rows = cursor.fetchall()
        out = []
        for g in range(1, n + 1):
            day = datetime.date(2026, 7, 1) + datetime.timedelta(days=g % 40)
            row = list(rows[g % len(rows)])
            row[cols.index("setl_id")] = f"{row[cols.index('setl_id')]}#{g}"
            out.append((*row, "in_review", 1 + g % 2, day, leaves[g % len(leaves)], None))
        marks = ", ".join(["%s"] * (len(cols) + 5))
        cursor.executemany(
            f"INSERT INTO claims_claim ({', '.join(cols)}, status, review_level, due_on,"
            f" org_path, decided_at) VALUES ({marks})", out)


def review_queue_figures(open_claims: int, region) -> dict:
    """(c): the reviewer queue at ``open_claims`` claims in review."""
    from django.db import connection
    from django.test import Client
    from django.urls import NoReverseMatch, reverse

    from huzhu.accounts.models import User
    from huzhu.accounts.roles import Role
    from huzhu.claims.models import Claim
    from huzhu.claims.review import review_queue
    from huzhu.organisations.models import Organisation, OrgKind

    counties = list(Organisation.objects.filter(kind=OrgKind.COUNTY).order_by("id"))
    leaves = [o.path for o in Organisation.objects.filter(depth__gte=3).order_by("id")] or [
        c.path for c in counties]
    have = Claim.objects.filter(status="in_review").count()
    cols = [f.column for f in Claim._meta.concrete_fields
            if f.column not in ("id", "status", "review_level", "due_on", "org_path",
                                "decided_at")]
    if connection.vendor != "postgresql":  # the same copies, made in Python
        _open_copies_portable(cols, leaves, max(0, open_claims - have))
    else:
        with connection.cursor() as cursor:
            # Bench data only: copies of the claims made above, put in review by SQL.
            cursor.execute(
                f"INSERT INTO claims_claim ({', '.join(cols)}, status, review_level, due_on,"
                " org_path, decided_at)"
                # each copy its own setl_id: one claim per settlement and product (claim_once)
                f" SELECT {', '.join(_copy_col(c) for c in cols)}, 'in_review', 1 + (g %% 2),"
                " DATE '2026-07-01' + (g %% 40), (%s::text[])[1 + g %% %s], NULL"
                " FROM generate_series(1, %s) g JOIN (SELECT *, row_number() OVER (ORDER BY id) - 1"
                " AS rn FROM claims_claim) c ON c.rn = g %% (SELECT count(*) FROM claims_claim)",
                [leaves, len(leaves), max(0, open_claims - have)])
            cursor.execute("ANALYZE claims_claim")
    total = Claim.objects.filter(status="in_review").count()
    county = next(c for c in counties if any(p.startswith(c.path) for p in leaves))
    province = User.objects.create_user(username="bench-province", password="Bench-2026!x",
                                        role=Role.REVIEWER, organisation=region)
    local = User.objects.create_user(username="bench-county", password="Bench-2026!x",
                                     role=Role.REVIEWER, organisation=county)
    out: dict = {"open_claims": total}
    for name, user in (("province", province), ("county", local)):
        qs = review_queue(user).select_related("member", "product_version")[:50]
        rows = list(qs)
        assert rows, f"{name}: empty queue"
        sql, params = qs.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql if connection.vendor == "postgresql"
                           else "EXPLAIN QUERY PLAN " + sql, params)
            plan = [" ".join(str(x) for x in r) for r in cursor.fetchall()]
        times = []
        for _ in range(20):
            t = time.perf_counter()
            list(review_queue(user).select_related("member", "product_version")[:50])
            times.append((time.perf_counter() - t) * 1000)
        out[f"queue_{name}_ms"] = pct(times, 95)
        out[f"queue_{name}_best_ms"] = min(times)
        out[f"queue_{name}_plan"] = plan
    try:
        url = reverse("claims:queue")
    except NoReverseMatch:
        out["queue_page_ms"] = None
        out["queue_page_note"] = "claims:queue does not resolve yet"
        return out
    client = Client(HTTP_HOST="127.0.0.1")  # an allowed host of the settings
    client.force_login(province)
    try:  # staff show a second factor (TRUST S-05): the session is marked as having shown it
        from django_otp import DEVICE_ID_SESSION_KEY
        from django_otp.plugins.otp_totp.models import TOTPDevice
    except ImportError:  # code from before the second factor
        pass
    else:
        device = TOTPDevice.objects.create(user=province, name="bench", confirmed=True)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    times = []
    for _ in range(10):
        t = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - t) * 1000)
        assert response.status_code == 200, response.status_code
    out["queue_page_ms"] = pct(times, 95)
    out["queue_page_best_ms"] = min(times)
    return out


FIGURES = (
    ("bulk_total_seconds", "(a) 100k file import+claims+money, s", "--records 100000"),
    ("single_p95_seconds", "(b) arrival→payable p95, s", "--single 1000"),
    ("queue_province_ms", "(c) queue[:50] province, ms", "--open 100000"),
    ("queue_county_ms", "(c) queue[:50] county, ms", "--open 100000"),
    ("queue_page_ms", "(c) GET claims:queue, ms", "--open 100000"),
)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--single", type=int, default=1000)
    parser.add_argument("--open", type=int, default=100_000)
    parser.add_argument("--db", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--baseline", metavar="REF",
                        help="also measure the code at git REF first (old and new in one run)")
    args = parser.parse_args()
    if args.quick:
        args.records, args.single, args.open = 5000, 200, 5000
    if args.child:
        print(json.dumps(run(args.records, args.single, args.open), default=str))
        return 0
    baseline = None
    if args.baseline:
        print(f"baseline: {args.baseline} (the old code, measured first, in a git worktree)",
              flush=True)
        tree = Path(tempfile.mkdtemp(prefix="huzhu-bench-base-")) / "tree"
        subprocess.run(["git", "worktree", "add", "--detach", str(tree), args.baseline],
                       cwd=ROOT, check=True, capture_output=True)
        try:
            baseline = measure(tree, args)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT)
        if baseline is None:
            return 1
    result = measure(ROOT, args)
    if result is None:
        return 1
    result["db"] = args.db
    full = (args.records >= 100_000 and args.single >= 1000 and args.open >= 100_000
            and args.db == "postgres")
    ok = True
    print(f"{'figure':<36}{'old':>10}{'result':>10}{'target':>10}  verdict")
    result["figures"] = []
    result["baseline"] = args.baseline and {"ref": args.baseline, **(baseline or {})}
    for key, label, flag in FIGURES:
        value, target = result.get(key), TARGETS[key]
        old = (baseline or {}).get(key)
        old_shown = "—" if old is None else f"{old:.3f}" if old < 10 else f"{old:.1f}"
        if value is None:
            verdict = "n/a"
        else:
            verdict = "PASS" if value <= target else "FAIL"
            ok = ok and verdict == "PASS"
        if not full and verdict != "n/a":
            verdict += " (small run)"
        shown = "—" if value is None else f"{value:.3f}" if value < 10 else f"{value:.1f}"
        print(f"{label:<36}{old_shown:>10}{shown:>10}{target:>10.1f}  {verdict}")
        result["figures"].append({"figure": key, "label": label, "result": value,
                                  "target": target, "verdict": verdict,
                                  "command": f"bench/bench_claims.py {flag}"})
    rest = result["bulk_total_seconds"] - result["ingest_seconds"] - result["claims_seconds"]
    print(f"(a) file import {result['bulk_total_seconds']:.1f} s: intake"
          f" {result['ingest_seconds']:.1f} s, claims {result['claims_seconds']:.1f} s,"
          f" reading the file and the report {rest:.1f} s;"
          f" records {args.records:,} on {args.db}; decisions {result['counts']};"
          f" setup {result['setup_seconds']:.1f} s (not timed)")
    print(f"(b) {result['single_approved']} of {result['single_n']} approved:"
          f" p50 {result['single_p50_seconds'] * 1000:.0f} ms,"
          f" p95 {result['single_p95_seconds'] * 1000:.0f} ms,"
          f" max {result['single_max_seconds'] * 1000:.0f} ms")
    print(f"(c) {result['open_claims']:,} open; best province"
          f" {result['queue_province_best_ms']:.1f} ms, county {result['queue_county_best_ms']:.1f} ms"
          + (f"; {result['queue_page_note']}" if result.get("queue_page_note") else ""))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    return 0 if ok or not full else 1


def measure(root: Path, args: argparse.Namespace) -> dict | None:
    """Run the benchmark's child in the code tree ``root`` on a throwaway database."""
    env = dict(os.environ, HUZHU_DEV="1", DJANGO_SETTINGS_MODULE="huzhu.settings",
               PYTHONPATH=str(root))
    tmp = tempfile.mkdtemp(prefix="huzhu-bench-claims-")
    env["HUZHU_VAR_DIR"] = tmp
    db = f"huzhu_bench_claims_{os.getpid()}"
    if args.db == "postgres":
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc",
                        f"CREATE DATABASE {db}"], check=True)
        env["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{db}"
    else:
        env["DATABASE_URL"] = f"sqlite:///{tmp}/bench.sqlite3"
    try:
        # This file measures both trees (the same measuring code; PYTHONPATH picks the code).
        out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child",
                              "--records", str(args.records), "--single", str(args.single),
                              "--open", str(args.open)],
                             env=env, cwd=root, capture_output=True, text=True)
        if out.returncode != 0:
            print(out.stderr[-3000:])
            return None
        return json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        if args.db == "postgres":
            subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc",
                            f"DROP DATABASE IF EXISTS {db} WITH (FORCE)"])


if __name__ == "__main__":
    sys.exit(main())
