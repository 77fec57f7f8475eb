"""The proof that the cockpit's aggregates are right: count every figure again, one record and
one leg at a time through the ORM (no GROUP BY, no shared SQL with the refresh), and list every
cell where the stored aggregates differ. ``huzhu insights refresh --verify`` and the tests run it.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from typing import Any

from huzhu import clock
from huzhu.claims.models import Claim, Recovery
from huzhu.claims.status import GRANTED, ClaimStatus
from huzhu.enrollment.models import Enrollment, EnrollmentStatus, Invoice, Payment
from huzhu.ledger.models import Leg, Transaction
from huzhu.payouts.models import Payout, PayoutLine, PayoutStatus

from .cockpit_refresh import _LEG_MEASURES, Places, Workdays
from .models_cockpit import CockpitMonth, CockpitNow, CockpitTop, CockpitWait


class _PlacesOf:
    """The org path of a posting's source record, read once per record: the sources of each
    type loaded with one query per thousand (no GROUP BY, nothing shared with the refresh)."""

    def __init__(self) -> None:
        self.known: dict[tuple[str, int], str | None] = {}

    def load(self, wanted: set[tuple[str, str]]) -> None:
        by_type: dict[str, set[int]] = defaultdict(set)
        for source_type, source_id in wanted:
            if (source_type, int(source_id)) not in self.known:
                by_type[source_type].add(int(source_id))
        for source_type, ids in by_type.items():
            rows: dict[int, str | None] = {}
            order = sorted(ids)
            for i in range(0, len(order), 1000):
                chunk = order[i:i + 1000]
                if source_type == "claims.claim":
                    rows.update(Claim.objects.filter(pk__in=chunk).values_list("pk", "org_path"))
                elif source_type == "claims.recovery":
                    rows.update(Recovery.objects.filter(pk__in=chunk)
                                .values_list("pk", "org_path"))
                elif source_type == "payouts.line":
                    rows.update(PayoutLine.objects.filter(pk__in=chunk)
                                .values_list("pk", "payout__org_path"))
                elif source_type == "enrollment.payment":
                    rows.update(Payment.objects.filter(pk__in=chunk)
                                .values_list("pk", "invoice__org_path"))
                elif source_type == "enrollment.invoice":
                    rows.update(Invoice.objects.filter(pk__in=chunk).values_list("pk", "org_path"))
                elif source_type == "enrollment.enrollment":
                    rows.update(Enrollment.objects.filter(pk__in=chunk)
                                .values_list("pk", "org_path"))
            for pk in ids:
                self.known[(source_type, pk)] = rows.get(pk)

    def __call__(self, source_type: str, source_id: str) -> str | None:
        return self.known.get((source_type, int(source_id)))


def recount(today: datetime.date | None = None) -> tuple[dict, dict, dict, dict]:
    today = today or clock.today()
    places = Places()
    month: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])

    def add(path: str, m: datetime.date, period: str, product: str, measure: str,
            bucket: int = 0, fen: int = 0) -> None:
        cell = month[(places(path)[0], m.replace(day=1), period, product, measure, bucket)]
        cell[0] += 1
        cell[1] += fen

    place_of = _PlacesOf()
    legs = list(Leg.objects.select_related("transaction__reverses", "account"))
    hits = []
    for leg in legs:
        tx: Transaction = leg.transaction
        reversal = tx.reverses_id is not None
        origin = tx.reverses if tx.reverses is not None else tx
        hit = _LEG_MEASURES.get((origin.source_type, leg.account.kind, reversal))
        if hit is not None:
            hits.append((leg, origin, hit))
    place_of.load({(o.source_type, o.source_id) for _, o, _ in hits})
    for leg, origin, hit in hits:
        path = place_of(origin.source_type, origin.source_id)
        if path is None:
            continue
        measure, sign = hit
        add(path, leg.business_date, leg.account.period_code, leg.account.product_code, measure,
            fen=sign * leg.amount_fen)
    for e in Enrollment.objects.filter(status=EnrollmentStatus.ACTIVE).select_related(
            "period", "product_version"):
        add(e.org_path, e.period.coverage_start, e.period.code, e.product_version.code,
            "enrolled")
    arrivals: list[tuple[str, str, str, datetime.date, datetime.date, str]] = []
    wait: dict[tuple, list[int]] = defaultdict(lambda: [0])
    for c in Claim.objects.select_related("settlement", "period"):
        period = c.period.code if c.period else ""
        add(c.org_path, clock.local(c.created_at).date(), period, c.product_code,
            "claims_filed")
        if c.status == ClaimStatus.REJECTED and c.decided_at:
            add(c.org_path, clock.local(c.decided_at).date(), period, c.product_code,
                "claims_rejected")
        if c.status in GRANTED and c.decided_at:
            arrivals.append((c.org_path, period, c.product_code,
                             clock.local(c.settlement.created_at if c.settlement
                                         else c.created_at).date(),
                             clock.local(c.decided_at).date(), "days_to_approval"))
    for p in Payout.objects.filter(status=PayoutStatus.PAID).select_related(
            "claim__settlement", "claim__period"):
        if p.paid_at and p.claim is not None:
            arrivals.append((p.org_path, p.claim.period.code if p.claim.period else "",
                             p.claim.product_code,
                             clock.local(p.claim.settlement.created_at if p.claim.settlement
                                         else p.claim.created_at).date(),
                             clock.local(p.paid_at).date(), "days_to_paid"))
    if arrivals:
        wd = Workdays(min(a[3] for a in arrivals), max(max(a[3], a[4]) for a in arrivals))
        for path, period, product, arrived, done, measure in arrivals:
            wait[(places(path)[0], done.year, measure, wd.between(arrived, done))][0] += 1
            if measure == "days_to_approval":
                add(path, done, period, product, "claims_approved")
    now: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    top: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    # Each granted claim's benefit expense, from its own postings and their reversals.
    expense: dict[str, int] = defaultdict(int)
    for leg in legs:
        tx = leg.transaction
        origin = tx.reverses if tx.reverses is not None else tx
        if origin.source_type == "claims.claim" and leg.account.kind == "benefit_expense":
            expense[origin.source_id] += leg.amount_fen
    for c in Claim.objects.select_related("settlement"):
        node = places(c.org_path)[0]
        if c.status in (ClaimStatus.SUBMITTED, ClaimStatus.IN_REVIEW):
            now[(node, "backlog")][0] += 1
            if c.status == ClaimStatus.IN_REVIEW and c.due_on and c.due_on < today:
                now[(node, "overdue")][0] += 1
        if c.status in GRANTED:
            fen = expense.get(str(c.pk), 0)
            s = c.settlement
            for kind, label in (("hospital", s.fixmedins_name if s else None),
                                ("diagnosis", s.diag_name if s else None)):
                cell = top[(node, c.event_date.year, kind, (label or "（未注明）")[:200])]
                cell[0] += 1
                cell[1] += fen
    return dict(month), dict(now), dict(top), dict(wait)


def differences(today: datetime.date | None = None) -> list[str]:
    """Every cell where the stored aggregates and the recount differ, in Chinese."""
    month, now, top, wait = recount(today)
    stored_w: dict[Any, list[int]] = {(r.node_id, r.year, r.measure, r.bucket): [r.count]
                                      for r in CockpitWait.objects.all()}
    stored_m: dict[Any, list[int]] = {(r.node_id, r.month, r.period_code, r.product_code, r.measure, r.bucket):
                [r.count, r.amount_fen]
                for r in CockpitMonth.objects.all()}
    stored_n: dict[Any, list[int]] = {(r.node_id, r.measure): [r.count, r.amount_fen]
                                      for r in CockpitNow.objects.all()}
    stored_t: dict[Any, list[int]] = {(r.node_id, r.year, r.kind, r.label):
                                      [r.count, r.amount_fen] for r in CockpitTop.objects.all()}
    out: list[str] = []
    Cells = dict[Any, list[int]]
    checks: tuple[tuple[str, Cells, Cells], ...] = (
        ("月度汇总", month, stored_m), ("当前状态", now, stored_n), ("医院与诊断", top, stored_t),
        ("办理时间", wait, stored_w))
    for name, mine, stored in checks:
        for key in sorted(set(mine) | set(stored), key=str):
            zero = [0] * len(next(iter(mine.values()), stored.get(key, [0, 0])))
            a, b = mine.get(key, zero), stored.get(key, zero)
            if a != b:
                out.append(f"{name} {key}：重算 {a}，汇总表 {b}（件数、金额分）")
    return out
