"""``huzhu rules check`` and ``huzhu rules calc``: the engine from the command line.

Needs no database and no Django settings. Usage carried between records: a record without
usage fields continues from the previous record of the same member and period in the file.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

from huzhu.rules.catalog import (
    Catalog,
    CatalogError,
    check_catalog,
    default_catalog_dir,
    load_catalog,
)
from huzhu.rules.facts import RecordError, iter_raw, read_record
from huzhu.rules.model import Assessment, Usage
from huzhu.rules.money import format_yuan
from huzhu.rules.scalar import assess, next_usage
from huzhu.rules.trace import render
from huzhu.sheets import csv_cell


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="huzhu rules", description="互助产品规则：校验目录、计算理赔")
    sub = p.add_subparsers(dest="command", required=True)
    chk = sub.add_parser("check", help="校验目录中的每个产品文件")
    chk.add_argument("catalog_dir", nargs="?", default=None)
    calc = sub.add_parser("calc", help="按产品计算理赔记录（JSON lines 或 CSV）")
    calc.add_argument("--product", required=True)
    calc.add_argument("--catalog", default=None)
    calc.add_argument("--explain", action="store_true")
    calc.add_argument("--lang", choices=("zh", "en"), default="zh")
    calc.add_argument("--format", choices=("jsonl", "csv", "table"), default="jsonl")
    calc.add_argument("--as-of", default=None, help="计算日 YYYY-MM-DD（默认：各记录的申领日或出院日）")
    calc.add_argument("file")
    return p


def cmd_check(directory: str | None, out: Any, err: Any) -> int:
    catalog, issues = check_catalog(Path(directory) if directory else default_catalog_dir())
    for issue in issues:
        print(issue, file=err)
    print(f"产品 {len(catalog.products)} 个，病种清单 {len(catalog.lists)} 个，问题 {len(issues)} 个", file=out)
    return 1 if issues else 0


def _result(n: int, a: Assessment, explain: bool, lang: str) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "record": n, "claim_id": a.claim_id, "product": a.product_id, "version": a.product_version,
        "payable": format_yuan(a.payable_fen),
        "lines": [{"benefit": ln.benefit_id, "payable": format_yuan(ln.payable_fen),
                   "reasons": [{"code": r.code.value, "params": r.params} for r in ln.reasons]}
                  for ln in a.lines],
        "input_hash": a.input_hash, "flags": list(a.flags),
    }
    if explain:
        doc["explanation"] = render(a, lang)
    return doc


def _disease_codes(catalog: Catalog) -> dict[str, str]:
    codes = {}
    for dl in catalog.lists.values():
        codes.update({name: code for code, name in dl.names.items()})
    return codes


def _compute(path: Path, catalog: Catalog, product_id: str, as_of: date | None,
             explain: bool, lang: str) -> tuple[list[dict[str, Any]], int]:
    product = catalog.product(product_id)
    names = _disease_codes(catalog)
    carried: dict[tuple[str, Any], Usage] = {}
    docs, failed = [], 0
    for n, raw in iter_raw(path):
        try:
            if isinstance(raw, RecordError):
                raise raw
            facts, usage = read_record(raw, product, names)
        except RecordError as exc:
            failed += 1
            docs.append({"record": n, "error": {"field": exc.field, "message": f"记录 {n}: {exc}"}})
            continue
        key = (facts.member_id, facts.period_start or facts.coverage_start)
        if usage is None and facts.member_id:
            usage = carried.get(key)
        a = assess(facts, product, usage, as_of, trace=explain)
        if facts.member_id:
            carried[key] = next_usage(usage, a)
        docs.append(_result(n, a, explain, lang))
    return docs, failed


def _write(docs: list[dict[str, Any]], fmt: str, out: Any, err: Any) -> None:
    for d in docs:
        if "error" in d:
            print(d["error"]["message"], file=err)
    if fmt == "jsonl":
        for d in docs:
            print(json.dumps(d, ensure_ascii=False, default=str), file=out)
    elif fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["record", "claim_id", "payable", "reasons", "error"])
        for d in docs:
            reasons = ";".join(f"{ln['benefit']}:{r['code']}" for ln in d.get("lines", [])
                               for r in ln["reasons"])
            w.writerow([csv_cell(c) for c in (
                d["record"], d.get("claim_id", ""), d.get("payable", ""), reasons,
                d["error"]["message"] if "error" in d else "")])
        out.write(buf.getvalue())
    else:
        for d in docs:
            if "error" in d:
                print(f"{d['record']:>5}  错误  {d['error']['message']}", file=out)
                continue
            print(f"{d['record']:>5}  {d['claim_id'] or '-':<16} {d['payable']:>14}", file=out)
            if "explanation" in d:
                print(d["explanation"], file=out)


def cmd_calc(args: argparse.Namespace, out: Any, err: Any) -> int:
    try:
        catalog = load_catalog(Path(args.catalog) if args.catalog else None)
        catalog.product(args.product)
    except (CatalogError, KeyError) as exc:
        print(str(exc).strip("'\""), file=err)
        return 2
    path = Path(args.file)
    if not path.is_file():
        print(f"文件不存在: {path}", file=err)
        return 2
    as_of = date.fromisoformat(args.as_of) if args.as_of else None
    docs, failed = _compute(path, catalog, args.product, as_of, args.explain, args.lang)
    _write(docs, args.format, out, err)
    return 1 if failed else 0


def main(argv: list[str] | None = None, out: Any = None, err: Any = None) -> int:
    """Run ``huzhu rules <argv>``; return the exit code (non-zero if any record failed)."""
    out, err = out or sys.stdout, err or sys.stderr
    args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    if args.command == "check":
        return cmd_check(args.catalog_dir, out, err)
    return cmd_calc(args, out, err)


if __name__ == "__main__":
    sys.exit(main())
