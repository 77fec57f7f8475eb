"""A rule correction re-assesses a period's claims with the vector engine: open claims carry
the new figure, granted ones are flagged with the difference; old assessments stay."""

from __future__ import annotations

import datetime
import hashlib

from huzhu.claims.ingest import settlement_ingest
from huzhu.claims.models import Assessment, ClaimPolicy
from huzhu.claims.reassess import claims_reassess_rule
from huzhu.claims.services import claim_file
from huzhu.claims.status import ClaimStatus
from huzhu.products.models import ProductVersion

from .conftest import MEDICAL, record

AS_OF = datetime.date(2026, 3, 20)


def corrected(rate: str = "80%") -> ProductVersion:
    old = ProductVersion.objects.get(code=MEDICAL)
    doc = old.document.replace('rate = "70%"', f'rate = "{rate}"').replace(
        'version = "2015.1"', 'version = "2015.2"')
    assert doc != old.document
    return ProductVersion.objects.create(code=MEDICAL, version="2015.2", name=old.name,
                                         document=doc, lists_document=old.lists_document,
                                         digest=hashlib.sha256(doc.encode()).hexdigest())


def file(w, setl_id, **kw):
    s = settlement_ingest(record=record(setl_id, w.zhangsan.id_number, inscp=1_000_000,
                                        hifp=900_000, **kw), actor=w.bureau).settlement
    return claim_file(member=w.zhangsan, settlement=s, product_code=MEDICAL, actor=w.lisi,
                      source="agent", as_of=AS_OF)


def test_rule_correction_updates_open_claims_and_flags_granted_ones(money_world):
    w = money_world
    granted = file(w, "S1", begin="2026-02-01", end="2026-02-05")
    assert granted.status == ClaimStatus.APPROVED and granted.payable_fen == 70_000
    ClaimPolicy.objects.create(product_code=MEDICAL, sample_percent=100)
    waiting = file(w, "S2", begin="2026-03-01", end="2026-03-05")
    assert waiting.status == ClaimStatus.IN_REVIEW and waiting.payable_fen == 70_000
    version = corrected()

    dry = claims_reassess_rule(version=version, period=w.period, dry_run=True)
    assert (dry.claims, dry.changed, dry.up_fen) == (2, 2, 20_000)
    assert Assessment.objects.count() == 2  # a dry run writes nothing

    report = claims_reassess_rule(version=version, period=w.period, actor=w.wangwu)
    assert (report.changed, report.open_updated, report.granted_flagged) == (2, 1, 1)
    waiting.refresh_from_db()
    granted.refresh_from_db()
    assert waiting.payable_fen == 80_000 and waiting.product_version == version
    assert waiting.assessment.engine == "vector" and waiting.assessments.count() == 2
    assert any("2015.2" in s["zh"] for s in waiting.assessment.trace)
    assert granted.payable_fen == 70_000  # what was owed stays owed
    flag = next(r for r in granted.risk if r["code"] == "RULE_CORRECTED")
    assert "800.00" in flag["message"] and "100.00" in flag["message"]
    assert granted.assessments.count() == 2

    # The same correction again writes nothing more and flags nobody twice.
    again = claims_reassess_rule(version=version, period=w.period, actor=w.wangwu)
    assert again.open_updated == 0 and again.granted_flagged == 0
    granted.refresh_from_db()
    assert [r["code"] for r in granted.risk].count("RULE_CORRECTED") == 1
    assert Assessment.objects.count() == 4


def test_the_same_rules_change_nothing(money_world):
    w = money_world
    file(w, "S1")
    report = claims_reassess_rule(version=ProductVersion.objects.get(code=MEDICAL),
                                  period=w.period)
    assert report.claims == 1 and report.changed == 0 and Assessment.objects.count() == 1
