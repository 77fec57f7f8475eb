"""Every malformed product file gets an error naming the file, the key and the problem."""

from pathlib import Path

import pytest

from huzhu.rules.catalog import check_catalog, load_catalog, read_product
from tests.rules.support import catalog

GOOD = '''
id = "x-product"
version = "1"
name = "测试产品"
[source]
cite = ["example.org/rule"]
tag = "R"
[time]
period_months = 12
[[benefits]]
id = "hospital"
name = "住院"
kind = "ratio"
base = "inscp_scp_amt - hifp_pay"
stays = "separate"
tier_mode = "marginal"
gaps = "upper"
tiers = [{ from = "0.00", to = "5000.00", rate = "30%" }, { from = "5001.00", rate = "40%" }]
'''


def issues_for(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "x-product.toml"
    path.write_text(text, encoding="utf-8")
    issues: list = []
    read_product(path, catalog().lists, issues)
    return [f"{i.key} | {i.problem}" for i in issues] + [i.file for i in issues[:1]]


def test_the_good_file_passes(tmp_path):
    assert issues_for(tmp_path, GOOD) == []


@pytest.mark.parametrize("old,new,key,words", [
    ('{ from = "5001.00", rate = "40%" }', '{ from = "4000.00", rate = "40%" }',
     "benefits[0].tiers[1].from", "overlapping"),
    ('{ from = "5001.00", rate = "40%" }', '{ from = "0.00", rate = "40%" }',
     "benefits[0].tiers[1].from", "unordered"),
    ('rate = "30%" }', 'rate = "-30%" }', "benefits[0].tiers[0].rate", "negative ratio"),
    ('rate = "30%" }', 'rate = 0.3 }', "benefits[0].tiers[0].rate", "string"),
    ('base = "inscp_scp_amt - hifp_pay"', 'base = "inscp_scp_amt - hifp_paid"',
     "benefits[0].base", "未知的结算字段"),
    ('base = "inscp_scp_amt - hifp_pay"', 'base = "inscp_scp_amt * 2"', "benefits[0].base", "bad base"),
    ('gaps = "upper"\n', '', "benefits[0].gaps", "missing required"),
    ('stays = "separate"\n', 'stays = "separate"\ncap = "4500.00"\n', "benefits[0].cap", "cap with no period"),
    ('[source]\ncite = ["example.org/rule"]\ntag = "R"\n', '', "source", "missing source"),
    ('kind = "ratio"', 'kind = "ratio"\nperiod_capp = "1.00"', "benefits[0].period_capp", "unknown key"),
    ('kind = "ratio"', 'kind = "ratio"\nper_claim_cap = "-1.00"', "benefits[0].per_claim_cap", "negative"),
    ('id = "x-product"', 'id = "other"', "id", "file name"),
])
def test_malformed_product_file_names_key_and_problem(tmp_path, old, new, key, words):
    assert old in GOOD
    found = issues_for(tmp_path, GOOD.replace(old, new))
    assert any(f.startswith(key + " |") and words in f for f in found), found
    assert found[-1].endswith("x-product.toml")


def test_period_cap_without_a_period(tmp_path):
    text = GOOD.replace("period_months = 12", "period_months = 0").replace(
        'kind = "ratio"', 'kind = "ratio"\nperiod_cap = "100.00"')
    assert any("benefits[0].period_cap |" in f and "no period" in f for f in issues_for(tmp_path, text))


def test_unknown_disease_list(tmp_path):
    text = GOOD.split("[[benefits]]")[0] + '''
[[benefits]]
id = "ci"
name = "重疾"
kind = "lump"
disease_list = "no-such-list"
amount = "1000.00"
'''
    assert any("benefits[0].disease_list |" in f and "unknown disease list" in f
               for f in issues_for(tmp_path, text))


def test_unknown_disease_code_in_a_class(tmp_path):
    text = GOOD.split("[[benefits]]")[0] + '''
[[benefits]]
id = "ci"
name = "重疾"
kind = "lump"
amounts = [{ list = "ci2007-25", codes = ["ci25-99"], amount = "1.00" }]
'''
    assert any("unknown disease code" in f for f in issues_for(tmp_path, text))


def test_premium_split_must_add_up(tmp_path):
    text = GOOD + '''
[premium]
per_share = "100.00"
split = [{ payer = "单位", amount = "50.00" }, { payer = "个人", amount = "40.00" }]
'''
    assert any(f.startswith("premium.split |") and "add up" in f for f in issues_for(tmp_path, text))


def test_invalid_toml_is_reported_with_the_file(tmp_path):
    found = issues_for(tmp_path, "id = ")
    assert "invalid TOML" in found[0]


def test_waiting_tiers_must_increase(tmp_path):
    text = GOOD.split("[[benefits]]")[0] + '''
[[benefits]]
id = "ci"
name = "重疾"
kind = "lump"
disease_list = "ci2007-25"
amount = "1000.00"
waiting = [{ upto_day = 60, pay = "none" }, { upto_day = 30, pay = "none" }]
'''
    assert any("benefits[0].waiting[1].upto_day" in f and "unordered" in f for f in issues_for(tmp_path, text))


def test_check_catalog_reports_unknown_prerequisite(tmp_path):
    (tmp_path / "x-product.toml").write_text(
        GOOD + '[eligibility]\nrequires_products = ["nothing-here"]\n', encoding="utf-8")
    _, issues = check_catalog(tmp_path)
    assert [i.key for i in issues] == ["eligibility.requires_products"]


def test_the_shipped_catalog_is_valid():
    cat = load_catalog()
    assert "yueyang-2014-hospital" in cat.products
    for p in cat.products.values():
        assert p.source and p.version and p.benefits
