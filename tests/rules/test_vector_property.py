"""The vector engine gives the same fen as the scalar engine (its oracle) on generated cases."""

from datetime import date, timedelta

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from huzhu.rules.model import BenefitUsage, ClaimFacts, Usage
from huzhu.rules.scalar import assess, next_usage
from huzhu.rules.vector import assess_many, disease_vocabulary, flag_vocabulary
from tests.rules.support import catalog

START = date(2024, 1, 1)
AS_OF = date(2025, 6, 30)


def yuan(lo: int = 0, hi: int = 30_000_000) -> st.SearchStrategy[int]:
    return st.one_of(st.integers(lo, hi), st.sampled_from([0, 500_000, 500_001, 1_000_000, 200_000]))


@st.composite
def claim(draw, product, member: str) -> ClaimFacts:
    types = sorted({t for b in product.benefits for t in b.claim_types})
    flags = flag_vocabulary(product)
    diseases = disease_vocabulary(product) + ["zz-unlisted"]
    begin = START + timedelta(days=draw(st.integers(-20, 380)))
    stay = draw(st.integers(0, 120))
    medfee = draw(yuan())
    inscp = draw(st.integers(0, medfee))
    hifp = draw(st.integers(0, inscp))
    hifob = draw(st.integers(0, inscp - hifp))
    return ClaimFacts(
        claim_id=f"{member}-{begin}", member_id=member, claim_type=draw(st.sampled_from(types)),
        subject=draw(st.sampled_from(["member", "member", "spouse", "child"])),
        gender=draw(st.sampled_from(["M", "F", None])),
        birth_date=date(draw(st.integers(1962, 2006)), draw(st.integers(1, 12)), 1),
        insutype=draw(st.sampled_from(["310", "390", None])),
        union_member=draw(st.booleans()), shares=draw(st.integers(1, 4)),
        membership_years=draw(st.integers(1, 4)),
        held_products=tuple(draw(st.lists(st.sampled_from(sorted(catalog().products)), max_size=2))),
        coverage_start=START, first_time=draw(st.booleans()),
        lapse_days=draw(st.sampled_from([None, 0, 30, 31, 90])),
        begndate=begin, enddate=begin + timedelta(days=stay),
        claim_date=draw(st.sampled_from([None, date(2024, 6, 1), date(2025, 3, 31), date(2025, 4, 1),
                                         date(2026, 1, 1)])),
        hospital_level=draw(st.integers(0, 3)),
        disease=draw(st.sampled_from(diseases)) if draw(st.booleans()) else None,
        diagnosis_date=begin + timedelta(days=draw(st.integers(0, 5))),
        accident_outcome=draw(st.sampled_from([None, "death", "disability"])),
        disability_grade=draw(st.integers(0, 11)), during_stay=draw(st.booleans()),
        flags=tuple(draw(st.lists(st.sampled_from(flags), max_size=2))) if flags else (),
        amounts={"medfee_sumamt": medfee, "inscp_scp_amt": inscp, "hifp_pay": hifp, "hifob_pay": hifob,
                 "psn_selfpay": inscp - hifp, "psn_ownpay": medfee - inscp,
                 "psn_part_amt": medfee - hifp - hifob},
    )


@st.composite
def usage(draw, product) -> Usage | None:
    if draw(st.booleans()):
        return None
    benefits = {b.id: BenefitUsage(draw(st.sampled_from([0, 100_000, 4_999_999])), draw(st.integers(0, 2)),
                                   draw(st.sampled_from([0, 300_000])), draw(st.integers(0, 1)))
                for b in product.benefits}
    return Usage(benefits, draw(st.sampled_from([0, 1_000_000, 99_000_000])), draw(st.booleans()),
                 draw(st.booleans()))


def scalar_lines(claims, product, usages):
    """Assess each member's claims in discharge order, carrying usage like the vector engine."""
    out = {}
    order = sorted(range(len(claims)), key=lambda i: (claims[i].member_id, claims[i].enddate))
    carried = dict(usages)
    for i in order:
        key = (claims[i].member_id, START)
        a = assess(claims[i], product, carried.get(key), AS_OF, trace=False)
        carried[key] = next_usage(carried.get(key), a)
        out[i] = [ln.payable_fen for ln in a.lines]
    return [out[i] for i in range(len(claims))]


@pytest.mark.parametrize("pid", sorted(catalog().products))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_vector_gives_the_same_fen_as_scalar(pid, data):
    product = catalog().product(pid)
    members = ["m1", "m2", "m3"][: data.draw(st.integers(1, 3))]
    claims = [data.draw(claim(product, data.draw(st.sampled_from(members))))
              for _ in range(data.draw(st.integers(1, 7)))]
    usages = {(m, START): u for m in members if (u := data.draw(usage(product))) is not None}
    got = assess_many(claims, product, usages, AS_OF)
    expected = scalar_lines(claims, product, usages)
    assert got.lines.tolist() == expected
    assert got.payable.tolist() == [sum(x) for x in expected]
    assert got.lines.dtype == np.int64
