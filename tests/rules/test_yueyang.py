"""yueyang-2014-hospital: marginal segments 30/35/40/45/50 %, floor 50, 50,000 a period."""

import pytest

from tests.rules.support import codes, pay, pay_sequence, stay

P = "yueyang-2014-hospital"


def claim(base: str, **kw):
    # in-scope 100,000 with the pooled fund paying the rest leaves exactly ``base``
    return stay(5, medfee_sumamt="200000.00", inscp_scp_amt="100000.00",
                hifp_pay=f"{100000 - float(base):.2f}", **kw)


@pytest.mark.parametrize("base,expected", [
    ("5000.00", "1500.00"),      # top of segment 1
    ("5000.01", "1500.00"),      # 0.01 × 35 % = 0.0035 → rounds to 0
    ("5001.00", "1500.35"),      # the published 5001 edge
    ("10000.00", "3250.00"),
    ("10001.00", "3250.40"),
    ("20000.00", "7250.00"),
    ("30000.00", "11750.00"),
    ("30001.00", "11750.50"),
    ("12000.00", "4050.00"),
    ("100000.00", "46750.00"),
    ("130000.00", "50000.00"),   # period cap
])
def test_marginal_segments_at_every_edge(base, expected):
    if base == "130000.00":
        f = stay(5, medfee_sumamt="300000.00", inscp_scp_amt="200000.00", hifp_pay="70000.00")
    else:
        f = claim(base)
    assert pay(P, f).payable_fen == round(float(expected) * 100)


@pytest.mark.parametrize("base,expected,code", [
    ("100.00", 5000, "MIN_BENEFIT"),   # 30.00 raised to 50.00
    ("166.67", 5000, "MIN_BENEFIT"),   # 50.001 → 50.00 exactly, floor not needed? 50.00 = floor
    ("20.00", 5000, "MIN_BENEFIT"),    # literal reading: floor not limited to the base
    ("0.00", 0, "NO_COST"),
])
def test_minimum_benefit_of_50(base, expected, code):
    a = pay(P, claim(base))
    assert a.payable_fen == expected
    if base != "166.67":
        assert code in codes(a, "hospital")


def test_base_deducts_large_amount_and_critical_illness_top_ups():
    f = stay(5, medfee_sumamt="30000.00", inscp_scp_amt="25000.00", hifp_pay="13000.00",
             hifob_pay="2000.00", hifmi_pay="0.00", cvlserv_pay="0.00")
    assert pay(P, f).payable_fen == 325000  # base 10,000 → 1,500 + 1,750


def test_each_stay_is_computed_on_its_own_and_the_cap_is_reached_mid_claim():
    claims = [claim("40000.00", start="2024-02-01"), claim("40000.00", start="2024-05-01"),
              claim("50000.00", start="2024-08-01")]
    # f(40,000) = 16,750 each; the third meets the 50,000 cap after 33,500 paid: 16,500 left
    assert pay_sequence(P, claims) == [1675000, 1675000, 1650000]


def test_unlimited_claim_count_for_many_small_stays():
    claims = [claim("1000.00", start=f"2024-{m:02d}-01") for m in range(1, 13)]
    assert pay_sequence(P, claims) == [30000] * 12


def test_trace_names_rules_and_shows_yuan_arithmetic():
    a = pay(P, claim("12000.00"))
    text = " ".join(s.zh for s in a.trace)
    assert "分段累进" in text and "5,000.00×30%" in text and "4,050.00" in text
    assert any(s.rule == "hospital.tiers" for s in a.trace)
    assert "marginal tiers" in " ".join(s.en for s in a.trace)


def test_input_hash_is_stable_and_sensitive():
    a, b = pay(P, claim("12000.00")), pay(P, claim("12000.00"))
    c = pay(P, claim("12000.01"))
    assert a.input_hash == b.input_hash != c.input_hash
    assert len(a.input_hash) == 64 and a.product_version == "2014.1"


def test_event_after_the_period_is_not_covered():
    f = claim("1000.00", start="2025-01-01")
    assert codes(pay(P, f), "hospital") == ["COVERAGE_ENDED"]
