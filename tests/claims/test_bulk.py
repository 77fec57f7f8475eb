"""The bulk path gives the same fen, statuses and events as the one-claim services."""

from __future__ import annotations

import datetime

from huzhu.audit.services import chain_verify
from huzhu.claims.bulk import claims_process_many, settlements_ingest_many
from huzhu.claims.models import Claim, ClaimPolicy, Settlement

from .conftest import MEDICAL, record

AS_OF = datetime.date(2026, 6, 1)


def test_bulk_matches_the_services(claims_world):
    w = claims_world
    ClaimPolicy.objects.create(product_code=MEDICAL, auto_claim=True)
    recs = [record("B1", w.zhangsan.id_number, begin="2026-02-01", end="2026-02-03"),
            record("B2", w.zhangsan.id_number, begin="2026-03-01", end="2026-03-03"),
            record("B3", w.zhangsan.id_number, begin="2026-04-01", end="2026-04-03"),
            record("B4", w.chenba.id_number, begin="2026-04-02", end="2026-04-06"),
            record("B5", w.chenba.id_number, begin="2026-04-04", end="2026-04-08"),
            record("B6", w.chenba.id_number, insutype="999"),
            record("B7", w.sunqi.id_number)]
    report = settlements_ingest_many(recs, actor=w.wangwu, fund_region=w.province)
    assert report.created == 6 and [(e.record, e.field) for e in report.errors] == [(6, "insutype")]
    assert Settlement.objects.get(setl_id="B1").certno == w.zhangsan.id_number
    counts = claims_process_many(report.ids, actor=w.wangwu, as_of=AS_OF)
    got = {c.setl_id: (c.status, c.payable_fen, [r["code"] for r in c.risk])
           for c in Claim.objects.all()}
    assert got == {
        "B1": ("approved", 140_000, []), "B2": ("approved", 140_000, []),
        "B3": ("rejected", 0, []),  # the third claim of the year
        "B4": ("approved", 140_000, []), "B5": ("in_review", 140_000, ["OVERLAPPING_STAY"]),
    }
    assert counts == {"approved": 3, "rejected": 1, "in_review": 1}
    assert Claim.objects.get(setl_id="B3").assessment.usage["benefits"]["medical"]["claims"] == 2
    assert list(chain_verify()) == []
    assert claims_process_many(report.ids, actor=w.wangwu, as_of=AS_OF) == {}
