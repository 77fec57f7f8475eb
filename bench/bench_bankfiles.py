"""Bank file benchmark (issue 16 part 1): each bank format makes the file of a full batch
(``MAX_LINES``, 5,000 lines) and releases it, which includes reading the file back and
comparing it with the batch line by line; then parses a full result file of the same batch.

    HUZHU_DEV=1 .venv/bin/python bench/bench_bankfiles.py [--lines N] [--quick]

No database: the adapters work on the batch as its file states it (``formats.FileBatch``).
Target per format: release <= 5 s and result parse <= 5 s at 5,000 lines. ``--quick`` is 500
lines (figures not comparable with the targets). Prints a table and writes
``bench/results/bankfiles.json``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "bankfiles.json"
TARGET_SECONDS = 5.0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=5000)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n = 500 if args.quick else args.lines
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "huzhu.settings")
    os.environ.setdefault("HUZHU_DEV", "1")
    import django

    django.setup()
    from huzhu.demo.identities import bank_card
    from huzhu.payouts import formats
    from huzhu.payouts.bankfile import ResultLine

    number = "PB20270315000001"
    payer = formats.Payer("2102110009001234567", "广西壮族自治区职工互助保障协会", "中国工商银行",
                          "102100099996")
    banks = [("中国工商银行", "102100099996"), ("中国农业银行", "103100000026"),
             ("中国建设银行", "105100000017")]
    lines = [formats.FileLine(i, f"{number}-{i:06d}", bank_card(10_000 + i), f"会员{i}",
                              banks[i % 3][0], banks[i % 3][1], "广西", "南宁",
                              100_00 + (i * 7919) % 5_000_00, f"理赔 {i}")
             for i in range(1, n + 1)]
    batch = formats.FileBatch(number, datetime.date(2027, 3, 15), payer, lines)
    rows = [ResultLine(0, number, ln.out_detail_no, ln.account_no, ln.account_name,
                       ln.amount_fen, "failed" if ln.seq % 50 == 0 else "paid",
                       "账户已销户" if ln.seq % 50 == 0 else "", f"BK{ln.seq:08d}")
            for ln in lines]
    figures: dict[str, float] = {}
    ok = True
    print(f"{'figure':<40}{'seconds':>10}{'target':>10}  result")
    for name in formats.registry():
        fmt = formats.get(name)
        t0 = time.perf_counter()
        formats.release(fmt, batch, line_count=n, total_fen=batch.total_fen)
        release = time.perf_counter() - t0
        data = fmt.render_result(number, rows)
        t0 = time.perf_counter()
        parsed = fmt.parse_result(data, number)
        parse = time.perf_counter() - t0
        assert len(parsed) == n and sum(r.outcome == "failed" for r in parsed) == n // 50
        for label, value in ((f"{name} release ({n} lines)", release),
                             (f"{name} result parse ({n} lines)", parse)):
            passed = value <= TARGET_SECONDS
            ok = ok and passed
            figures[label] = round(value, 3)
            print(f"{label:<40}{value:>10.3f}{TARGET_SECONDS:>10.1f}  "
                  f"{'PASS' if passed else 'FAIL'}{' (quick)' if args.quick else ''}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"lines": n, "quick": args.quick, "figures": figures},
                                  ensure_ascii=False, indent=1), encoding="utf-8")
    return 0 if ok or args.quick else 1


if __name__ == "__main__":
    sys.exit(main())
