"""Several past years of the demo province, lived through the platform's real roads
(issue 18 part 4): each year's period and 互助1号 offer, the units' enrollments with renewals,
lapses and newcomers, their invoices and bank payments, settlements from the "bureau" with winter
peaks and a long-tailed cost, the automatic claims (免申即享) and reviews, weekly payout batches
with the bank's answer (one line failing on a wrong name), so the cockpit has history to show.

Every step calls the same services a user's click or the bureau's push calls, on the day it
happens: the clock is moved to that day (time-machine, a development dependency: the demo is
a development tool), so created, decided and paid times, business dates and deadlines are
those of the day, and the books balance as they do in use. Deterministic for a seed.
"""

from __future__ import annotations

import datetime
import heapq
import math
import random
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from huzhu import clock
from huzhu.claims.models import Claim, ClaimPolicy
from huzhu.claims.status import ClaimStatus
from huzhu.errors import DomainError
from huzhu.members.models import Member
from huzhu.organisations.models import Organisation, Unit
from huzhu.products.models import Period

# Relative number of hospital stays per month (winter respiratory peak, a summer bump).
SEASON = (1.35, 1.2, 1.05, 0.95, 0.9, 0.85, 0.95, 1.0, 0.9, 0.95, 1.05, 1.25)
STAY_RATE = 0.07  # stays per enrolled member and year
LAPSE = 0.08  # members of a renewing unit who do not renew
FAILED_REASON = "户名与账号不符"
OPENING_FEN = 12_000_000  # 期初基金余额 120,000 yuan


@dataclass
class History:
    years: list[int] = field(default_factory=list)
    enrolled: dict[int, int] = field(default_factory=dict)
    settlements: int = 0
    reviewed: int = 0
    batches: int = 0
    failed_lines: int = 0


class _Channel:
    """The demo's bank: takes the file and answers at once (the result is imported by hand)."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}

    def submit(self, batch_no: str, content: bytes) -> None:
        self.files[batch_no] = content

    def query(self, batch_no: str) -> Any:
        from huzhu.payouts.channels import ACCEPTED, QueryAnswer

        return QueryAnswer(ACCEPTED, None)


def _at(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=clock.BEIJING)


def _cost(rng: random.Random) -> int:
    """In-scope cost of a stay in fen: log-normal around 9,000 yuan, a tail past 100,000."""
    return max(150_000, min(int(math.exp(rng.gauss(math.log(900_000), 0.85))), 40_000_000))


def _stay_day(rng: random.Random, year: int) -> datetime.date:
    month = rng.choices(range(1, 13), weights=SEASON)[0]
    first = datetime.date(year, month, 1)
    days = ((first.replace(month=month + 1) if month < 12 else datetime.date(year + 1, 1, 1))
            - first).days
    return first + datetime.timedelta(days=rng.randrange(days))


def _users() -> dict[str, Any]:
    from huzhu.accounts.models import User

    def one(name: str) -> Any:
        return User.objects.filter(username=name).first()

    users = {"reviewer": one("demo_reviewer"), "county_reviewer": one("demo_county_reviewer"),
             "finance": one("demo_finance"), "checker": one("demo_checker")}
    if users["reviewer"] is not None:
        # The final review is another person's than the first (claims/review.py): a second
        # reviewer of the association who never logs in (no usable password).
        second = one("demo_history_reviewer")
        if second is None:
            second = User.objects.create_user(
                username="demo_history_reviewer", password=None, role=users["reviewer"].role,
                organisation=users["reviewer"].organisation, display_name="历史演示终审员")
        users["second"] = second
    return users


def ensure_demo_history(*, years: int = 2, units: int = 45, seed: int = 2026,
                        today: datetime.date | None = None) -> History | None:
    """Live ``years`` past years up to the end of last year; nothing if they exist already."""
    import time_machine

    from huzhu.demo.claims import PRODUCT, _period, _record

    region = Organisation.objects.filter(depth=0, is_fund_region=True).first()
    if region is None:
        return None
    today = today or clock.today()
    first_year = today.year - years
    if Period.objects.filter(fund_region=region, code=str(first_year)).exists():
        return History()
    rng = random.Random(seed)
    users = _users()
    ClaimPolicy.objects.get_or_create(fund_region=None, product_code=PRODUCT, defaults={
        "auto_claim": True, "review_threshold_fen": 500_000, "sample_percent": 10})
    from huzhu.demo.accounts import _places

    first = _places()["unit"]
    # Units spread over the province (the cockpit's regions), the demo's first unit among them.
    others = list(Unit.objects.filter(members__isnull=False).exclude(pk=first.pk)
                  .distinct().order_by("pk").values_list("pk", flat=True))
    chosen = sorted(rng.sample(others, min(len(others), units + units // 2)))
    pool = [first, *Unit.objects.filter(pk__in=chosen).order_by("pk")]
    history = History()
    if users["finance"] is not None:  # the fund's money carried over from before the platform
        from huzhu.ledger.opening import fund_opening_record

        with time_machine.travel(_at(datetime.date(first_year - 1, 11, 1), 9), tick=False):
            fund_opening_record(region=region, amount_fen=OPENING_FEN,
                                on=datetime.date(first_year - 1, 11, 1), actor=users["finance"])
    stays: list[tuple[datetime.datetime, int, Any]] = []
    lapsed: set[int] = set()
    n = 0
    for year in range(first_year, today.year):
        history.years.append(year)
        # This year's units: most of last year's and a few new ones.
        these = pool[:units - (years - (year - first_year)) * units // 6]
        with time_machine.travel(_at(datetime.date(year - 1, 11, 20), 10), tick=False), \
                transaction.atomic():  # one commit for the year's enrolment season
            period = _period(region, datetime.date(year, 1, 1))
            enrolled: list[Member] = []
            for unit in these:
                mine = 0
                for member in Member.objects.filter(unit=unit).order_by("pk"):
                    if member.pk in lapsed or rng.random() < LAPSE / 2:
                        continue
                    if rng.random() < LAPSE:
                        lapsed.add(member.pk)
                        continue
                    try:
                        enrollment_single_demo(member, period, PRODUCT)
                    except DomainError:
                        continue
                    enrolled.append(member)
                    mine += 1
                if mine:
                    _bill(unit, period, year, rng)
        history.enrolled[year] = len(enrolled)
        for member in enrolled:
            k = sum(1 for _ in range(3) if rng.random() < STAY_RATE / 3)
            for _ in range(k):
                n += 1
                begin = _stay_day(rng, year)
                end = begin + datetime.timedelta(days=rng.choice((2, 3, 5, 7, 9, 12, 16, 25)))
                arrive = end + datetime.timedelta(days=rng.randrange(1, 6))
                if arrive >= today:
                    continue
                rec = _record(rng, n, member, member.id_number, member.name, end)
                inscp = _cost(rng)
                _amounts(rec, inscp, rng)
                rec.update({"setl_id": f"HIST{year}{n:07d}", "mdtrt_id": f"HISTMD{year}{n:07d}",
                            "begndate": begin.isoformat(), "enddate": end.isoformat(),
                            "setl_time": f"{end.isoformat()} 15:{n % 60:02d}:00"})
                stays.append((_at(arrive, 9, n % 60), n, rec))
    _live(stays, region, users, rng, history, today)
    return history


def enrollment_single_demo(member: Member, period: Period, product: str) -> None:
    from huzhu.enrollment.single import enrollment_single

    enrollment_single(actor=None, member=member, period=period, product_code=product)


def _bill(unit: Unit, period: Period, year: int, rng: random.Random) -> None:
    import time_machine

    from huzhu.enrollment.billing import invoice_create, payment_record

    invoice = invoice_create(unit=unit, period=period, actor=None)
    paid_on = datetime.date(year - 1, 12, rng.randrange(1, 28))
    with time_machine.travel(_at(paid_on, 11), tick=False):
        payment_record(invoice=invoice, bank_ref=f"HIST-{year}-{unit.pk}",
                       amount_fen=invoice.due_fen, paid_on=paid_on, payer_name=unit.name,
                       actor=None)


def _yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def _amounts(rec: dict[str, Any], inscp: int, rng: random.Random) -> None:
    hifp = inscp * rng.choice((60, 70, 75, 80)) // 100
    own, over, pre = (rng.randrange(20_000, 400_000), rng.randrange(0, 60_000),
                      rng.randrange(0, 80_000))
    medfee = inscp + own + over + pre
    rec.update({"medfee_sumamt": _yuan(medfee), "fulamt_ownpay_amt": _yuan(own),
                "overlmt_selfpay": _yuan(over), "preselfpay_amt": _yuan(pre),
                "inscp_scp_amt": _yuan(inscp), "hifp_pay": _yuan(hifp),
                "fund_pay_sumamt": _yuan(hifp), "psn_part_amt": _yuan(medfee - hifp),
                "psn_cash_pay": _yuan(medfee - hifp)})


def _next_weekday(day: datetime.date, weekday: int) -> datetime.date:
    return day + datetime.timedelta(days=(weekday - day.weekday()) % 7 or 7)


def _live(stays: list[tuple[datetime.datetime, int, Any]], region: Organisation,
          users: dict[str, Any], rng: random.Random, history: History,
          today: datetime.date) -> None:
    """Run the events in the order of their time: arrivals, reviews, weekly payouts."""
    import time_machine

    from huzhu.claims.ingest import settlement_ingest
    from huzhu.claims.workdays import add_workdays

    if not stays:
        return
    events: list[tuple[datetime.datetime, int, str, Any]] = []
    for at, seq, rec in stays:
        heapq.heappush(events, (at, seq, "arrive", rec))
    start = min(at for at, _s, _r in stays).date()
    wednesday = _next_weekday(start, 2)
    last = max(at for at, _s, _r in stays).date() + datetime.timedelta(days=21)
    seq = 10_000_000
    while wednesday < min(last, today - datetime.timedelta(days=1)):
        seq += 1
        heapq.heappush(events, (_at(wednesday, 15), seq, "pay", None))
        wednesday += datetime.timedelta(days=7)
    failed_once: set[int] = set()
    while events:
        at, _seq, kind, payload = heapq.heappop(events)
        with time_machine.travel(at, tick=False):
            if kind == "arrive":
                result = settlement_ingest(record=payload, actor=None, fund_region=region)
                history.settlements += 1
                for claim in Claim.objects.filter(settlement=result.settlement,
                                                  status=ClaimStatus.IN_REVIEW):
                    wait = rng.choice((0, 1, 1, 2, 2, 3, 4, 6, 9))
                    day = add_workdays(at.date(), wait) if wait else at.date()
                    seq += 1
                    heapq.heappush(events, (_at(day, 16, seq % 60), seq, "review", claim.pk))
            elif kind == "review":
                history.reviewed += _review(payload, users, rng)
            elif kind == "pay":
                _pay(region, users, history, failed_once, at)


def _review(claim_id: int, users: dict[str, Any], rng: random.Random) -> int:
    from huzhu.claims.review import claim_review

    done = 0
    for _level in range(3):  # a claim may climb up to three review levels
        claim = Claim.objects.get(pk=claim_id)
        if claim.status != ClaimStatus.IN_REVIEW:
            break
        action = "reject" if rng.random() < 0.04 else "approve"
        for who in ("county_reviewer", "reviewer", "second"):
            user = users.get(who)
            if user is None:
                continue
            try:
                claim_review(claim, actor=user, action=action,
                             reason_code="NOT_COVERED" if action == "reject" else "",
                             note="演示：审核通过" if action == "approve" else "演示：不属于保障范围")
            except DomainError:
                continue
            done = 1
            break
        else:
            break
    return done


def _pay(region: Organisation, users: dict[str, Any], history: History,
         failed_once: set[int], at: datetime.datetime) -> None:
    import time_machine

    from huzhu.claims.workdays import add_workdays
    from huzhu.payouts import bankfile
    from huzhu.payouts.models import LineStatus
    from huzhu.payouts.services import batch_approve, batch_build, batch_send, result_import

    maker, checker = users.get("finance"), users.get("checker")
    if maker is None or checker is None:
        return
    built = batch_build(fund_region=region, actor=maker)
    if built.batch is None:
        return
    batch = batch_approve(batch=built.batch, actor=checker, override_reason="演示：先付后补")
    batch = batch_send(batch=batch, actor=maker, channel=_Channel())
    history.batches += 1
    lines = list(batch.lines.filter(status=LineStatus.SENT).order_by("pk"))
    results = []
    for ln in lines:
        fail = not failed_once and history.batches >= 3
        if fail:
            failed_once.add(ln.pk)
            history.failed_lines += 1
        results.append(bankfile.ResultLine(
            row=0, batch_no=batch.number, out_detail_no=ln.out_detail_no,
            account_no=ln.account_no, account_name=ln.account_name, amount_fen=ln.amount_fen,
            outcome="failed" if fail else "paid", reason=FAILED_REASON if fail else "",
            bank_ref="" if fail else f"DEMOBK{ln.pk:09d}"))
    answer_day = add_workdays(at.date(), 1)
    with time_machine.travel(_at(answer_day, 10), tick=False):
        result_import(batch=batch, data=bankfile.render_result(results),
                      file_name=f"{batch.number}-result.csv", actor=maker)
