"""``huzhu rules check`` and ``huzhu rules calc``: output, formats and bad records."""

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from huzhu.rules.cli import main

GOOD = {"claim_id": "c1", "member_id": "m1", "coverage_start": "2024-01-01",
        "begndate": "2024-03-01", "enddate": "2024-03-10", "medfee_sumamt": "30000.00",
        "inscp_scp_amt": "25000.00", "hifp_pay": "13000.00"}


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


def write_jsonl(tmp_path: Path, records: list) -> str:
    path = tmp_path / "claims.jsonl"
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)
                              for r in records) + "\n", encoding="utf-8")
    return str(path)


def test_check_passes_on_the_shipped_catalog():
    code, out, err = run("check")
    assert code == 0 and "问题 0 个" in out and err == ""


def test_check_fails_and_names_the_file(tmp_path):
    (tmp_path / "bad.toml").write_text('id = "bad"\n', encoding="utf-8")
    code, _, err = run("check", str(tmp_path))
    assert code == 1 and "bad.toml: source" in err and "benefits" in err


def test_calc_prints_one_result_per_claim_in_yuan(tmp_path):
    code, out, _ = run("calc", "--product", "yueyang-2014-hospital", write_jsonl(tmp_path, [GOOD]))
    doc = json.loads(out)
    assert code == 0 and doc["payable"] == "4050.00" and doc["lines"][0]["benefit"] == "hospital"


@pytest.mark.parametrize("change,field", [
    ({"hifp_pay": None}, "hifp_pay"),
    ({"hifp_pay": "-1.00"}, "hifp_pay"),
    ({"inscp_scp_amt": "40000.00"}, "inscp_scp_amt"),
    ({"enddate": "2024-02-01"}, "enddate"),
    ({"medfee_sumamt": "12.345"}, "medfee_sumamt"),
    ({"begndate": "2024-13-01"}, "begndate"),
    ({"gend": "x"}, "gend"),
    ({"hifp_payy": "1.00"}, "hifp_payy"),
    ({"usage.hospital.paid": "abc"}, "usage.hospital.paid"),
])
def test_bad_record_gets_its_error_and_others_still_compute(tmp_path, change, field):
    bad = {k: v for k, v in {**GOOD, **change}.items() if v is not None}
    code, out, err = run("calc", "--product", "yueyang-2014-hospital",
                         write_jsonl(tmp_path, [GOOD, bad, "{not json", GOOD]))
    docs = [json.loads(x) for x in out.splitlines()]
    assert code == 1
    assert docs[1]["error"]["field"] == field and "记录 2" in docs[1]["error"]["message"]
    assert docs[2]["error"]["field"] == "(json)"
    assert docs[0]["payable"] == "4050.00" and docs[3]["payable"] == "4050.00"
    assert "记录 2" in err


def test_usage_carries_between_records_of_a_member(tmp_path):
    recs = [dict(GOOD, claim_id=f"c{i}", begndate=f"2024-0{i}-01", enddate=f"2024-0{i}-05",
                 inscp_scp_amt="100000.00", hifp_pay="0.00", medfee_sumamt="100000.00")
            for i in (1, 2)]
    code, out, _ = run("calc", "--product", "yueyang-2014-hospital", write_jsonl(tmp_path, recs))
    assert [json.loads(x)["payable"] for x in out.splitlines()] == ["46750.00", "3250.00"]


def test_explicit_usage_and_csv_input(tmp_path):
    path = tmp_path / "c.csv"
    head = ",".join([*GOOD, "usage.hospital.paid"])
    path.write_text(head + "\n" + ",".join([*GOOD.values(), "49000.00"]) + "\n", encoding="utf-8")
    code, out, _ = run("calc", "--product", "yueyang-2014-hospital", "--format", "csv", str(path))
    assert code == 0 and out.splitlines()[1].startswith("1,c1,1000.00,hospital:PERIOD_CAP")


def test_explain_in_chinese_and_english(tmp_path):
    f = write_jsonl(tmp_path, [GOOD])
    _, zh, _ = run("calc", "--product", "yueyang-2014-hospital", "--explain", "--format", "table", f)
    _, en, _ = run("calc", "--product", "yueyang-2014-hospital", "--explain", "--lang", "en",
                   "--format", "table", f)
    assert "分段累进" in zh and "肆仟零伍拾元整" in zh and "marginal tiers" in en


def test_unknown_product_is_an_error(tmp_path):
    code, _, err = run("calc", "--product", "nope", write_jsonl(tmp_path, [GOOD]))
    assert code == 2 and "nope" in err


def test_module_runs_with_python_dash_m(tmp_path):
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-m", "huzhu.rules.cli", "check"], cwd=root,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
