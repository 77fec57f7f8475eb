"""Worked examples of docs/rules.md for constructs no shipped product uses."""

from huzhu.rules.catalog import read_product
from huzhu.rules.scalar import assess, next_usage
from tests.rules.support import catalog, codes, stay

DOC = '''
id = "doc-example"
version = "1"
name = "文档示例"
[source]
cite = ["docs/rules.md"]
tag = "G"
[[benefits]]
id = "cumulated"
name = "累计起付线"
kind = "ratio"
base = "psn_selfpay"
deductible = "1000.00"
stays = "cumulated"
rate = "50%"
[[benefits]]
id = "consolation"
name = "大额自付慰问金"
kind = "consolation"
base = "psn_selfpay + psn_ownpay"
threshold = "50000.00"
amount = "2000.00"
'''


def doc_product(tmp_path):
    path = tmp_path / "doc-example.toml"
    path.write_text(DOC, encoding="utf-8")
    issues: list = []
    product = read_product(path, catalog().lists, issues)
    assert issues == []
    return product


def test_cumulated_stays_share_one_deductible(tmp_path):
    p = doc_product(tmp_path)
    usage, paid = None, []
    for amount in ("600.00", "800.00"):
        a = assess(stay(3, medfee_sumamt="1000.00", psn_selfpay=amount), p, usage)
        usage = next_usage(usage, a)
        paid.append(a.line("cumulated").payable_fen)
    assert paid == [0, 20000]


def test_consolation_above_a_self_pay_threshold(tmp_path):
    p = doc_product(tmp_path)
    big = assess(stay(3, medfee_sumamt="60000.00", psn_selfpay="30000.00", psn_ownpay="30000.00"), p)
    small = assess(stay(3, medfee_sumamt="40000.00", psn_selfpay="20000.00", psn_ownpay="20000.00"), p)
    assert big.line("consolation").payable_fen == 200000
    assert small.line("consolation").payable_fen == 0
    assert codes(small, "consolation") == ["BELOW_THRESHOLD"]
