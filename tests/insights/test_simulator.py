"""The policy simulator on a small world: an unchanged product changes nothing, a known change
gives the hand-computed difference, levers write valid TOML, the replay is scoped."""

from __future__ import annotations

import pytest

from huzhu.errors import DomainError
from huzhu.insights.simulator import memo_clear, simulate
from huzhu.insights.simulator_levers import apply_levers
from huzhu.products.models import ProductVersion

from .conftest import MEDICAL, tiered_version


@pytest.fixture(autouse=True)
def _fresh_memo():
    memo_clear()
    yield
    memo_clear()


def medical() -> ProductVersion:
    return ProductVersion.objects.get(code=MEDICAL, version="2015.1")


def test_the_claims_are_what_the_world_says(sim_world):
    w = sim_world
    assert [c.payable_fen for c in (w.c1, w.c2, w.c3, w.c4)] == [70_000, 70_000, 210_000, 140_000]


def test_an_unchanged_product_changes_nothing(sim_world):
    w = sim_world
    base = medical()
    s = simulate(base=base, period=w.period, document=base.document, org_path="").summary
    assert (s["claims"], s["members"]) == (4, 3)
    assert s["before_fen"] == s["after_fen"] == 490_000 == s["recorded_fen"]
    assert s["change_fen"] == 0 and s["claims_changed"] == 0
    assert (s["gainers"], s["losers"], s["same"]) == (0, 0, 3)
    # a document that only re-writes the same rules (comments lost) changes nothing either
    same = apply_levers(base.document, {"benefits": {"medical": {"deductible": "1"}}})
    same = apply_levers(same, {"benefits": {"medical": {"deductible": "0"}}})
    assert same != base.document
    s2 = simulate(base=base, period=w.period, document=same, org_path="").summary
    assert s2["change_fen"] == 0 and s2["same"] == 3


def test_a_rate_change_in_one_band_gives_the_hand_computed_difference(sim_world):
    w = sim_world
    base = tiered_version(("50%", "70%"))
    # before: 500 元 × 50 % + the rest × 70 %: 张三 2 × (250 + 350) = 1,200 元; 陈八 base 3,000:
    # 250 + 2,500 × 70 % = 2,000 元; 孙七 base 2,000: 250 + 1,050 = 1,300 元 (caps: 20 % of
    # hifp is 1,800 / 3,400 / 2,600 元, not reached).
    draft = apply_levers(base.document, {"benefits": {"medical": {"rates": {"0": "60%"}}}})
    assert 'rate = "60%"' in draft
    s = simulate(base=base, period=w.period, document=draft, org_path=w.province.path).summary
    assert s["before_fen"] == 120_000 + 200_000 + 130_000
    # each stay gains 500 × 10 % = 50 元: four stays, 200 元
    assert s["change_fen"] == 4 * 5_000 and s["after_fen"] == 450_000 + 20_000
    assert (s["gainers"], s["losers"], s["same"]) == (3, 0, 0)
    assert s["gained_fen"] == 20_000 and s["largest_gain_fen"] == 10_000
    regions = {r["label"]: r for r in s["regions"]}
    assert regions["南宁市总工会"]["change_fen"] == 15_000
    assert regions["柳州市总工会"]["change_fen"] == 5_000
    bands = {b["label"]: b for b in s["bands"]}
    # total medical cost per member: inscp + 2,000 元 (own, over, pre) a stay: 张三 24,000,
    # 陈八 22,000, 孙七 17,000 元
    assert bands["1–3 万元"]["members"] == 3 and bands["1–3 万元"]["change_fen"] == 20_000
    assert sum(b["members"] for b in s["bands"]) == 3


def test_a_deductible_and_a_claim_limit(sim_world):
    w = sim_world
    base = medical()
    draft = apply_levers(base.document, {"benefits": {"medical": {
        "deductible": "500", "claim_limit": "1"}}})
    s = simulate(base=base, period=w.period, document=draft, org_path="").summary
    # 张三: first stay (1,000 − 500) × 70 % = 350 元, second stay over the limit: 0;
    # 陈八 (3,000 − 500) × 70 % = 1,750 元; 孙七 (2,000 − 500) × 70 % = 1,050 元.
    assert s["after_fen"] == 35_000 + 175_000 + 105_000
    assert s["change_fen"] == 315_000 - 490_000
    assert (s["gainers"], s["losers"]) == (0, 3)
    assert s["largest_loss_fen"] == 105_000  # 张三: 1,400 → 350 元
    steps = {x["label"]: x for x in s["steps"]}
    assert steps["1,000–10,000 元"]["losers"] == 1 and steps["100–1,000 元"]["losers"] == 2


def test_premium_loss_ratio_and_break_even(sim_world):
    w = sim_world
    base = medical()
    draft = apply_levers(base.document, {"premium": "150"})
    s = simulate(base=base, period=w.period, document=draft, org_path="").summary
    assert s["shares"] == 3 and s["premium_before_fen"] == 33_000
    assert s["premium_after_fen"] == 45_000
    assert s["loss_ratio_before_bp"] == 148_485  # 4,900 / 330 = 1,484.85 %
    assert s["break_even_per_share_fen"] == 163_334  # ⌈490,000 / 3⌉


def test_the_replay_is_scoped_by_the_union_tree(sim_world):
    w = sim_world
    base = medical()
    draft = apply_levers(base.document, {"benefits": {"medical": {"rates": {"0": "80%"}}}})
    nanning = simulate(base=base, period=w.period, document=draft,
                       org_path=w.city_a.path).summary
    liuzhou = simulate(base=base, period=w.period, document=draft,
                       org_path=w.city_b.path).summary
    assert (nanning["claims"], liuzhou["claims"]) == (3, 1)
    assert nanning["before_fen"] == 350_000 and liuzhou["before_fen"] == 140_000
    assert liuzhou["change_fen"] == 20_000 and liuzhou["shares"] == 1
    assert [r["label"] for r in nanning["regions"]] == ["青秀区总工会"]


def test_bad_levers_and_bad_drafts_are_refused_in_chinese(sim_world):
    w = sim_world
    base = medical()
    with pytest.raises(DomainError, match="第 1 档"):
        apply_levers(base.document, {"benefits": {"medical": {"rates": {"0": "七成"}}}})
    with pytest.raises(DomainError, match="起付线"):
        apply_levers(base.document, {"benefits": {"medical": {"deductible": "abc"}}})
    bad = base.document.replace('kind = "ratio"', 'kind = "rattio"')
    with pytest.raises(DomainError, match="草稿规则有误"):
        simulate(base=base, period=w.period, document=bad, org_path="")


def test_the_replay_kept_as_a_column_file_gives_the_same_figures(sim_world, settings):
    import numpy as np

    w = sim_world
    base = medical()
    draft = apply_levers(base.document, {"benefits": {"medical": {"rates": {"0": "80%"}}}})
    first = simulate(base=base, period=w.period, document=draft, org_path="").summary
    files = list((settings.VAR_DIR / "simulator").glob("replay-*.npz"))
    assert len(files) == 1
    with np.load(files[0]) as z:
        assert set(z["s.disease"].tolist()) == {""}  # diagnoses never leave the database
    memo_clear(files=False)  # another process: nothing in memory, the file is there
    assert simulate(base=base, period=w.period, document=draft, org_path="").summary == first
    # a new claim changes the stamp: the file is not used and is written again
    from .conftest import file

    file(w, w.chenba, "S5", inscp=1_000_000, hifp=900_000, begin="2026-07-01", end="2026-07-03")
    memo_clear(files=False)
    again = simulate(base=base, period=w.period, document=draft, org_path="").summary
    assert again["claims"] == 5 and again["change_fen"] == first["change_fen"] + 10_000
