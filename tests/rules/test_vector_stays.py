"""Stored claims as arrays (the replay's road) give the same columns, and so the same fen, as
the same claims as ClaimFacts one by one, for every product of the catalog: hospital stays and
event claims without a settlement (diagnosis, accident, family) mixed in one member's period."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from huzhu.rules import vector
from huzhu.rules.catalog import default_catalog_dir, load_catalog
from huzhu.rules.model import ClaimFacts

CATALOG = load_catalog(default_catalog_dir())
AS_OF = date(2026, 9, 1)
NO = vector.NO_DATE
AMOUNTS = ("medfee_sumamt", "inscp_scp_amt", "hifp_pay", "fulamt_ownpay_amt", "psn_ownpay",
           "hifmi_pay", "hifob_pay", "cvlserv_pay", "overlmt_selfpay", "preselfpay_amt")


def world(n: int, seed: int) -> tuple[vector.StayFacts, list[ClaimFacts]]:
    rng = np.random.default_rng(seed)
    codes = sorted({c for p in CATALOG.products.values() for c in vector.disease_vocabulary(p)})
    diseases = ["", "Z99.999", *codes[:40]]
    member = np.sort(rng.integers(1, n // 2 + 2, n))
    enrolled = rng.random(n) < 0.9
    period_start = np.where(enrolled & (rng.random(n) < 0.8), date(2026, 1, 1).toordinal(), NO)
    period_end = np.where(period_start != NO, date(2026, 12, 31).toordinal(), NO)
    coverage = np.where(enrolled, date(2026, 1, 1).toordinal() + rng.integers(0, 90, n), NO)
    begin = date(2026, 1, 1).toordinal() + rng.integers(-20, 360, n)
    end = begin + rng.integers(0, 30, n)
    setl = end + rng.integers(0, 5, n)
    claim_day = np.where(rng.random(n) < 0.9, setl + rng.integers(0, 400, n), NO)
    birth = np.where(rng.random(n) < 0.95, date(1950, 1, 1).toordinal() + rng.integers(0, 25000, n), NO)
    gender = np.array(rng.choice(["M", "F", ""], n), dtype=str)
    insutype = np.array(rng.choice(["310", "390", ""], n), dtype=str)
    union = rng.random(n) < 0.9
    shares = np.where(enrolled, rng.integers(1, 4, n), 1)
    years = np.where(enrolled, rng.integers(1, 8, n), 1)
    first = enrolled & (rng.random(n) < 0.5)
    level = rng.integers(0, 4, n)
    disease = np.array([diseases[i] for i in rng.integers(0, len(diseases), n)], dtype=str)
    held = [tuple(rng.choice(["x", "guangxi-2024-huzhu1", "chongqing-2015-medical"],
                             rng.integers(0, 3), replace=False).tolist()) for _ in range(n)]
    amounts = {k: rng.integers(0, 30_000_000, n) for k in AMOUNTS}
    # a third of the rows are event claims (no settlement, docs/adr/0016): no stay, no amounts
    event = rng.random(n) < 0.35
    event_date = np.where(event, date(2026, 1, 1).toordinal() + rng.integers(-20, 380, n), NO)
    claim_type = np.where(event, rng.choice(["diagnosis", "accident"], n), "")
    subject = np.where(event, rng.choice(["member", "member", "spouse", "child"], n), "")
    flags = np.where(event, rng.choice(["", "", "continued_treatment",
                                        "continued_treatment|x"], n), "")
    outcome = np.where(event & (claim_type == "accident"), rng.integers(0, 3, n), 0)
    grade = np.where(outcome == 2, rng.integers(0, 12, n), 0)
    during = event & (rng.random(n) < 0.3)
    begin, end, setl = (np.where(event, NO, x) for x in (begin, end, setl))
    level = np.where(event, 0, level)
    claim_day = np.where(event & (claim_day != NO), event_date + rng.integers(0, 60, n),
                         claim_day)
    amounts = {k: np.where(event, 0, v) for k, v in amounts.items()}
    stays = vector.StayFacts(
        member=member, begndate=begin, enddate=end, setl_date=setl, claim_date=claim_day,
        coverage_start=coverage, period_start=period_start, period_end=period_end,
        birth_date=birth, gender=gender, insutype=insutype, union_member=union, shares=shares,
        membership_years=years, first_time=first, hospital_level=level, disease=disease,
        held=held, amounts=amounts, event_date=event_date, claim_type=claim_type,
        subject=subject, flags=flags, outcome=outcome, grade=grade, during_stay=during)

    def d(x: int) -> date | None:
        return None if x == NO else date.fromordinal(int(x))

    names = {0: None, 1: "death", 2: "disability"}

    def fact(i: int) -> ClaimFacts:
        if not event[i]:
            return stay(i)
        return ClaimFacts(
            claim_id=str(i), member_id=str(member[i]), claim_type=str(claim_type[i]),
            subject=str(subject[i]), gender=str(gender[i]) or None, birth_date=d(birth[i]),
            insutype=str(insutype[i]) or None, union_member=bool(union[i]),
            shares=int(shares[i]), membership_years=int(years[i]), held_products=held[i],
            coverage_start=d(coverage[i]), period_start=d(period_start[i]),
            period_end=d(period_end[i]), first_time=bool(first[i]), event_date=d(event_date[i]),
            diagnosis_date=d(event_date[i]) if claim_type[i] == "diagnosis" else None,
            claim_date=d(claim_day[i]), disease=str(disease[i]) or None,
            accident_outcome=names[int(outcome[i])], disability_grade=int(grade[i]) or None,
            during_stay=bool(during[i]),
            flags=tuple(f for f in str(flags[i]).split("|") if f), amounts={})

    def stay(i: int) -> ClaimFacts:
        return ClaimFacts(
            claim_id=str(i), member_id=str(member[i]), gender=str(gender[i]) or None,
            birth_date=d(birth[i]), insutype=str(insutype[i]) or None, union_member=bool(union[i]),
            shares=int(shares[i]), membership_years=int(years[i]), held_products=held[i],
            coverage_start=d(coverage[i]), period_start=d(period_start[i]),
            period_end=d(period_end[i]), first_time=bool(first[i]), begndate=d(begin[i]),
            enddate=d(end[i]), setl_date=d(setl[i]), claim_date=d(claim_day[i]),
            hospital_level=int(level[i]) or None, disease=str(disease[i]) or None,
            amounts={k: int(v[i]) for k, v in amounts.items()})

    facts = [fact(i) for i in range(n)]
    assert event.sum() > n // 5
    return stays, facts


def canonical(group: np.ndarray) -> np.ndarray:
    """Group labels renumbered by first appearance (the partition, not the numbering)."""
    seen: dict[int, int] = {}
    return np.array([seen.setdefault(int(g), len(seen)) for g in group])


@pytest.mark.parametrize("product_id", sorted(CATALOG.products))
def test_stays_give_the_columns_and_fen_of_facts(product_id):
    product = CATALOG.products[product_id]
    stays, facts = world(600, seed=len(product_id))
    a = vector.columns_from_facts(facts, product, None, AS_OF)
    b = vector.columns_from_stays(stays, product, AS_OF)
    for name in (*vector._ROW_FIELDS, "order"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert np.array_equal(canonical(a.group), canonical(b.group))
    assert set(a.amounts) == set(b.amounts)
    ra, rb = vector.assess_columns(a, product), vector.assess_columns(b, product)
    assert np.array_equal(ra.lines, rb.lines)


def test_the_random_world_pays_under_most_products():
    """The comparison above is not between two empty results."""
    stays, _ = world(600, seed=7)
    paying = [pid for pid, p in CATALOG.products.items()
              if vector.assess_columns(vector.columns_from_stays(stays, p, AS_OF), p).payable.sum()]
    assert len(paying) >= 10, paying


def test_the_event_claims_of_the_random_world_pay_under_the_event_products():
    """The event rows are not all stopped: lump sums, accidents and family claims pay."""
    stays, _ = world(600, seed=11)
    event = stays.event_date != NO
    paying = [pid for pid, p in CATALOG.products.items() if vector.assess_columns(
        vector.columns_from_stays(stays, p, AS_OF), p).payable[event].sum()]
    assert {"chongqing-2015-critical", "chongqing-2015-accident"} <= set(paying), paying


@pytest.mark.parametrize("product_id", ["chongqing-2015-critical", "chongqing-2015-accident",
                                        "guangxi-2024-huzhu1", "guangxi-2024-huzhu2"])
def test_what_earlier_periods_carry_in_gives_the_usage_of_facts(product_id):
    """Lifetime counts and an earlier payment carried in as arrays equal the same usage given
    to the facts' columns (per member and period)."""
    from huzhu.rules.model import BenefitUsage, Usage

    product = CATALOG.products[product_id]
    stays, facts = world(600, seed=5)
    rng = np.random.default_rng(3)
    members = np.unique(stays.member)
    paid = {int(m) for m in members if rng.random() < 0.5}
    counts = {b.id: {int(m): int(rng.integers(0, 2)) for m in members} for b in product.benefits}
    stays.prior_paid = np.isin(stays.member, list(paid))
    stays.lifetime = {bid: np.array([per[int(m)] for m in stays.member], np.int64)
                      for bid, per in counts.items()}
    usages = {}
    for f in facts:
        start = f.period_start or f.coverage_start
        usages[(f.member_id, start)] = Usage(
            {bid: BenefitUsage(0, 0, 0, per[int(f.member_id)]) for bid, per in counts.items()},
            0, False, int(f.member_id) in paid)
    a = vector.columns_from_facts(facts, product, usages, AS_OF)
    b = vector.columns_from_stays(stays, product, AS_OF)
    assert np.array_equal(a.prior_paid, b.prior_paid)
    for key in a.usage:
        assert np.array_equal(a.usage[key], b.usage[key]), key
    ra, rb = vector.assess_columns(a, product), vector.assess_columns(b, product)
    assert np.array_equal(ra.lines, rb.lines)
    plain = vector.assess_columns(vector.columns_from_stays(
        vector.StayFacts(**{**vars(stays), "prior_paid": None, "lifetime": {}}), product, AS_OF),
        product)
    assert not np.array_equal(plain.lines, rb.lines)  # what is carried in changes the fen
