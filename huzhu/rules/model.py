"""Typed products, claim facts, usage and assessments: frozen dataclasses, amounts in fen.

A product version is loaded from TOML by :mod:`huzhu.rules.catalog`; claim facts come from the
settlement record plus member and event data; usage is what the member has already drawn from
the product in the period. Ratios are basis points (see :mod:`huzhu.rules.money`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from huzhu.rules.expr import Expr


class Reason(StrEnum):
    """Stable machine-readable reason codes for a line that pays less or nothing."""

    NOT_APPLICABLE = "NOT_APPLICABLE"  # claim type, subject or flags do not trigger the benefit
    NOT_ELIGIBLE = "NOT_ELIGIBLE"  # age band, insurance type, union membership, prerequisite
    SHARES_LIMITED = "SHARES_LIMITED"  # more shares than the product allows: counted at the maximum
    NOT_YET_COVERED = "NOT_YET_COVERED"  # event before the coverage start
    COVERAGE_ENDED = "COVERAGE_ENDED"  # event after the period, or coverage ended by a lump sum
    DEADLINE_PASSED = "DEADLINE_PASSED"
    WAITING_PERIOD = "WAITING_PERIOD"  # nothing is paid in this part of the waiting period
    WAITING_CONSOLATION = "WAITING_CONSOLATION"  # a reduced amount in the waiting period
    HOSPITAL_LEVEL = "HOSPITAL_LEVEL"
    STAY_TOO_SHORT = "STAY_TOO_SHORT"
    DISEASE_NOT_LISTED = "DISEASE_NOT_LISTED"
    NO_PRIOR_PAYMENT = "NO_PRIOR_PAYMENT"
    NO_COST = "NO_COST"  # the cost base is zero
    DEDUCTIBLE_NOT_MET = "DEDUCTIBLE_NOT_MET"
    DEDUCTIBLE = "DEDUCTIBLE"  # part of the base went to the deductible
    BELOW_FIRST_TIER = "BELOW_FIRST_TIER"
    TIER_GAP = "TIER_GAP"
    BELOW_THRESHOLD = "BELOW_THRESHOLD"
    RATIO_SHARE_CAP = "RATIO_SHARE_CAP"
    MIN_BENEFIT = "MIN_BENEFIT"  # raised to the minimum benefit (pays more, noted all the same)
    PER_CLAIM_CAP = "PER_CLAIM_CAP"
    CLAIM_COUNT_EXCEEDED = "CLAIM_COUNT_EXCEEDED"
    LIFETIME_LIMIT = "LIFETIME_LIMIT"
    PERIOD_CAP = "PERIOD_CAP"
    PRODUCT_PERIOD_CAP = "PRODUCT_PERIOD_CAP"


KINDS = ("ratio", "daily", "lump", "accident", "consolation")
CLAIM_TYPES = ("hospital", "outpatient_special", "diagnosis", "accident")
SUBJECTS = ("member", "spouse", "child")


@dataclass(frozen=True)
class Tier:
    """One published bracket with its effective bounds after the gap reading."""

    lo_fen: int
    hi_fen: int | None  # None: open-ended
    bp: int
    label: str  # as published, e.g. "5001-10000"


@dataclass(frozen=True)
class Tiers:
    mode: str  # "marginal" (分段累进) or "whole" (全额分档)
    gaps: str  # "upper" | "lower" | "none" — how amounts between published brackets are read
    items: tuple[Tier, ...]


@dataclass(frozen=True)
class ShareCap:
    """A ratio capped by a share of another field (Chongqing: at most 20 % of ``hifp_pay``)."""

    base: Expr
    bp: int


@dataclass(frozen=True)
class WaitingTier:
    """Up to ``upto_day`` (day 1 = coverage start): pay nothing, a consolation, or a share."""

    upto_day: int
    pay: str  # "none" | "consolation" | "share"
    amount_fen: int = 0  # consolation amount (per share when the benefit is per share)
    bp: int = 0  # share of the full amount for pay = "share"
    ends_coverage: bool = False


@dataclass(frozen=True)
class LumpAmount:
    label: str
    codes: frozenset[str]
    amount_fen: int


@dataclass(frozen=True)
class Benefit:
    id: str
    name: str
    kind: str
    claim_types: frozenset[str]
    subjects: frozenset[str] = frozenset({"member"})
    requires_flags: frozenset[str] = frozenset()
    excludes_flags: frozenset[str] = frozenset()
    requires_prior_payment: bool = False
    min_hospital_level: int = 0
    # ratio
    base: Expr | None = None
    deductible_fen: int = 0
    tiers: Tiers | None = None
    share_cap: ShareCap | None = None
    min_benefit_fen: int = 0
    min_benefit_within_base: bool = False  # [G] floor never above the stay's own net base
    stays: str = "separate"  # "separate" | "cumulated"
    # daily
    per_day_fen: int = 0
    rates_by_year: tuple[tuple[int, int], ...] = ()  # (from membership year, fen per day)
    min_stay_days: int = 0
    count_from_day: int = 1
    # lump
    amounts: tuple[LumpAmount, ...] = ()
    per_share: bool = False
    waiting: tuple[WaitingTier, ...] = ()
    ends_coverage: bool = False
    # accident
    death_fen: int = 0
    death_stay_fen: int = 0
    disability_max_fen: int = 0
    disability_stay_fen: int = 0
    grades_bp: tuple[int, ...] = ()
    # consolation
    threshold_fen: int = 0
    amount_fen: int = 0
    # limits
    per_claim_cap_fen: int | None = None
    period_cap_fen: int | None = None
    claim_limit: int | None = None
    lifetime_limit: int | None = None
    note: str = ""
    assumed: tuple[str, ...] = ()  # keys of assumptions that set values of this benefit


@dataclass(frozen=True)
class AgeBand:
    gender: str | None  # "M", "F" or None for both
    min_age: int
    max_age: int  # inclusive: "men under 60" is max_age 59


@dataclass(frozen=True)
class Eligibility:
    age_bands: tuple[AgeBand, ...] = ()
    insurance_types: frozenset[str] = frozenset()  # empty: any
    union_member: bool = False
    requires_products: frozenset[str] = frozenset()  # any one of them
    max_shares: int = 1


@dataclass(frozen=True)
class PayerShare:
    payer: str
    fen: int


@dataclass(frozen=True)
class Premium:
    per_share_fen: int
    split: tuple[PayerShare, ...] = ()
    variants: tuple[tuple[str, int, tuple[PayerShare, ...]], ...] = ()  # (when flag, fen, split)
    note: str = ""


@dataclass(frozen=True)
class Timing:
    coverage_start: str = "next_day"  # "next_day" | "same_day" | "period_start"
    period_months: int = 12
    waiting_days: int = 0  # first-time members, benefits without their own waiting tiers
    renewal_grace_days: int | None = None  # renewed within N days keeps the start, no waiting
    waiting_for: str = "first_time"  # "first_time" (and lapsed) | "all" members every period
    event_date: str = "admission"  # which date of a stay decides the period: admission | discharge
    stay_days: str = "nights"  # "nights" (discharge − admission, at least 1) | "inclusive"
    deadline: str = "none"  # none | days_after_settlement | days_after_period_end | next_year_date | fixed_date
    deadline_days: int = 0
    deadline_month: int = 0
    deadline_day: int = 0
    deadline_date: date | None = None


@dataclass(frozen=True)
class Assumption:
    key: str
    text: str
    assumed_value: bool  # True: a value not published, flagged in every explanation
    reading: str = ""
    why: str = ""


@dataclass(frozen=True)
class Product:
    id: str
    version: str
    name: str
    operator: str
    source: tuple[str, ...]
    source_tag: str
    benefits: tuple[Benefit, ...]
    eligibility: Eligibility = Eligibility()
    premium: Premium | None = None
    timing: Timing = Timing()
    period_cap_fen: int | None = None
    assumptions: tuple[Assumption, ...] = ()
    path: str = ""
    digest: str = ""

    @property
    def flags(self) -> tuple[Assumption, ...]:
        """Assumed (unpublished) values: shown in every explanation."""
        return tuple(a for a in self.assumptions if a.assumed_value)


@dataclass(frozen=True)
class ClaimFacts:
    """What the engine knows about one claim; amounts in fen by national platform names."""

    claim_id: str = ""
    member_id: str = ""
    claim_type: str = "hospital"
    subject: str = "member"
    gender: str | None = None
    birth_date: date | None = None
    insutype: str | None = None
    union_member: bool = True
    shares: int = 1
    membership_years: int = 1
    held_products: tuple[str, ...] = ()
    coverage_start: date | None = None
    period_start: date | None = None
    period_end: date | None = None
    first_time: bool = False
    lapse_days: int | None = None
    begndate: date | None = None
    enddate: date | None = None
    setl_date: date | None = None
    event_date: date | None = None
    diagnosis_date: date | None = None
    claim_date: date | None = None
    hospital_level: int | None = None
    disease: str | None = None
    accident_outcome: str | None = None  # "death" | "disability"
    disability_grade: int | None = None
    during_stay: bool = False
    flags: tuple[str, ...] = ()
    amounts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class BenefitUsage:
    paid_fen: int = 0
    claims: int = 0
    base_fen: int = 0  # cumulated base, for benefits whose stays are cumulated
    lifetime_claims: int = 0


@dataclass(frozen=True)
class Usage:
    """What the member already drew from this product in the period, before this claim."""

    benefits: dict[str, BenefitUsage] = field(default_factory=dict)
    product_paid_fen: int = 0
    coverage_ended: bool = False
    prior_period_paid: bool = False

    def of(self, benefit_id: str) -> BenefitUsage:
        return self.benefits.get(benefit_id, _NO_USAGE)


_NO_USAGE = BenefitUsage()


@dataclass(frozen=True)
class ReasonItem:
    code: Reason
    params: dict[str, Any]


@dataclass(frozen=True)
class Line:
    benefit_id: str
    name: str
    kind: str
    payable_fen: int
    reasons: tuple[ReasonItem, ...]
    counted: bool = False  # counts toward the claim limit
    ends_coverage: bool = False
    base_fen: int = 0  # cost base taken into the cumulated base


@dataclass(frozen=True)
class TraceStep:
    rule: str
    zh: str
    en: str


@dataclass(frozen=True)
class Assessment:
    product_id: str
    product_version: str
    claim_id: str
    payable_fen: int
    lines: tuple[Line, ...]
    input_hash: str
    as_of: date
    trace: tuple[TraceStep, ...] = ()
    flags: tuple[str, ...] = ()  # assumed values the result depends on

    def line(self, benefit_id: str) -> Line:
        for ln in self.lines:
            if ln.benefit_id == benefit_id:
                return ln
        raise KeyError(benefit_id)
