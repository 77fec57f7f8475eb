"""Recount the cockpit's aggregates (ADR 0018): set-based queries grouped by place and month,
written into :mod:`huzhu.insights.models_cockpit` in one transaction that replaces the old rows.

Money is read from ledger legs only (TRUST R-16). A leg is placed by the business record its
transaction names as source (a claim, a payout line, an invoice, a payment, an enrollment, a
recovery); a reversal (source ``ledger.transaction``) is placed by the transaction it reverses.
Which leg counts as what:

===========================  ==========================  =====================================
measure                      account                      source
===========================  ==========================  =====================================
premium_billed  保费确认收入   4101 互助金收入 (credit)      invoice, enrollment (refund)
premium_received 保费到账      1002 基金专户 (debit)         payment
benefit         互助金支出     5101 互助金支出 (debit)       claim, recovery
reserve_change  提取未决准备金  5102 (debit)                 claim
paid_out        代付到卡       1002 基金专户 (credit)        payout line
payout_failed   代付失败       2204 在途代付款 (debit)       reversal of a payout line's sending
===========================  ==========================  =====================================

Counts without money come from the business tables: enrolled members per period (month of the
coverage start), claims filed (month of filing), rejected (month of decision), the working days
from a settlement's arrival to the claim's approval and to the money on the card (histograms:
``bucket`` = working days, so medians and 90th percentiles of any scope are exact), the review
backlog now, and claims and benefits per hospital and diagnosis.
"""

from __future__ import annotations

import bisect
import datetime
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.db import connection, transaction
from django.db.models import Count
from django.db.models.functions import TruncMonth

from huzhu import clock
from huzhu.claims.models import Claim
from huzhu.claims.status import GRANTED, ClaimStatus
from huzhu.claims.workdays import _overrides, is_workday
from huzhu.enrollment.models import Enrollment, EnrollmentStatus
from huzhu.ledger.models import AccountKind
from huzhu.organisations.models import Organisation
from huzhu.payouts.models import Payout, PayoutStatus

from .models_cockpit import CockpitMonth, CockpitNow, CockpitRefresh, CockpitTop, CockpitWait

MEASURES: dict[str, str] = {
    "enrolled": "参保人数",
    "premium_billed": "保费确认收入",
    "premium_received": "保费到账",
    "benefit": "互助金支出",
    "reserve_change": "提取未决赔款准备金",
    "paid_out": "代付到卡",
    "payout_failed": "代付失败",
    "claims_filed": "理赔受理",
    "claims_rejected": "不予给付",
    "claims_approved": "核准",
    "days_to_approval": "结算到核准（工作日）",
    "days_to_paid": "结算到到卡（工作日）",
    "backlog": "待审核",
    "overdue": "审核超时",
}

# (source type, account kind, reversal?) → (measure, sign that makes the figure positive)
_LEG_MEASURES: dict[tuple[str, str, bool], tuple[str, int]] = {}
for _src in ("enrollment.invoice", "enrollment.enrollment"):
    for _rev in (False, True):
        _LEG_MEASURES[(_src, AccountKind.PREMIUM_INCOME, _rev)] = ("premium_billed", -1)
for _rev in (False, True):
    _LEG_MEASURES[("enrollment.payment", AccountKind.BANK, _rev)] = ("premium_received", 1)
    _LEG_MEASURES[("claims.claim", AccountKind.BENEFIT_EXPENSE, _rev)] = ("benefit", 1)
    _LEG_MEASURES[("claims.recovery", AccountKind.BENEFIT_EXPENSE, _rev)] = ("benefit", 1)
    _LEG_MEASURES[("claims.claim", AccountKind.RESERVE_CHANGE, _rev)] = ("reserve_change", 1)
    _LEG_MEASURES[("payouts.line", AccountKind.BANK, _rev)] = ("paid_out", -1)
_LEG_MEASURES[("payouts.line", AccountKind.PAYOUT_IN_TRANSIT, True)] = ("payout_failed", 1)

# source type → (FROM clause giving alias x and the place column)
_SOURCES: dict[str, tuple[str, str]] = {
    "claims.claim": ("claims_claim x", "x.org_path"),
    "claims.recovery": ("claims_recovery x", "x.org_path"),
    "payouts.line": ("payouts_payoutline x JOIN payouts_payout p ON p.id = x.payout_id",
                     "p.org_path"),
    "enrollment.payment": ("enrollment_payment x JOIN enrollment_invoice i ON i.id = x.invoice_id",
                           "i.org_path"),
    "enrollment.invoice": ("enrollment_invoice x", "x.org_path"),
    "enrollment.enrollment": ("enrollment_enrollment x", "x.org_path"),
}

Key = tuple[int, datetime.date, str, str, str, int]  # node, month, period, product, measure, bucket


class Places:
    """org_path → (node, l0, l1, l2): the record's place cut at the county level."""

    def __init__(self) -> None:
        self._cache: dict[str, tuple[int, int, int | None, int | None]] = {}

    def __call__(self, path: str) -> tuple[int, int, int | None, int | None]:
        hit = self._cache.get(path)
        if hit is None:
            ids = [int(p) for p in path.strip("/").split("/") if p]
            cut = ids[:3]
            hit = (cut[-1], cut[0], cut[1] if len(cut) > 1 else None,
                   cut[2] if len(cut) > 2 else None)
            self._cache[path] = hit
        return hit


class Workdays:
    """Working days between two dates in O(1) after one pass over the span (huzhu/claims/
    workdays.py decides each day: the entered calendar, the package, else Monday–Friday)."""

    def __init__(self, start: datetime.date, end: datetime.date) -> None:
        self.start = start
        overrides = _overrides(start, end)
        self.cum: list[int] = [0]
        day = start
        while day <= end:
            self.cum.append(self.cum[-1] + (1 if is_workday(day, overrides) else 0))
            day += datetime.timedelta(days=1)

    def between(self, a: datetime.date, b: datetime.date) -> int:
        """Working days after ``a`` up to and including ``b`` (0 if ``b`` ≤ ``a``)."""
        if b <= a:
            return 0
        ia = min(max((a - self.start).days + 1, 0), len(self.cum) - 1)
        ib = min(max((b - self.start).days + 1, 0), len(self.cum) - 1)
        return self.cum[ib] - self.cum[ia]


def month_of(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def _month_sql(column: str) -> str:
    if connection.vendor == "postgresql":
        return f"CAST(date_trunc('month', {column}) AS date)"
    return f"strftime('%%Y-%%m-01', {column})"


def _as_date(value: Any) -> datetime.date:
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    return datetime.date.fromisoformat(str(value))


def ledger_rows() -> Iterable[tuple[str, str, str, datetime.date, str, str, bool, int, int]]:
    """(org_path, source type, account kind, month, period, product, reversal?, sum fen,
    legs)."""
    kinds = sorted({k for (_s, k, _r) in _LEG_MEASURES})
    kind_ph = ", ".join(["%s"] * len(kinds))
    for source, (from_sql, place) in _SOURCES.items():
        for reversal in (False, True):
            tx = ("JOIN ledger_transaction t ON t.reverses_id = s.id" if reversal else "")
            leg_tx = "t" if reversal else "s"
            sql = (f"SELECT {place}, a.kind, {_month_sql('l.business_date')}, a.period_code, "
                   f"a.product_code, "
                   f"SUM(l.amount_fen), COUNT(*) FROM {from_sql} "
                   f"JOIN ledger_transaction s ON s.source_type = %s "
                   f"AND s.source_id = CAST(x.id AS TEXT) {tx} "
                   f"JOIN ledger_leg l ON l.transaction_id = {leg_tx}.id "
                   f"JOIN ledger_account a ON a.id = l.account_id "
                   f"WHERE a.kind IN ({kind_ph}) "
                   f"GROUP BY {place}, a.kind, {_month_sql('l.business_date')}, a.period_code, "
                   f"a.product_code")
            with connection.cursor() as cursor:
                cursor.execute(sql, [source, *kinds])
                for path, kind, month, period, product, fen, legs in cursor.fetchall():
                    yield (path, source, kind, _as_date(month), period, product, reversal,
                           int(fen), int(legs))


def claim_benefits() -> dict[int, int]:
    """Each claim's benefit (5101 legs sourced by it, reversals included), from the ledger."""
    out: dict[int, int] = defaultdict(int)
    for reversal in (False, True):
        tx = "JOIN ledger_transaction t ON t.reverses_id = s.id" if reversal else ""
        leg_tx = "t" if reversal else "s"
        sql = ("SELECT s.source_id, SUM(l.amount_fen) FROM ledger_transaction s "
               f"{tx} JOIN ledger_leg l ON l.transaction_id = {leg_tx}.id "
               "JOIN ledger_account a ON a.id = l.account_id "
               "WHERE s.source_type = 'claims.claim' AND a.kind = %s GROUP BY s.source_id")
        with connection.cursor() as cursor:
            cursor.execute(sql, [AccountKind.BENEFIT_EXPENSE])
            for source_id, fen in cursor.fetchall():
                out[int(source_id)] += int(fen)
    return out


class Tally:
    def __init__(self) -> None:
        self.places = Places()
        self.month: dict[Key, list[int]] = defaultdict(lambda: [0, 0])
        self.now: dict[tuple[int, str], list[int]] = defaultdict(lambda: [0, 0])
        self.top: dict[tuple[int, int, str, str], list[int]] = defaultdict(lambda: [0, 0])
        self.wait: dict[tuple[int, int, str, int], int] = defaultdict(int)
        self.paths: dict[int, str] = {}

    def add(self, path: str, month: datetime.date, period: str | None, product: str,
            measure: str, *, bucket: int = 0, count: int = 1, fen: int = 0) -> None:
        node = self.places(path)[0]
        cell = self.month[(node, month, period or "", product or "", measure, bucket)]
        cell[0] += count
        cell[1] += fen


def _local_date(moment: Any) -> datetime.date:
    return clock.local(moment).date()


def tally(today: datetime.date | None = None) -> Tally:
    """Every figure of the cockpit, counted from the records and the ledger."""
    today = today or clock.today()
    t = Tally()
    for path, source, kind, month, period, product, reversal, fen, legs in ledger_rows():
        hit = _LEG_MEASURES.get((source, kind, reversal))
        if hit is None:
            continue
        measure, sign = hit
        t.add(path, month, period, product, measure, count=legs, fen=sign * fen)
    # Enrolled members: per period, in the month its coverage starts.
    enrolled = (Enrollment.objects.filter(status=EnrollmentStatus.ACTIVE)
                .values_list("org_path", "period__coverage_start", "period__code",
                             "product_version__code")
                .annotate(n=Count("id")))
    for path, start, period, product, n in enrolled:
        t.add(path, month_of(start), period, product, "enrolled", count=n)
    filed = (Claim.objects.annotate(m=TruncMonth("created_at", tzinfo=clock.BEIJING))
             .values_list("org_path", "m", "period__code", "product_code")
             .annotate(n=Count("id")))
    for path, m, period, product, n in filed:
        t.add(path, month_of(_as_date(clock.local(m) if isinstance(m, datetime.datetime)
                                      else m)), period, product, "claims_filed", count=n)
    rejected = (Claim.objects.filter(status=ClaimStatus.REJECTED, decided_at__isnull=False)
                .annotate(m=TruncMonth("decided_at", tzinfo=clock.BEIJING))
                .values_list("org_path", "m", "period__code", "product_code")
                .annotate(n=Count("id")))
    for path, m, period, product, n in rejected:
        t.add(path, month_of(_as_date(clock.local(m) if isinstance(m, datetime.datetime)
                                      else m)), period, product, "claims_rejected", count=n)
    _waiting_times(t)
    _tops(t)
    for status, measure in ((None, "backlog"), ("overdue", "overdue")):
        qs = Claim.objects.filter(status__in=(ClaimStatus.SUBMITTED, ClaimStatus.IN_REVIEW))
        if status == "overdue":
            qs = qs.filter(status=ClaimStatus.IN_REVIEW, due_on__lt=today)
        for path, n in qs.values_list("org_path").annotate(n=Count("id")):
            cell = t.now[(t.places(path)[0], measure)]
            cell[0] += n
    return t


def _waiting_times(t: Tally) -> None:
    # A claim arrives with its settlement; one without (a lump sum on a diagnosis, a death:
    # ADR 0016) when it is filed. Consolation payouts belong to no claim and are left out.
    approved = [(*r[:4], r[4] or r[5]) for r in
                Claim.objects.filter(status__in=GRANTED, decided_at__isnull=False)
                .values_list("org_path", "period__code", "product_code", "decided_at",
                             "settlement__created_at", "created_at")]
    paid = [(*r[:4], r[4] or r[5]) for r in
            Payout.objects.filter(status=PayoutStatus.PAID, paid_at__isnull=False,
                                  claim__isnull=False)
            .values_list("org_path", "claim__period__code", "claim__product_code", "paid_at",
                         "claim__settlement__created_at", "claim__created_at")]
    days = [_local_date(m) for rows in (approved, paid) for r in rows for m in (r[3], r[4])]
    if not days:
        return
    wd = Workdays(min(days), max(days))
    for rows, measure in ((approved, "days_to_approval"), (paid, "days_to_paid")):
        for path, period, product, done_at, arrived_at in rows:
            done = _local_date(done_at)
            node = t.places(path)[0]
            t.wait[(node, done.year, measure, wd.between(_local_date(arrived_at), done))] += 1
            if measure == "days_to_approval":
                t.add(path, month_of(done), period, product, "claims_approved")


def _tops(t: Tally) -> None:
    benefits = claim_benefits()
    rows = (Claim.objects.filter(status__in=GRANTED)
            .values_list("pk", "org_path", "event_date", "settlement__fixmedins_name",
                         "settlement__diag_name").iterator(chunk_size=5000))
    for pk, path, event_date, hospital, diagnosis in rows:
        node = t.places(path)[0]
        fen = benefits.get(pk, 0)
        for kind, label in (("hospital", hospital), ("diagnosis", diagnosis)):
            cell = t.top[(node, event_date.year, kind, (label or "（未注明）")[:200])]
            cell[0] += 1
            cell[1] += fen


def _placed(places: Places, node: int, paths: dict[int, str]) -> dict[str, Any]:
    _n, l0, l1, l2 = places(paths[node])
    return {"node_id": node, "l0": l0, "l1": l1, "l2": l2}


def refresh(today: datetime.date | None = None) -> CockpitRefresh:
    """Recount everything and replace the aggregates in one transaction."""
    started = clock.now()
    t = tally(today)
    nodes = ({k[0] for k in t.month} | {k[0] for k in t.now} | {k[0] for k in t.top}
             | {k[0] for k in t.wait})
    paths = dict(Organisation.objects.filter(pk__in=nodes).values_list("pk", "path"))
    places = Places()
    month_rows = [CockpitMonth(**_placed(places, k[0], paths), month=k[1], period_code=k[2],
                               product_code=k[3], measure=k[4], bucket=k[5], count=v[0],
                               amount_fen=v[1])
                  for k, v in t.month.items()]
    now_rows = [CockpitNow(**_placed(places, k[0], paths), measure=k[1], count=v[0],
                           amount_fen=v[1]) for k, v in t.now.items()]
    top_rows = [CockpitTop(**_placed(places, k[0], paths), year=k[1], kind=k[2], label=k[3],
                           count=v[0], amount_fen=v[1]) for k, v in t.top.items()]
    wait_rows = [CockpitWait(**_placed(places, k[0], paths), year=k[1], measure=k[2],
                             bucket=k[3], count=v) for k, v in t.wait.items()]
    with transaction.atomic():
        CockpitWait.objects.all().delete()
        CockpitWait.objects.bulk_create(wait_rows, batch_size=5000)
        CockpitMonth.objects.all().delete()
        CockpitNow.objects.all().delete()
        CockpitTop.objects.all().delete()
        CockpitMonth.objects.bulk_create(month_rows, batch_size=5000)
        CockpitNow.objects.bulk_create(now_rows, batch_size=5000)
        CockpitTop.objects.bulk_create(top_rows, batch_size=5000)
        run = CockpitRefresh.objects.create(
            started_at=started, finished_at=clock.now(),
            rows=len(month_rows) + len(now_rows) + len(top_rows) + len(wait_rows))
        CockpitRefresh.objects.exclude(pk=run.pk).filter(
            pk__lt=run.pk - 100).delete()  # keep the last hundred runs
    return run


def percentile(histogram: dict[int, int], q: float) -> int | None:
    """The ``q`` quantile (nearest rank) of a histogram {working days: claims}."""
    total = sum(histogram.values())
    if not total:
        return None
    keys = sorted(histogram)
    cum: list[int] = []
    running = 0
    for k in keys:
        running += histogram[k]
        cum.append(running)
    rank = max(1, -(-int(q * 1000) * total // 1000))  # ceil(q × total)
    return keys[bisect.bisect_left(cum, rank)]
