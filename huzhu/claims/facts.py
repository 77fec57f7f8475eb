"""The one adapter from stored rows to the rules engine's facts (:func:`claim_facts`), and the
tuples it reads: a settlement (:class:`Setl`) and an enrollment (:class:`Cover`), read set-wise
by the bulk path or made of one stored row (:func:`setl_of`, :func:`cover_of`)."""

from __future__ import annotations

import datetime
from typing import Any, NamedTuple

from huzhu import clock
from huzhu.enrollment.models import Enrollment
from huzhu.rules.model import ClaimFacts
from huzhu.settlements.models import Settlement


class Setl(NamedTuple):
    """What assessing and checking a claim needs of a settlement (read as one tuple)."""

    pk: int
    setl_id: str
    member_id: int
    mdtrt_id: str
    insutype: str
    begndate: datetime.date
    enddate: datetime.date
    setl_time: datetime.datetime
    hosp_lv: int | None
    diag_code: str | None
    amounts: dict[str, int]


class CoverRow(NamedTuple):
    pk: int
    member_id: int
    code: str
    version_id: int
    period: Any
    shares: int
    continuous_since: datetime.date | None
    coverage_start: datetime.date | None
    first_time: bool
    waiting_until: datetime.date | None


def claim_facts(*, claim_id: int | None, member: tuple, s: Setl, e: CoverRow | None,
                held: tuple[str, ...], as_of: datetime.date | None) -> ClaimFacts:
    """The one adapter from stored rows to the engine's facts: ``member`` is (id, gender,
    birth date, union member), ``s`` the settlement, ``e`` the enrollment (None: not
    enrolled, assessed all the same and stopped by the rules)."""
    mid, gender, birth, union = member
    period = e.period if e else None
    since = (e.continuous_since or e.coverage_start) if e else None
    return ClaimFacts(
        claim_id=str(claim_id), member_id=str(mid), claim_type="hospital", gender=gender,
        birth_date=birth, insutype=s.insutype, union_member=union,
        shares=e.shares if e else 1, membership_years=membership_years(since, s.begndate),
        held_products=held, coverage_start=e.coverage_start if e else None,
        period_start=period.coverage_start if period else None,
        period_end=period.coverage_end if period else None,
        first_time=bool(e and e.first_time), begndate=s.begndate, enddate=s.enddate,
        setl_date=clock.today(s.setl_time), claim_date=as_of, hospital_level=s.hosp_lv,
        disease=s.diag_code or None, amounts=s.amounts)


def setl_of(settlement: Settlement) -> Setl:
    """A stored settlement as the tuple assessing and checking read."""
    amounts = {k: v for k, v in settlement.amounts().items() if k != "hosp_part_amt"}
    return Setl(settlement.pk, settlement.setl_id, settlement.member_id or 0,
                 settlement.mdtrt_id, settlement.insutype, settlement.begndate,
                 settlement.enddate, settlement.setl_time, settlement.hosp_lv,
                 settlement.diag_code, amounts)


def cover_of(e: Enrollment) -> CoverRow:
    """A stored enrollment as the tuple assessing reads."""
    return CoverRow(e.pk, e.member_id, e.product_version.code, e.product_version_id, e.period,
                  e.shares, e.continuous_since, e.coverage_start, e.first_time, e.waiting_until)



def membership_years(since: datetime.date | None, event: datetime.date) -> int:
    if since is None or event < since:
        return 1
    return (event - since).days // 365 + 1

