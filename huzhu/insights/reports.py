"""The annual fund report and the units' bulletins, every money figure read from the ledger.

TRUST R-16: a report's money comes from the fund's double-entry ledger and from nowhere else,
never from ``Claim.payable_fen`` or an invoice's total. Three readings:

- the fund region's figures (income, refunds, benefits, reserve, balance) from the maintained
  daily balances, exactly as ``huzhu.ledger.statement`` reads them (the same ``Figures``);
- each claim's benefit over the period: the legs on 5101 互助金支出 whose transaction names the
  claim as its source (approval, 补发, 追回, and a 核销 through the claim's recovery), summed;
- each premium leg (4101) attributed to the place it came from through its source (the invoice
  or, for a refund, the enrollment), so a city's or county's share can be shown although the
  region's books are kept at the region.

Legs whose source names no claim or invoice are shown as 未归属 so the parts always add up to
the ledger's total (tests/insights/test_reports.py proves it).
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Min, Q, Sum

from huzhu.ledger.models import Account, AccountKind, DailyBalance, Leg, PayerKind
from huzhu.ledger.selectors import P_AND_L_KINDS, balance_as_of
from huzhu.ledger.statement import Figures
from huzhu.organisations.models import Organisation, OrgKind, Unit
from huzhu.rules.money import half_up_div

CHUNK = 5_000
UNATTRIBUTED = "未归属"
HOME = "本级"


def product_names() -> dict[str, str]:
    """Product code (as the ledger keeps it, at most 40 characters) → its Chinese name."""
    from huzhu.products.models import ProductVersion

    names: dict[str, str] = {}
    for code, name in ProductVersion.objects.order_by("loaded_at").values_list("code", "name"):
        names[code[:40]] = name
    return names


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for i in range(0, len(ids), CHUNK):
        yield ids[i:i + CHUNK]


# --------------------------------------------------------------------------- claims' benefits


@dataclass
class Case:
    """One claim's benefit posted in the period (net of 补发 and 追回 in it)."""

    claim_id: int
    member_id: int
    member_name: str
    unit_id: int | None
    org_path: str
    product_code: str
    event_date: datetime.date
    posted_on: datetime.date  # the first benefit posting of the claim in the period
    benefit_fen: int
    status: str = ""


@dataclass
class Benefits:
    cases: list[Case]
    unattributed_fen: int  # 5101 legs naming no claim (none in normal operation)

    @property
    def total_fen(self) -> int:
        return sum(c.benefit_fen for c in self.cases) + self.unattributed_fen

    @property
    def paid(self) -> list[Case]:
        return [c for c in self.cases if c.benefit_fen > 0]


def _benefit_legs(*, region: Organisation, start: datetime.date, end: datetime.date,
                  only: list[int] | None) -> list[dict]:
    legs = Leg.objects.filter(account__fund_region=region,
                              account__kind=AccountKind.BENEFIT_EXPENSE,
                              business_date__gte=start, business_date__lte=end)

    def read(qs: Any) -> list[dict]:
        return list(qs.values("transaction__source_type", "transaction__source_id",
                              "account__product_code")
                    .annotate(fen=Sum("amount_fen"), first=Min("business_date")).order_by())

    if only is None:
        return read(legs)
    from huzhu.claims.models import Recovery

    rows: list[dict] = []
    for ids in _chunks(sorted(only)):
        recoveries = [str(r) for r in Recovery.objects.filter(claim_id__in=ids)
                      .values_list("pk", flat=True)]
        rows += read(legs.filter(
            Q(transaction__source_type="claims.claim",
              transaction__source_id__in=[str(i) for i in ids])
            | Q(transaction__source_type="claims.recovery",
                transaction__source_id__in=recoveries)))
    return rows


def claim_benefits(*, region: Organisation, start: datetime.date, end: datetime.date,
                   only: list[int] | None = None) -> Benefits:
    """Every claim's benefit in the region's books over start..end, read from 5101 legs; with
    ``only``, the benefits of those claims alone (read through the source index)."""
    from huzhu.claims.models import Claim, Recovery

    rows = _benefit_legs(region=region, start=start, end=end, only=only)
    per_claim: dict[int, list] = {}
    recoveries: dict[int, list] = {}
    unattributed = 0
    for row in rows:
        kind, sid = row["transaction__source_type"], row["transaction__source_id"]
        fen, first = int(row["fen"]), row["first"]
        target = per_claim if kind == "claims.claim" else recoveries \
            if kind == "claims.recovery" else None
        if target is None or not sid.isdigit():
            unattributed += fen
            continue
        acc = target.setdefault(int(sid), [0, first, row["account__product_code"]])
        acc[0] += fen
        acc[1] = min(acc[1], first)
    if recoveries:
        owner = dict(Recovery.objects.filter(pk__in=list(recoveries))
                     .values_list("pk", "claim_id"))
        for rid, (fen, first, product) in recoveries.items():
            if rid not in owner:
                unattributed += fen
                continue
            acc = per_claim.setdefault(owner[rid], [0, first, product])
            acc[0] += fen
            acc[1] = min(acc[1], first)
    cases: list[Case] = []
    found: set[int] = set()
    for ids in _chunks(sorted(per_claim)):
        for c in (Claim.objects.filter(pk__in=ids)
                  .values("pk", "member_id", "member__name", "member__unit_id",
                          "enrollment__unit_id", "org_path", "product_code", "event_date",
                          "status")):
            fen, first, _product = per_claim[c["pk"]]
            found.add(c["pk"])
            cases.append(Case(
                claim_id=c["pk"], member_id=c["member_id"], member_name=c["member__name"],
                unit_id=c["enrollment__unit_id"] or c["member__unit_id"],
                org_path=c["org_path"], product_code=c["product_code"][:40],
                event_date=c["event_date"], posted_on=first, benefit_fen=fen,
                status=c["status"]))
    unattributed += sum(v[0] for k, v in per_claim.items() if k not in found)
    cases.sort(key=lambda c: (c.posted_on, c.claim_id))
    return Benefits(cases=cases, unattributed_fen=unattributed)


# --------------------------------------------------------------------------- premiums by place


@dataclass(frozen=True)
class IncomePart:
    org_path: str  # "" when the source names no place
    payer_kind: str
    product_code: str
    fen: int  # credit-normal: income positive, a refund negative


def premium_income_parts(*, region: Organisation, start: datetime.date, end: datetime.date
                         ) -> list[IncomePart]:
    """The region's premium income (4101) over start..end, each part with the place (org
    path of the invoice, or of the enrollment for a refund) its source names."""
    from huzhu.enrollment.models import Enrollment, Invoice

    legs = (Leg.objects.filter(account__fund_region=region,
                               account__kind=AccountKind.PREMIUM_INCOME,
                               business_date__gte=start, business_date__lte=end)
            .values("transaction__source_type", "transaction__source_id",
                    "account__payer_kind", "account__product_code")
            .annotate(fen=Sum("amount_fen")).order_by())
    rows = list(legs)
    wanted: dict[str, set[int]] = defaultdict(set)
    for row in rows:
        if row["transaction__source_id"].isdigit():
            wanted[row["transaction__source_type"]].add(int(row["transaction__source_id"]))
    paths: dict[tuple[str, int], str] = {}
    for kind, model in (("enrollment.invoice", Invoice), ("enrollment.enrollment", Enrollment)):
        for ids in _chunks(sorted(wanted.get(kind, ()))):
            for pk, path in model.objects.filter(pk__in=ids).values_list("pk", "org_path"):
                paths[(kind, pk)] = path
    parts = []
    for row in rows:
        sid = row["transaction__source_id"]
        path = paths.get((row["transaction__source_type"], int(sid)), "") if sid.isdigit() \
            else ""
        parts.append(IncomePart(path, row["account__payer_kind"], row["account__product_code"],
                                -int(row["fen"])))
    return parts


# --------------------------------------------------------------------------- the annual report


@dataclass
class PlaceRow:
    label: str
    org: Organisation | None
    income_fen: int = 0
    benefits_fen: int = 0
    claims: int = 0
    members: int = 0


@dataclass
class ProductRow:
    code: str
    name: str
    income_fen: int = 0
    benefits_fen: int = 0
    claims: int = 0
    members: int = 0


@dataclass
class AnnualReport:
    region: Organisation
    org: Organisation  # the report's place: the region or a city/county within it
    start: datetime.date
    end: datetime.date
    whole_region: bool
    income_fen: int
    benefits_fen: int
    claims_paid: int
    members_helped: int
    average_fen: int
    largest_fen: int
    by_place: list[PlaceRow] = field(default_factory=list)
    by_product: list[ProductRow] = field(default_factory=list)
    income_by_payer: list[tuple[str, int]] = field(default_factory=list)
    # The fund's own figures: only for the whole region, whose books these are.
    figures: Figures | None = None
    opening_fen: int | None = None
    closing_fen: int | None = None
    reserve_closing_fen: int | None = None
    members_covered: int = 0

    @property
    def title(self) -> str:
        return f"{self.org.name}职工医疗互助基金{self.period_label}报告"

    @property
    def period_label(self) -> str:
        if (self.start.month, self.start.day, self.end.month, self.end.day) == (1, 1, 12, 31) \
                and self.start.year == self.end.year:
            return f"{self.start.year}年度"
        return f"{self.start.isoformat()}至{self.end.isoformat()}"


def region_figures(*, region: Organisation, start: datetime.date, end: datetime.date
                   ) -> tuple[Figures, int, int, int]:
    """The region's fund figures over the period, its opening and closing fund balance and its
    closing pending-claims reserve, read as ``fund_statement`` reads them (by fund region, so
    a nested fund region's books are not mixed in)."""
    figures = Figures()
    rows = (DailyBalance.objects.filter(account__fund_region=region, day__gte=start,
                                        day__lte=end)
            .values("account__kind").annotate(movement=Sum("delta_fen")).order_by())
    for row in rows:
        figures.add(row["account__kind"], int(row["movement"]))
    books = Account.objects.filter(fund_region=region)
    opening = -balance_as_of(accounts=books.filter(kind__in=P_AND_L_KINDS),
                             as_of=start - datetime.timedelta(days=1))
    closing = -balance_as_of(accounts=books.filter(kind__in=P_AND_L_KINDS), as_of=end)
    reserve = -balance_as_of(accounts=books.filter(kind=AccountKind.PENDING_RESERVE), as_of=end)
    return figures, opening, closing, reserve


def _in(path: str, prefix: str) -> bool:
    return path.startswith(prefix)


def _summary(cases: list[Case]) -> tuple[int, int, int, int]:
    paid = [c for c in cases if c.benefit_fen > 0]
    total = sum(c.benefit_fen for c in paid)
    average = half_up_div(total, len(paid)) if paid else 0
    largest = max((c.benefit_fen for c in paid), default=0)
    return len(paid), len({c.member_id for c in paid}), average, largest


def members_covered(*, org: Organisation, region: Organisation, start: datetime.date,
                    end: datetime.date) -> int:
    """Members with an active enrollment whose coverage overlaps the period (not money)."""
    from huzhu.enrollment.models import Enrollment, EnrollmentStatus

    return (Enrollment.objects.filter(fund_region=region, org_path__startswith=org.path,
                                      status=EnrollmentStatus.ACTIVE,
                                      period__coverage_start__lte=end,
                                      period__coverage_end__gte=start)
            .values("member_id").distinct().count())


def annual_report(*, org: Organisation, start: datetime.date, end: datetime.date
                  ) -> AnnualReport:
    """The fund report of ``org`` (its fund region, or a place inside it) over start..end."""
    region = org if org.is_fund_region else org.fund_region
    assert region is not None
    whole = region.pk == org.pk
    benefits = claim_benefits(region=region, start=start, end=end)
    income = premium_income_parts(region=region, start=start, end=end)
    cases = [c for c in benefits.cases if _in(c.org_path, org.path)]
    parts = [p for p in income if _in(p.org_path, org.path)]
    if whole:
        # Legs naming no place still belong to the region's books.
        cases_total = benefits.total_fen
        income_total = sum(p.fen for p in income)
    else:
        cases_total = sum(c.benefit_fen for c in cases)
        income_total = sum(p.fen for p in parts)
    claims_paid, helped, average, largest = _summary(cases)
    report = AnnualReport(region=region, org=org, start=start, end=end, whole_region=whole,
                          income_fen=income_total, benefits_fen=cases_total,
                          claims_paid=claims_paid, members_helped=helped, average_fen=average,
                          largest_fen=largest,
                          members_covered=members_covered(org=org, region=region, start=start,
                                                          end=end))
    # by place: the org's children inside the same fund region (a nested region reports itself)
    children = list(Organisation.objects.filter(parent=org, fund_region=region)
                    .exclude(kind=OrgKind.GRASSROOTS).order_by("path"))
    places: dict[str, PlaceRow] = {str(c.pk): PlaceRow(c.name, c) for c in children}
    home = PlaceRow(f"{org.name}（{HOME}）", org)
    lost = PlaceRow(UNATTRIBUTED, None)

    def place_of(path: str) -> PlaceRow:
        if not path:
            return lost
        key = path[len(org.path):].split("/", 1)[0]
        return places.get(key, home)

    for case_group in _group(cases, lambda c: id(place_of(c.org_path))):
        row = place_of(case_group[0].org_path)
        row.benefits_fen += sum(c.benefit_fen for c in case_group)
        row.claims, row.members = _summary(case_group)[:2]
    for p in parts:
        place_of(p.org_path).income_fen += p.fen
    if whole:
        lost.benefits_fen += benefits.unattributed_fen
        for p in income:
            if not p.org_path:
                lost.income_fen += p.fen
    report.by_place = [*places.values(), *(r for r in (home, lost)
                                           if r.income_fen or r.benefits_fen or r.claims)]
    # by product
    names = product_names()
    products: dict[str, ProductRow] = {}

    def product(code: str) -> ProductRow:
        code = code or ""
        if code not in products:
            products[code] = ProductRow(code, names.get(code, code or "（未分项目）"))
        return products[code]

    for group in _group(cases, lambda c: c.product_code):
        prow = product(group[0].product_code)
        prow.benefits_fen += sum(c.benefit_fen for c in group)
        prow.claims, prow.members = _summary(group)[:2]
    for p in (income if whole else parts):
        product(p.product_code).income_fen += p.fen
    if whole and benefits.unattributed_fen:
        product("").benefits_fen += benefits.unattributed_fen
    report.by_product = sorted(products.values(), key=lambda r: r.code)
    labels = dict(PayerKind.choices)
    payer: dict[str, int] = defaultdict(int)
    for p in (income if whole else parts):
        payer[p.payer_kind] += p.fen
    report.income_by_payer = [(labels.get(k, k), v) for k, v in sorted(payer.items()) if v]
    if whole:
        figures, opening, closing, reserve = region_figures(region=region, start=start, end=end)
        report.figures, report.opening_fen = figures, opening
        report.closing_fen, report.reserve_closing_fen = closing, reserve
    return report


def _group(cases: list[Case], key: Callable[[Case], object]) -> list[list[Case]]:
    groups: dict[object, list[Case]] = defaultdict(list)
    for c in cases:
        groups[key(c)].append(c)
    return list(groups.values())


# --------------------------------------------------------------------------- a unit's bulletin


@dataclass
class BulletinMember:
    name: str  # masked
    id_number: str  # masked
    products: str
    shares: int


@dataclass
class BulletinCase:
    name: str  # masked
    id_number: str  # masked
    product: str
    event_date: datetime.date
    status: str
    benefit_fen: int


@dataclass
class Bulletin:
    unit: Unit
    start: datetime.date
    end: datetime.date
    members: list[BulletinMember]
    enrolled_by_product: list[tuple[str, int, int]]  # name, members, shares
    claims_by_status: list[tuple[str, int]]
    cases: list[BulletinCase]
    benefits_fen: int
    claims_paid: int
    members_helped: int

    @property
    def title(self) -> str:
        return f"{self.unit.name}职工医疗互助运行通报"

    @property
    def period_label(self) -> str:
        if (self.start.month, self.start.day, self.end.month, self.end.day) == (1, 1, 12, 31) \
                and self.start.year == self.end.year:
            return f"{self.start.year}年度"
        return f"{self.start.isoformat()}至{self.end.isoformat()}"


def unit_bulletin(*, unit: Unit, start: datetime.date, end: datetime.date) -> Bulletin:
    """The unit's members covered in the period, its claims, and the benefits the ledger shows
    for them; names and ID numbers masked (TRUST S-12)."""
    from huzhu.claims.models import Claim
    from huzhu.claims.status import ClaimStatus
    from huzhu.enrollment.models import Enrollment, EnrollmentStatus
    from huzhu.members.models import Member
    from huzhu.pii.masking import mask_id_number, mask_name

    region = unit.fund_region
    enrollments = (Enrollment.objects.filter(unit=unit, status=EnrollmentStatus.ACTIVE,
                                             period__coverage_start__lte=end,
                                             period__coverage_end__gte=start)
                   .values_list("member_id", "product_version__name", "shares"))
    per_member: dict[int, list] = {}
    per_product: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for member_id, name, shares in enrollments:
        acc = per_member.setdefault(member_id, [[], 0])
        if name not in acc[0]:
            acc[0].append(name)
        acc[1] += shares
        per_product[name][1] += shares
    for names, _shares in per_member.values():
        for name in names:
            per_product[name][0] += 1
    people = {m.pk: m for m in Member.objects.filter(pk__in=list(per_member))}
    members = sorted(
        (BulletinMember(mask_name(people[pk].name), mask_id_number(people[pk].id_number or ""),
                        "、".join(names), shares)
         for pk, (names, shares) in per_member.items() if pk in people),
        key=lambda m: (m.name, m.id_number))
    of_unit = Claim.objects.filter(Q(enrollment__unit=unit)
                                   | Q(member__unit=unit, enrollment__isnull=True))
    money: dict[int, Case] = {}
    if region is not None:
        benefits = claim_benefits(region=region, start=start, end=end,
                                  only=list(of_unit.values_list("pk", flat=True)))
        money = {c.claim_id: c for c in benefits.cases}
    claims = list(of_unit.filter(Q(event_date__gte=start, event_date__lte=end)
                                 | Q(pk__in=list(money)))
                  .select_related("member", "product_version").order_by("event_date", "pk"))
    labels = dict(ClaimStatus.choices)
    by_status: dict[str, int] = defaultdict(int)
    cases = []
    for claim in claims:
        by_status[labels.get(claim.status, claim.status)] += 1
        fen = money[claim.pk].benefit_fen if claim.pk in money else 0
        cases.append(BulletinCase(mask_name(claim.member.name),
                                  mask_id_number(claim.member.id_number or ""),
                                  claim.product_version.name, claim.event_date,
                                  labels.get(claim.status, claim.status), fen))
    paid = [c for c in money.values() if c.benefit_fen > 0]
    return Bulletin(
        unit=unit, start=start, end=end, members=members,
        enrolled_by_product=[(k, v[0], v[1]) for k, v in sorted(per_product.items())],
        claims_by_status=sorted(by_status.items()),
        cases=cases, benefits_fen=sum(c.benefit_fen for c in money.values()),
        claims_paid=len(paid), members_helped=len({c.member_id for c in paid}))
