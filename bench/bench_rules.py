"""Benchmark the rules engines against their targets (issue 3).

Run: ``.venv/bin/python bench/bench_rules.py [--quick]``. Prints a table of each figure, its
target and PASS/FAIL, and writes ``bench/results/rules.json``.

- vector engine: 1,000,000 claims of yueyang-2014-hospital with period caps, data already in
  memory (columns), one core: ≤ 0.5 s; also chongqing-2015-medical and a lump-sum product;
- scalar engine: claims per second with the trace off: ≥ 20,000/s;
- the vector/scalar ratio measured in the same run;
- agreement: scalar and vector on 100,000 generated cases across the catalog, identical fen.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from huzhu.rules.catalog import load_catalog  # noqa: E402
from huzhu.rules.model import ClaimFacts, Product  # noqa: E402
from huzhu.rules.scalar import assess, next_usage  # noqa: E402
from huzhu.rules.vector import (  # noqa: E402
    assess_columns,
    assess_many,
    disease_vocabulary,
    make_columns,
)

START = date(2024, 1, 1)


def hospital_columns(n: int, rng: np.random.Generator, claims_per_member: int = 4):
    """n hospital claims already in memory, sorted by member and discharge date."""
    group = np.arange(n, dtype=np.int64) // claims_per_member
    order = START.toordinal() + (np.arange(n, dtype=np.int64) % claims_per_member) * 60
    medfee = rng.integers(100_00, 400_000_00, n, dtype=np.int64)
    inscp = medfee * rng.integers(50, 100, n, dtype=np.int64) // 100
    hifp = inscp * rng.integers(30, 90, n, dtype=np.int64) // 100
    hifob = (inscp - hifp) * rng.integers(0, 30, n, dtype=np.int64) // 100
    amounts = {"medfee_sumamt": medfee, "inscp_scp_amt": inscp, "hifp_pay": hifp, "hifob_pay": hifob}
    return make_columns(n, group=group, order=order, amounts=amounts,
                        days=rng.integers(1, 60, n, dtype=np.int64),
                        event_other=order - 5, cover_start=np.full(n, START.toordinal(), np.int64))


def lump_columns(n: int, rng: np.random.Generator, product: Product):
    vocab = disease_vocabulary(product)
    cols = hospital_columns(n, rng, claims_per_member=2)
    cols.claim_type = np.full(n, 2, np.int64)  # diagnosis
    cols.disease = rng.integers(-2, len(vocab), n, dtype=np.int64)
    cols.event_lump = START.toordinal() + rng.integers(0, 365, n, dtype=np.int64)
    cols.waiting = rng.random(n) < 0.3
    cols.shares = rng.integers(1, 4, n, dtype=np.int64)
    return cols


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def random_facts(rng: random.Random, product: Product, member: str) -> ClaimFacts:
    types = sorted({t for b in product.benefits for t in b.claim_types})
    vocab = disease_vocabulary(product) + ["zz-unlisted"]
    begin = START + timedelta(days=rng.randint(-10, 375))
    medfee = rng.randint(0, 50_000_000)
    inscp = rng.randint(0, medfee)
    hifp = rng.randint(0, inscp)
    return ClaimFacts(
        claim_id=f"{member}-{begin}", member_id=member, claim_type=rng.choice(types),
        subject=rng.choice(["member", "member", "member", "spouse"]), gender=rng.choice("MF"),
        birth_date=date(rng.randint(1962, 2004), rng.randint(1, 12), 1), insutype=rng.choice(["310", "390"]),
        shares=rng.randint(1, 3), membership_years=rng.randint(1, 4), coverage_start=START,
        first_time=rng.random() < 0.5, begndate=begin, enddate=begin + timedelta(days=rng.randint(0, 90)),
        hospital_level=rng.randint(1, 3), disease=rng.choice(vocab) if rng.random() < 0.7 else None,
        accident_outcome=rng.choice([None, "death", "disability"]), disability_grade=rng.randint(1, 10),
        during_stay=rng.random() < 0.3, held_products=("guangxi-2024-huzhu1",) if rng.random() < 0.5 else (),
        amounts={"medfee_sumamt": medfee, "inscp_scp_amt": inscp, "hifp_pay": hifp,
                 "psn_ownpay": medfee - inscp, "psn_part_amt": medfee - hifp},
    )


def agreement(catalog, cases: int, seed: int = 7) -> tuple[int, int]:
    """Return (cases compared, mismatching cases) over every product of the catalog."""
    rng, checked, bad = random.Random(seed), 0, 0
    products = list(catalog.products.values())
    per_product = cases // len(products) + 1
    for product in products:
        claims = [random_facts(rng, product, f"m{rng.randint(0, per_product // 3)}")
                  for _ in range(per_product)]
        got = assess_many(claims, product, as_of=date(2025, 3, 1)).payable.tolist()
        usage: dict = {}
        order = sorted(range(len(claims)), key=lambda i: (claims[i].member_id, claims[i].enddate))
        for i in order:
            m = claims[i].member_id
            a = assess(claims[i], product, usage.get(m), date(2025, 3, 1), trace=False)
            usage[m] = next_usage(usage.get(m), a)
            bad += a.payable_fen != got[i]
        checked += len(claims)
    return checked, bad


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="rules engine benchmark")
    parser.add_argument("--quick", action="store_true", help="smaller agreement check, fewer repeats")
    opts = parser.parse_args(argv)
    catalog = load_catalog(ROOT / "catalog")
    rng = np.random.default_rng(2026)
    n = 1_000_000
    repeat = 2 if opts.quick else 5
    rows = []

    yueyang = catalog.product("yueyang-2014-hospital")
    cols = hospital_columns(n, rng)
    t_vec = best_of(lambda: assess_columns(cols, yueyang), repeat)
    rows.append(("vector yueyang-2014-hospital 1M claims (s)", round(t_vec, 3), "<= 0.5", t_vec <= 0.5))
    med = catalog.product("chongqing-2015-medical")
    t_med = best_of(lambda: assess_columns(cols, med), repeat)
    rows.append(("vector chongqing-2015-medical 1M claims (s)", round(t_med, 3), "(quoted)", None))
    women = catalog.product("beijing-office-2022-women")
    lcols = lump_columns(n, rng, women)
    t_lump = best_of(lambda: assess_columns(lcols, women), repeat)
    rows.append(("vector beijing-office-2022-women (lump) 1M (s)", round(t_lump, 3), "(quoted)", None))

    prng = random.Random(11)
    facts = [random_facts(prng, yueyang, f"m{i // 4}") for i in range(20_000)]
    facts = [f for f in facts if f.claim_type == "hospital"]
    as_of = date(2025, 3, 1)

    def scalar_run() -> None:
        for f in facts:
            assess(f, yueyang, None, as_of, trace=False)

    scalar_rate = len(facts) / best_of(scalar_run, repeat + 1)
    rows.append(("scalar yueyang claims/s, trace off", round(scalar_rate), ">= 20000", scalar_rate >= 20_000))
    vector_rate = n / t_vec
    rows.append(("vector/scalar speed ratio", round(vector_rate / scalar_rate, 1), "(quoted)", None))

    cases = 10_000 if opts.quick else 100_000
    checked, bad = agreement(catalog, cases)
    rows.append((f"scalar-vector agreement, {checked} cases (mismatches)", bad, "== 0", bad == 0))

    print(f"{'figure':<52} {'value':>12} {'target':>10}  result")
    for name, value, target, ok in rows:
        verdict = "" if ok is None else ("PASS" if ok else "FAIL")
        print(f"{name:<52} {value:>12} {target:>10}  {verdict}")
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "rules.json").write_text(json.dumps({
        "quick": opts.quick, "python": platform.python_version(), "numpy": np.__version__,
        "cpu_count": os.cpu_count(),
        "figures": [{"name": r[0], "value": r[1], "target": r[2],
                     "pass": r[3]} for r in rows]}, ensure_ascii=False, indent=2))
    return 0 if all(r[3] is not False for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
