"""The demo province's current year with claims to work: this year's period with 互助1号,
members of a few units enrolled and paid for through the enrollment services, and settlement
records from the "bureau" for some of them, so the reviewer's workbench, the payable money and
the payout pages have something real to show. 互助1号 pays without an application (免申即享)
in the demo; claims over 5,000 yuan and a 10 % sample go to review.

Deterministic for a seed; run once (``--if-empty`` skips when the period already has claims).
"""

from __future__ import annotations

import datetime
import random
from dataclasses import dataclass

from django.db import transaction

from huzhu import clock
from huzhu.claims.ingest import settlement_ingest
from huzhu.claims.models import Claim, ClaimPolicy
from huzhu.enrollment.billing import invoice_create, payment_record
from huzhu.enrollment.single import enrollment_single
from huzhu.errors import DomainError
from huzhu.members.models import Member
from huzhu.organisations.models import Organisation, Unit
from huzhu.products.models import Offer, Period
from huzhu.products.services import catalog_import, offer_create

PRODUCT = "guangxi-2024-huzhu1"
HOSPITALS = (("H45010300001", "广西医科大学第一附属医院", 3), ("H45010300002", "南宁市第一人民医院", 3),
             ("H45020200003", "柳州市工人医院", 3), ("H45032100004", "桂林市人民医院", 2),
             ("H45012300005", "青秀区人民医院", 2))
DIAGNOSES = (("K35.800", "急性阑尾炎"), ("J18.900", "肺炎"), ("I63.900", "脑梗死"),
             ("E11.900", "2型糖尿病"), ("S72.000", "股骨颈骨折"), ("C34.900", "肺恶性肿瘤"))


@dataclass
class DemoClaims:
    period: Period
    enrolled: int
    settlements: int
    claims: dict[str, int]


def _yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def _record(rng: random.Random, n: int, member: Member | None, certno: str, name: str,
            today: datetime.date) -> dict:
    year_start = datetime.date(today.year, 1, 1)
    span = max(10, (today - year_start).days - 20)
    begin = year_start + datetime.timedelta(days=rng.randrange(span))
    end = begin + datetime.timedelta(days=rng.choice((3, 5, 7, 9, 12, 16, 25)))
    serious = rng.random() < 0.08
    inscp = rng.randrange(300_000, 2_500_000) * (12 if serious else 1)
    hifp = inscp * rng.choice((60, 70, 75, 80)) // 100
    own, over, pre = rng.randrange(20_000, 400_000), rng.randrange(0, 60_000), rng.randrange(0, 80_000)
    medfee = inscp + own + over + pre
    code, hospital, level = rng.choice(HOSPITALS)
    diag = rng.choice(DIAGNOSES)
    return {
        "setl_id": f"DEMO{today.year}{n:07d}", "mdtrt_id": f"DEMOMD{today.year}{n:07d}",
        "psn_no": f"45{n:08d}", "psn_name": name, "certno": certno,
        "gend": "1" if member is None or member.gender == "M" else "2", "insutype": "310",
        "med_type": "21", "begndate": begin.isoformat(), "enddate": end.isoformat(),
        "setl_time": f"{end.isoformat()} 10:{n % 60:02d}:00", "fixmedins_code": code,
        "fixmedins_name": hospital, "hosp_lv": str(level), "diag_code": diag[0],
        "diag_name": diag[1], "medfee_sumamt": _yuan(medfee), "fulamt_ownpay_amt": _yuan(own),
        "overlmt_selfpay": _yuan(over), "preselfpay_amt": _yuan(pre),
        "inscp_scp_amt": _yuan(inscp), "hifp_pay": _yuan(hifp), "fund_pay_sumamt": _yuan(hifp),
        "psn_part_amt": _yuan(medfee - hifp), "acct_pay": "0.00",
        "psn_cash_pay": _yuan(medfee - hifp),
    }


@transaction.atomic
def _period(region: Organisation, today: datetime.date) -> Period:
    year = today.year
    period, created = Period.objects.get_or_create(
        fund_region=region, code=str(year), defaults={
            "name": f"{year} 年度", "enroll_opens": datetime.date(year - 1, 11, 1),
            "enroll_closes": datetime.date(year - 1, 12, 31),
            "coverage_start": datetime.date(year, 1, 1),
            "coverage_end": datetime.date(year, 12, 31)})
    if not Offer.objects.filter(period=period, product_version__code=PRODUCT).exists():
        version = next(v for v in catalog_import() if v.code == PRODUCT)
        offer_create(period=period, organisation=region, product_version=version,
                     premium_per_share_fen=10000,
                     split=[{"payer": "union_province", "fen": 5000},
                            {"payer": "employer", "fen": 3000}, {"payer": "member", "rest": True}])
    return period


def ensure_demo_claims(*, units: int = 45, share: float = 0.08, seed: int = 2026,
                       today: datetime.date | None = None, if_empty: bool = False
                       ) -> DemoClaims | None:
    region = Organisation.objects.filter(depth=0, is_fund_region=True).first()
    if region is None:
        return None
    today = today or clock.today()
    period = _period(region, today)
    if if_empty and Claim.objects.filter(period=period).exists():
        return DemoClaims(period, 0, 0, {})
    rng = random.Random(seed)
    ClaimPolicy.objects.get_or_create(fund_region=None, product_code=PRODUCT, defaults={
        "auto_claim": True, "review_threshold_fen": 500_000, "sample_percent": 10})
    from huzhu.demo.accounts import _places

    first = _places()["unit"]
    chosen = [first, *Unit.objects.filter(members__isnull=False).exclude(pk=first.pk)
              .distinct().order_by("pk")[:units - 1]]
    paid_on = datetime.date(today.year - 1, 12, 10)
    enrolled: list[Member] = []
    for unit in chosen:
        mine = 0
        for member in Member.objects.filter(unit=unit).order_by("pk"):
            try:
                enrollment_single(actor=None, member=member, period=period, product_code=PRODUCT)
            except DomainError:
                continue  # not eligible for 互助1号 (insurance type, union membership, age)
            enrolled.append(member)
            mine += 1
        if mine:
            invoice = invoice_create(unit=unit, period=period, actor=None)
            payment_record(invoice=invoice, bank_ref=f"DEMO-{today.year}-{unit.pk}",
                           amount_fen=invoice.due_fen, paid_on=paid_on,
                           payer_name=unit.name, actor=None)
    n = 0
    for member in enrolled:
        if rng.random() < share:
            n += 1
            settlement_ingest(record=_record(rng, n, member, member.id_number, member.name, today),
                              actor=None, fund_region=region)
    from huzhu.demo.identities import resident_id

    for k in range(5):  # people the bureau knows and the scheme does not: the unmatched queue
        n += 1
        certno = resident_id("450103", datetime.date(1982, 3, 1) + datetime.timedelta(days=k * 41),
                             500 + k)
        settlement_ingest(record=_record(rng, n, None, certno, f"未登记{k + 1}", today),
                          actor=None, fund_region=region)
    counts: dict[str, int] = {}
    for status in Claim.objects.filter(period=period).values_list("status", flat=True):
        counts[status] = counts.get(status, 0) + 1
    return DemoClaims(period, len(enrolled), n, counts)
