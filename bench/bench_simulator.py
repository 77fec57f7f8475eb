"""Policy simulator benchmark: the two figures of issue 18 part 3, on a throwaway database.

    HUZHU_DEV=1 .venv/bin/python bench/bench_simulator.py [--claims N] [--synthetic N] [--quick]

(a) ``--claims`` (150,000: one year of a province) claims stored in PostgreSQL
    (``huzhu_bench_simulator_<pid>`` on 127.0.0.1:5432): the demo province (``demo seed``) and
    its demo claims (``demo claims``: real enrollments, settlements and claims of 互助1号 made
    by the services) are the templates; their rows are copied by SQL (``generate_series``) into
    N claims of about N × 2/3 members spread over every grassroots union, with varied stays and
    amounts (setup, not timed). Then timed, end to end: :func:`huzhu.insights.simulator.simulate`
    with nothing in memory — reading the claims with their settlements, members and
    enrollments, the columns, the vector engine under the starting version and under a draft
    (band 1 from 30 % to 35 %), and the winners-and-losers summary by cost band and region.
    Target ≤ 2 s. Then the same run in a process that finds the period's column file (what the
    simulator keeps under VAR_DIR while the claims are unchanged), another draft with the claims
    kept in memory, and a city's scope.
(b) ``--synthetic`` (5,000,000) claims as synthetic stay arrays (no database: facts drawn at
    random, the shape :class:`huzhu.rules.vector.StayFacts` the replay reads), columns, both
    vector runs and the summary. Target ≤ 20 s.

Prints a table and writes ``bench/results/simulator.json``. ``--quick`` is 5,000 claims and
200,000 synthetic ones (figures not comparable with the targets).
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

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "simulator.json"
TARGETS = {"replay_seconds": 2.0, "replay_file_seconds": 2.0, "synthetic_seconds": 20.0}
PRODUCT = "guangxi-2024-huzhu1"


def _clone(cur, model, template_pk: int, count: int, first_id: int, overrides: dict) -> None:
    """Copy one row ``count`` times by SQL; ``g`` (1..count) names the copy in expressions."""
    table = model._meta.db_table
    cols, exprs = [], []
    for f in model._meta.concrete_fields:
        cols.append(f'"{f.column}"')
        if f.primary_key:
            exprs.append(f"{first_id} + g")
        elif f.column in overrides:
            exprs.append(overrides[f.column])
        else:
            assert not f.unique, f"{table}.{f.column} is unique: give it an override"
            exprs.append(f't."{f.column}"')
    cur.execute(f'INSERT INTO {table} ({", ".join(cols)}) SELECT {", ".join(exprs)} '
                f"FROM {table} t, generate_series(1, {count}) g WHERE t.id = {template_pk}")
    cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))")


def seed(claims: int) -> dict:
    from django.core.management import call_command
    from django.db import connection

    from huzhu.claims.models import Claim
    from huzhu.demo.claims import ensure_demo_claims
    from huzhu.enrollment.models import Enrollment
    from huzhu.members.models import Member
    from huzhu.organisations.models import Organisation
    from huzhu.settlements.models import Settlement

    call_command("migrate", verbosity=0)
    call_command("demo_seed", members=400, seed=1, verbosity=0)
    made = ensure_demo_claims(units=6, seed=1, today=datetime.date(2026, 12, 7))
    assert made is not None
    t = Claim.objects.filter(period=made.period, product_code=PRODUCT).order_by("id").first()
    assert t is not None, "the demo made no claim to copy"
    members = max(claims * 2 // 3, 1)
    leaves = list(Organisation.objects.filter(children__isnull=True, depth__gte=2)
                  .order_by("id").values_list("id", "path"))
    ids = "ARRAY[" + ",".join(str(i) for i, _ in leaves) + "]::bigint[]"
    paths = "ARRAY[" + ",".join(f"'{p}'" for _, p in leaves) + "]::text[]"
    k = len(leaves)
    org = f"(({ids})[1 + (g % {k})])"
    path = f"(({paths})[1 + (g % {k})])"
    with connection.cursor() as cur:
        def top(model) -> int:
            cur.execute(f"SELECT coalesce(max(id), 0) + 10 FROM {model._meta.db_table}")
            return int(cur.fetchone()[0])

        m0, e0, s0, c0 = top(Member), top(Enrollment), top(Settlement), top(Claim)
        _clone(cur, Member, t.member_id, members, m0, {
            "id_number_bidx": "'bench' || g", "name": "'会员' || g",
            "birth_date": "DATE '1962-01-01' + (g * 37 % 14000)",
            "gender": "CASE WHEN g % 2 = 0 THEN 'M' ELSE 'F' END",
            "organisation_id": org, "org_path": path, "unit_id": "NULL",
            "is_union_member": "true", "insurance_type": "'310'"})
        _clone(cur, Enrollment, t.enrollment_id, members, e0, {
            "member_id": f"{m0} + g", "org_path": path, "unit_id": "NULL", "roster_id": "NULL",
            "invoice_id": "NULL", "first_time": "g % 3 = 0", "status": "'active'",
            "continuous_since": "DATE '2020-01-01' + (g % 2000)",
            "coverage_start": "DATE '2026-01-01'"})
        member_of = f"({m0} + 1 + ((g - 1) % {members}))"
        begin = "(DATE '2026-01-03' + ((g * 7) % 340))"
        inscp = "(200000 + (g * 7919) % 6000000)"
        _clone(cur, Settlement, t.settlement_id, claims, s0, {
            "setl_id": "'BS' || g", "mdtrt_id": "'BM' || g", "certno_bidx": "'bc' || g",
            "content_hash": "md5(g::text)", "member_id": member_of, "org_path": path,
            "begndate": begin, "enddate": f"{begin} + (g % 12)",
            "setl_time": f"({begin} + (g % 12))::timestamp + interval '10 hours'",
            "batch_id": "NULL", "medfee_sumamt_fen": f"{inscp} + 30000",
            "inscp_scp_amt_fen": inscp, "hifp_pay_fen": f"{inscp} * 6 / 10",
            "fund_pay_sumamt_fen": f"{inscp} * 6 / 10", "hifmi_pay_fen": "0",
            "hifob_pay_fen": "0", "cvlserv_pay_fen": "0", "psn_ownpay_fen": "NULL"})
        _clone(cur, Claim, t.pk, claims, c0, {
            "setl_id": "'BS' || g", "member_id": member_of, "settlement_id": f"{s0} + g",
            "enrollment_id": f"{e0} + 1 + ((g - 1) % {members})", "org_path": path,
            "event_date": begin, "status": "'approved'", "assessment_id": "NULL",
            "payable_fen": f"{inscp} * 4 / 10 * 3 / 10",
            "created_at": f"({begin} + (g % 12) + 1)::timestamp"})
        for model in (Member, Enrollment, Settlement, Claim):
            cur.execute(f"ANALYZE {model._meta.db_table}")
    return {"period": made.period.pk, "members": members, "template_claim": t.pk}


def replay_figures(claims: int) -> dict:
    from huzhu.claims.models import Claim
    from huzhu.claims.reassess import replay_read
    from huzhu.insights.simulator import memo_clear, simulate
    from huzhu.insights.simulator_levers import apply_levers
    from huzhu.organisations.models import Organisation
    from huzhu.products.models import Period, ProductVersion

    t = time.perf_counter()
    info = seed(claims)
    setup = time.perf_counter() - t
    period = Period.objects.get(pk=info["period"])
    base = ProductVersion.objects.get(code=PRODUCT, version="2024.1")
    draft = apply_levers(base.document, {"benefits": {"hospital": {"rates": {"0": "35%"}}}})
    root = Organisation.objects.get(depth=0, is_fund_region=True)
    memo_clear()
    t = time.perf_counter()
    run = simulate(base=base, period=period, document=draft, org_path=root.path)
    cold = time.perf_counter() - t
    memo_clear(files=False)  # as another process would: the column file is there
    t = time.perf_counter()
    from_file = simulate(base=base, period=period, document=draft, org_path=root.path)
    kept = time.perf_counter() - t
    assert from_file.summary == run.summary
    t = time.perf_counter()
    again = simulate(base=base, period=period,
                     document=apply_levers(base.document, {"premium": "120"}),
                     org_path=root.path)
    warm = time.perf_counter() - t
    memo_clear()
    t = time.perf_counter()
    replay = replay_read(code=PRODUCT, period=period, org_path=root.path, diseases=False,
                         held=False)
    read = time.perf_counter() - t
    first_leaf = Claim.objects.filter(period=period).order_by("-id").values_list(
        "org_path", flat=True).first()
    city = Organisation.objects.get(path="/" + "/".join(first_leaf.strip("/").split("/")[:2]) + "/")
    memo_clear()
    t = time.perf_counter()
    city_run = simulate(base=base, period=period, document=draft, org_path=city.path)
    city_seconds = time.perf_counter() - t
    s = run.summary
    assert s["claims"] >= claims, s["claims"]
    assert s["change_fen"] > 0 and s["gainers"] > 0 and s["losers"] == 0
    assert again.summary["change_fen"] == 0
    return {"claims": s["claims"], "members": s["members"], "setup_seconds": setup,
            "replay_seconds": cold, "replay_file_seconds": kept, "replay_again_seconds": warm, "read_seconds": read,
            "read_claims": replay.n, "city_seconds": city_seconds,
            "city_claims": city_run.summary["claims"], "change_fen": s["change_fen"],
            "before_fen": s["before_fen"], "gainers": s["gainers"]}


def synthetic_figures(n: int) -> dict:
    import numpy as np

    from huzhu.insights.simulator import Premiums, summarise
    from huzhu.insights.simulator_levers import apply_levers
    from huzhu.products.services import product_from_document
    from huzhu.rules import vector
    from huzhu.rules.catalog import default_catalog_dir, load_catalog

    catalog = load_catalog(default_catalog_dir())
    base = catalog.product(PRODUCT)
    document = Path(base.path).read_text(encoding="utf-8")
    lists = {p.name: p.read_text(encoding="utf-8")
             for p in sorted((default_catalog_dir() / "lists").glob("*.toml"))}
    draft, issues = product_from_document(
        PRODUCT, apply_levers(document, {"benefits": {"hospital": {"rates": {"0": "35%"}}}}),
        lists)
    assert draft is not None, issues
    rng = np.random.default_rng(2026)
    members = n * 2 // 3
    member = np.sort(rng.integers(1, members + 1, n))
    begin = datetime.date(2026, 1, 3).toordinal() + rng.integers(0, 340, n)
    end = begin + rng.integers(0, 12, n)
    order = np.lexsort((end, member))  # in member and discharge order, as a replay reads them
    begin, end = begin[order], end[order]
    inscp = rng.integers(200_000, 6_200_000, n)
    no = np.full(n, vector.NO_DATE, np.int64)
    stays = vector.StayFacts(
        member=member, begndate=begin, enddate=end, setl_date=end, claim_date=end + 1,
        coverage_start=np.full(n, datetime.date(2026, 1, 1).toordinal(), np.int64),
        period_start=np.full(n, datetime.date(2026, 1, 1).toordinal(), np.int64),
        period_end=np.full(n, datetime.date(2026, 12, 31).toordinal(), np.int64),
        birth_date=datetime.date(1962, 1, 1).toordinal() + rng.integers(0, 14000, n),
        gender=np.where(rng.random(n) < 0.5, "M", "F"), insutype=np.full(n, "310"),
        union_member=np.ones(n, bool), shares=np.ones(n, np.int64),
        membership_years=rng.integers(1, 8, n), first_time=rng.random(n) < 0.3,
        hospital_level=rng.integers(1, 4, n), disease=np.full(n, "K35.800"),
        held=[(PRODUCT,)] * n,
        amounts={"medfee_sumamt": inscp + 30_000, "inscp_scp_amt": inscp,
                 "hifp_pay": inscp * 6 // 10, "hifmi_pay": no * 0, "hifob_pay": no * 0,
                 "cvlserv_pay": no * 0})
    regions = rng.integers(0, 14, n)
    t = time.perf_counter()
    cols = vector.columns_from_stays(stays, base)
    before = vector.assess_columns(cols, base).payable
    if vector.columns_key(draft) != vector.columns_key(base):
        cols = vector.columns_from_stays(stays, draft)
    after = vector.assess_columns(cols, draft).payable
    s = summarise(before=before, after=after, member_ids=member, cost_fen=inscp + 30_000,
                  region_index=regions, region_names=[f"地区{i}" for i in range(14)],
                  recorded_fen=before, premiums=Premiums(members * 10_000, members),
                  premium_after_fen=members * 10_000)
    seconds = time.perf_counter() - t
    assert s["claims"] == n and s["change_fen"] > 0
    return {"synthetic_claims": n, "synthetic_seconds": seconds,
            "synthetic_change_fen": s["change_fen"]}


def child(claims: int, synthetic: int) -> dict:
    import django

    django.setup()
    out = replay_figures(claims)
    out.update(synthetic_figures(synthetic))
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--claims", type=int, default=150_000)
    parser.add_argument("--synthetic", type=int, default=5_000_000)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.quick:
        args.claims, args.synthetic = 5000, 200_000
    if args.child:
        print(json.dumps(child(args.claims, args.synthetic), default=str))
        return 0
    env = dict(os.environ, HUZHU_DEV="1", DJANGO_SETTINGS_MODULE="huzhu.settings",
               PYTHONPATH=str(ROOT), HUZHU_VAR_DIR=tempfile.mkdtemp(prefix="huzhu-bench-sim-"))
    db = f"huzhu_bench_simulator_{os.getpid()}"
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"CREATE DATABASE {db}"],
                   check=True)
    env["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{db}"
    try:
        out = subprocess.run([sys.executable, str(ROOT / "bench" / "bench_simulator.py"),
                              "--child", "--claims", str(args.claims), "--synthetic",
                              str(args.synthetic)], env=env, cwd=ROOT, capture_output=True,
                             text=True)
    finally:
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc",
                        f"DROP DATABASE IF EXISTS {db} WITH (FORCE)"])
    if out.returncode != 0:
        print(out.stderr[-3000:])
        return 1
    result = json.loads(out.stdout.strip().splitlines()[-1])
    full = args.claims >= 150_000 and args.synthetic >= 5_000_000
    ok = True
    print(f"{'figure':<52}{'result':>10}{'target':>10}  verdict")
    rows = [("replay_seconds", f"(a) {result['claims']:,} claims, read from the database, s"),
            ("replay_file_seconds", f"(a) {result['claims']:,} claims, read from the column file, s"),
            ("synthetic_seconds", f"(b) {result['synthetic_claims']:,} synthetic claims, s")]
    result["figures"] = []
    for key, label in rows:
        value, target = result[key], TARGETS[key]
        verdict = "PASS" if value <= target else "FAIL"
        ok = ok and verdict == "PASS"
        if not full:
            verdict += " (small run)"
        print(f"{label:<52}{value:>10.2f}{target:>10.1f}  {verdict}")
        result["figures"].append({"figure": key, "label": label, "result": value,
                                  "target": target, "verdict": verdict})
    print(f"(a) reading alone {result['read_seconds']:.2f} s; another draft with the claims "
          f"kept in memory {result['replay_again_seconds']:.2f} s; one city "
          f"({result['city_claims']:,} claims) {result['city_seconds']:.2f} s; "
          f"{result['members']:,} members, {result['gainers']:,} gain; "
          f"setup {result['setup_seconds']:.0f} s (not timed)")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    return 0 if ok or not full else 1


if __name__ == "__main__":
    sys.exit(main())
