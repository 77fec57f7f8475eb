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


class EventFacts(NamedTuple):
    """What an event claim (no settlement) tells the engine: see ``models.ClaimEvent``."""

    kind: str
    claim_type: str
    subject: str
    event_date: datetime.date
    diagnosis_date: datetime.date | None
    disease: str | None
    accident_outcome: str | None
    disability_grade: int | None
    during_stay: bool
    flags: tuple[str, ...]


def event_facts(ev: Any, kind: str) -> EventFacts:
    """A stored ``ClaimEvent`` as the tuple assessing reads."""
    diagnosed = ev.event_date if ev.claim_type == "diagnosis" else None
    return EventFacts(kind, ev.claim_type, ev.subject, ev.event_date, diagnosed,
                      ev.disease or None, ev.accident_outcome or None, ev.disability_grade,
                      ev.during_stay, tuple(ev.flags or ()))


def setl_of_event(*, setl_id: str, member_id: int, insutype: str, ev: EventFacts,
                  filed: datetime.datetime) -> Setl:
    """The tuple the filing road reads for a claim without a settlement: the event's date as
    its day (for the period, the risk checks and the deadline), no amounts."""
    return Setl(None, setl_id, member_id, "", insutype, ev.event_date,  # type: ignore[arg-type]
                ev.event_date, filed, None, ev.disease, {})


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
                held: tuple[str, ...], as_of: datetime.date | None,
                ev: EventFacts | None = None) -> ClaimFacts:
    """The one adapter from stored rows to the engine's facts: ``member`` is (id, gender,
    birth date, union member), ``s`` the settlement, ``e`` the enrollment (None: not
    enrolled, assessed all the same and stopped by the rules); ``ev`` an event claim's facts
    (``s`` is then :func:`setl_of_event`'s)."""
    mid, gender, birth, union = member
    period = e.period if e else None
    since = (e.continuous_since or e.coverage_start) if e else None
    if ev is not None:
        return ClaimFacts(
            claim_id=str(claim_id), member_id=str(mid), claim_type=ev.claim_type,
            subject=ev.subject, gender=gender, birth_date=birth, insutype=s.insutype,
            union_member=union, shares=e.shares if e else 1,
            membership_years=membership_years(since, ev.event_date), held_products=held,
            coverage_start=e.coverage_start if e else None,
            period_start=period.coverage_start if period else None,
            period_end=period.coverage_end if period else None,
            first_time=bool(e and e.first_time), event_date=ev.event_date,
            diagnosis_date=ev.diagnosis_date, claim_date=as_of, disease=ev.disease,
            accident_outcome=ev.accident_outcome, disability_grade=ev.disability_grade,
            during_stay=ev.during_stay, flags=ev.flags, amounts={})
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

