"""Event claims (no settlement: diagnosis lump sums, family illness, docs/adr/0016) replayed by the
simulator and by ``claims reassess`` on the one replay road, beside hospital claims of the same
product, with the member's usage shared between both in the period.

The world: the simulator's small world with 重庆 重大疾病 (a 90,000 元 lump sum, once in a life;
a 2,000 元 lump sum for a spouse's or child's illness, once a period) offered too and 张三, 陈八
and 孙七 enrolled in it. Claims of that product, in event or discharge order per member:

- 张三: a diagnosis of 恶性肿瘤 on 3-10 (90,000 元, in review); a stay on the product with the
  same diagnosis, discharged 3-25 (filed while the first was in review, so assessed at 90,000 元;
  the replay counts the first and pays it nothing: once in a life); his spouse's 急性心肌梗塞 on
  4-01 (2,000 元, approved);
- 陈八: a diagnosis of 脑中风后遗症 on 5-01 (90,000 元);
- 孙七 (柳州): a stay on the product with a diagnosis from the list, discharged 5-03 (90,000 元).
"""

from __future__ import annotations

import datetime
import hashlib
from typing import Any

import pytest
from django.urls import reverse

from huzhu.claims.events import EventInput, claim_file_event
from huzhu.claims.models import Assessment, Claim, ClaimKind, ClaimSource, DocumentKind
from huzhu.claims.reassess import claims_reassess_rule, replay_read
from huzhu.claims.status import ClaimStatus
from huzhu.errors import DomainError
from huzhu.insights.simulator import memo_clear, simulate
from huzhu.insights.simulator_levers import apply_levers
from huzhu.products.models import ProductVersion
from tests.conftest import resident_id
from tests.enrollment.conftest import person, xlsx

from .conftest import AS_OF

CRITICAL = "chongqing-2015-critical"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
SPOUSE_ID = resident_id("450103", datetime.date(1982, 3, 3), 2)
LUMP = 9_000_000


@pytest.fixture(autouse=True)
def _fresh_memo():
    memo_clear()
    yield
    memo_clear()


def _enroll(w: Any, unit: Any, people: list[Any], ref: str, period: Any = None,
            paid_on: datetime.date = datetime.date(2025, 12, 12)) -> None:
    from huzhu.enrollment.billing import invoice_create, payment_record
    from huzhu.enrollment.services import roster_check, roster_confirm, roster_upload

    name = w.critical.product_version.name
    period = period or w.period
    rows = [person(m.name, m.id_number, name, 手机号=f"1381234{i:04d}")
            for i, m in enumerate(people)]
    roster, _ = roster_upload(unit=unit, period=period, file_name=f"ci-{ref}.xlsx",
                              data=xlsx(rows), actor=None)
    roster_check(roster)
    roster_confirm(roster=roster, actor=None)
    invoice = invoice_create(unit=unit, period=period, actor=None)
    payment_record(invoice=invoice, bank_ref=f"CI-{ref}", amount_fen=invoice.due_fen,
                   paid_on=paid_on, payer_name=unit.name, actor=w.wangwu)


def _event(w: Any, member: Any, kind: str, day: str, disease: str, **kw: Any) -> Claim:
    doc = DocumentKind.PATHOLOGY
    return claim_file_event(member=member, data=EventInput(
        kind=kind, product_code=CRITICAL, event_date=datetime.date.fromisoformat(day),
        disease=disease, files=[(doc, "p.pdf", PDF + day.encode())], **kw),
        actor=None, source=ClaimSource.AGENCY, as_of=AS_OF)


def _stay(w: Any, member: Any, setl_id: str, begin: str, end: str, diag: str) -> Claim:
    from huzhu.claims.ingest import settlement_ingest
    from huzhu.claims.services import claim_file
    from tests.claims.conftest import record

    s = settlement_ingest(record=record(setl_id, member.id_number, begin=begin, end=end,
                                        diag_code=diag), actor=w.bureau).settlement
    return claim_file(member=member, settlement=s, product_code=CRITICAL, actor=None,
                      source="agency", as_of=AS_OF)


@pytest.fixture
def ci_world(sim_world: Any) -> Any:
    from huzhu.products.services import offer_create

    w = sim_world
    version = ProductVersion.objects.get(code=CRITICAL)
    w.critical = offer_create(period=w.period, organisation=w.province, product_version=version,
                              premium_per_share_fen=3000,
                              split=[{"payer": "member", "rest": True}])
    _enroll(w, w.unit_a, [w.zhangsan, w.chenba], "a")
    _enroll(w, w.unit_b, [w.sunqi], "b")
    w.dx_zhang = _event(w, w.zhangsan, ClaimKind.DIAGNOSIS, "2026-03-10", "ci25-01")
    w.stay_zhang = _stay(w, w.zhangsan, "CI1", "2026-03-20", "2026-03-25", "ci25-01")
    w.family_zhang = _event(w, w.zhangsan, ClaimKind.FAMILY, "2026-04-01", "ci25-02",
                            relation="spouse", person_name="张妻", person_id_number=SPOUSE_ID)
    w.dx_chen = _event(w, w.chenba, ClaimKind.DIAGNOSIS, "2026-05-01", "ci25-03")
    w.stay_sun = _stay(w, w.sunqi, "CI2", "2026-05-01", "2026-05-03", "ci25-04")
    return w


def critical() -> ProductVersion:
    return ProductVersion.objects.get(code=CRITICAL, version="2015.1")


def raised(base: ProductVersion) -> str:
    """The draft: the critical-illness lump sum raised by 2,000 元 (90,000 → 92,000)."""
    doc = base.document.replace('amount = "90000.00"', 'amount = "92000.00"')
    assert doc.count("92000.00") == 1
    return doc


def test_the_world_is_what_its_text_says(ci_world):
    w = ci_world
    claims = [w.dx_zhang, w.stay_zhang, w.family_zhang, w.dx_chen, w.stay_sun]
    assert [c.payable_fen for c in claims] == [LUMP, LUMP, 200_000, LUMP, LUMP]
    assert [c.kind for c in claims] == ["diagnosis", "hospital", "family", "diagnosis",
                                        "hospital"]
    assert all(c.status in (ClaimStatus.IN_REVIEW, ClaimStatus.APPROVED) for c in claims)
    assert w.family_zhang.status == ClaimStatus.APPROVED
    assert w.dx_zhang.settlement_id is None and w.stay_zhang.settlement_id is not None


def test_the_replay_reads_event_claims_beside_stays_in_event_order(ci_world):
    w = ci_world
    r = replay_read(code=CRITICAL, period=w.period)
    assert r.n == 5
    assert r.claim_ids.tolist() == [c.pk for c in (w.dx_zhang, w.stay_zhang, w.family_zhang,
                                                   w.dx_chen, w.stay_sun)]
    assert r.kinds.tolist() == ["diagnosis", "hospital", "family", "diagnosis", "hospital"]
    assert r.stays.disease.tolist() == ["ci25-01", "ci25-01", "ci25-02", "ci25-03", "ci25-04"]
    assert r.stays.subject.tolist() == ["member", "", "spouse", "member", ""]
    assert r.stays.insutype.tolist() == ["310"] * 5  # the members' basic insurance (employee)
    # without the diagnoses asked for, none is read (nor decrypted)
    assert set(replay_read(code=CRITICAL, period=w.period, diseases=False).stays.disease) == {""}


def test_an_unchanged_product_changes_nothing_and_counts_each_kind(ci_world):
    w = ci_world
    base = critical()
    s = simulate(base=base, period=w.period, document=base.document, org_path="").summary
    assert (s["claims"], s["members"]) == (5, 3)
    # 张三's stay is the second lump of a life in the period: the replay pays it nothing
    assert s["before_fen"] == s["after_fen"] == 3 * LUMP + 200_000
    assert s["recorded_fen"] == 4 * LUMP + 200_000
    assert s["change_fen"] == 0 and s["claims_changed"] == 0 and s["same"] == 3
    kinds = {k["kind"]: (k["claims"], k["before_fen"]) for k in s["kinds"]}
    assert kinds == {"hospital": (2, LUMP), "diagnosis": (2, 2 * LUMP), "family": (1, 200_000)}
    assert [k["label"] for k in s["kinds"]] == ["住院医疗", "确诊重大疾病/女职工特殊疾病",
                                                "配偶或子女患病"]


def test_a_lump_sum_raised_by_2000_gives_the_hand_computed_difference(ci_world):
    w = ci_world
    base = critical()
    s = simulate(base=base, period=w.period, document=raised(base),
                 org_path=w.province.path).summary
    # four claims name a listed disease for the member's own lump sum; the once-in-a-life
    # limit cuts 张三's stay: 3 × 2,000 元. The spouse's lump sum is another benefit.
    assert s["change_fen"] == 4 * 200_000 - 200_000 == 600_000
    assert s["after_fen"] == 3 * 9_200_000 + 200_000
    assert (s["gainers"], s["losers"], s["same"]) == (3, 0, 0)
    kinds = {k["kind"]: k["change_fen"] for k in s["kinds"]}
    assert kinds == {"hospital": 200_000, "diagnosis": 400_000, "family": 0}
    regions = {r["label"]: r["change_fen"] for r in s["regions"]}
    assert regions == {"南宁市总工会": 400_000, "柳州市总工会": 200_000}
    bands = {b["label"]: b for b in s["bands"]}
    # the medical cost of a member is their stays' (event claims carry none): 张三 and 孙七
    # one stay of 12,000 元 each, 陈八 none
    assert bands["1 万元以下"]["members"] == 1 and bands["1 万元以下"]["change_fen"] == 200_000
    assert bands["1–3 万元"]["members"] == 2 and bands["1–3 万元"]["change_fen"] == 400_000
    # the premium: three members of one share at 30 元
    assert s["premium_before_fen"] == 9_000 and s["shares"] == 3
    assert s["break_even_per_share_fen"] == (3 * 9_200_000 + 200_000 + 2) // 3


def test_a_product_cap_is_shared_by_the_lump_sums_and_the_stays(ci_world):
    w = ci_world
    base = critical()
    draft = apply_levers(raised(base), {"product_cap": "91000"})
    s = simulate(base=base, period=w.period, document=draft, org_path="").summary
    # each member's period capped at 91,000 元: 陈八 and 孙七 gain 1,000 元; 张三's 92,000 is
    # cut to 91,000 and his spouse's 2,000 finds no room left: he loses 1,000 元.
    assert s["after_fen"] == 3 * 9_100_000
    assert s["change_fen"] == 3 * 9_100_000 - (3 * LUMP + 200_000) == 100_000
    assert (s["gainers"], s["losers"]) == (2, 1) and s["largest_loss_fen"] == 100_000
    kinds = {k["kind"]: k["change_fen"] for k in s["kinds"]}
    assert kinds == {"hospital": 100_000, "diagnosis": 200_000, "family": -200_000}


def test_the_replay_is_scoped_to_a_city(ci_world):
    w = ci_world
    base = critical()
    s = simulate(base=base, period=w.period, document=raised(base),
                 org_path=w.city_b.path).summary
    assert s["claims"] == 1 and s["change_fen"] == 200_000
    assert [k["kind"] for k in s["kinds"]] == ["hospital"]


def corrected(base: ProductVersion) -> ProductVersion:
    doc = raised(base).replace('version = "2015.1"', 'version = "2015.2"')
    return ProductVersion.objects.create(code=CRITICAL, version="2015.2", name=base.name,
                                         document=doc, lists_document=base.lists_document,
                                         digest=hashlib.sha256(doc.encode()).hexdigest())


def test_a_rule_correction_reassesses_event_claims_too(ci_world):
    w = ci_world
    version = corrected(critical())
    dry = claims_reassess_rule(version=version, period=w.period, dry_run=True)
    # up: the three lump sums, 2,000 元 each; down: 张三's stay, a second lump sum of a life
    assert (dry.claims, dry.changed) == (5, 4)
    assert (dry.up_fen, dry.down_fen) == (600_000, LUMP)
    assert Assessment.objects.filter(product_version=version).count() == 0

    # the scalar engine explains each changed member in the vector run's order (an event
    # claim by its event date): it must agree to the fen, or nothing is written
    report = claims_reassess_rule(version=version, period=w.period, actor=w.wangwu)
    assert report.changed == 4 and report.open_updated == 4 and report.granted_flagged == 0
    for c, fen in ((w.dx_zhang, 9_200_000), (w.stay_zhang, 0), (w.dx_chen, 9_200_000),
                   (w.stay_sun, 9_200_000)):
        c.refresh_from_db()
        assert c.payable_fen == fen and c.product_version == version
        assert c.assessment.engine == "vector" and c.assessment.settlement_id == c.settlement_id
    w.family_zhang.refresh_from_db()
    assert w.family_zhang.payable_fen == 200_000 and w.family_zhang.product_version != version
    lines = {ln["benefit_id"]: ln["payable_fen"]
             for ln in Claim.objects.get(pk=w.dx_zhang.pk).assessment.lines}
    assert lines["critical"] == 9_200_000
    again = claims_reassess_rule(version=version, period=w.period, actor=w.wangwu)
    assert again.changed == 0


def test_earlier_periods_carry_in_the_lifetime_limit_and_the_prior_payment(ci_world):
    """陈八's critical illness was paid in 2025: in 2026 the once-in-a-life lump sum is spent
    (his 2026 diagnosis, filed before the 2025 claim was granted, replays at nothing) and his
    continued treatment (paid only after an earlier period paid) replays at 2,000 元."""
    from huzhu.claims.review import claim_review
    from huzhu.products.models import Period
    from huzhu.products.services import offer_create

    w = ci_world
    period_2025 = Period.objects.create(
        fund_region=w.province, code="2025", name="2025 年度",
        enroll_opens=datetime.date(2024, 11, 1), enroll_closes=datetime.date(2024, 12, 31),
        coverage_start=datetime.date(2025, 1, 1), coverage_end=datetime.date(2025, 12, 31))
    offer_create(period=period_2025, organisation=w.province, product_version=critical(),
                 premium_per_share_fen=3000, split=[{"payer": "member", "rest": True}])
    _enroll(w, w.unit_a, [w.chenba], "2025", period=period_2025,
            paid_on=datetime.date(2024, 12, 12))
    old = claim_file_event(member=w.chenba, data=EventInput(
        kind=ClaimKind.DIAGNOSIS, product_code=CRITICAL, event_date=datetime.date(2025, 6, 1),
        disease="ci25-03", files=[(DocumentKind.PATHOLOGY, "p.pdf", PDF + b"2025")]),
        actor=None, source=ClaimSource.AGENCY, as_of=datetime.date(2025, 6, 20))
    assert old.period_id == period_2025.pk and old.payable_fen == LUMP
    for reviewer in (w.wangwu, w.top_reviewer):
        old.refresh_from_db()
        if old.status == ClaimStatus.IN_REVIEW:
            claim_review(old, actor=reviewer, action="approve")
    old.refresh_from_db()
    assert old.status == ClaimStatus.APPROVED
    continued = claim_file_event(member=w.chenba, data=EventInput(
        kind=ClaimKind.CONTINUED, product_code=CRITICAL, event_date=datetime.date(2026, 6, 1),
        disease="ci25-03", files=[(DocumentKind.DIAGNOSIS, "d.pdf", PDF + b"ct")]),
        actor=None, source=ClaimSource.AGENCY, as_of=AS_OF)
    assert continued.payable_fen == 200_000  # the real assessment: 2025 paid him

    base = critical()
    s = simulate(base=base, period=w.period, document=base.document, org_path="").summary
    kinds = {k["kind"]: (k["claims"], k["before_fen"]) for k in s["kinds"]}
    assert kinds["continued"] == (1, 200_000)
    assert kinds["diagnosis"] == (2, LUMP)  # 张三's; 陈八's lump sum was spent in 2025
    assert s["before_fen"] == 2 * LUMP + 200_000 + 200_000 and s["change_fen"] == 0
    s = simulate(base=base, period=w.period, document=raised(base), org_path="").summary
    assert s["change_fen"] == 2 * 200_000  # 张三's diagnosis and 孙七's stay
    # the 2025 period replays its own claim, nothing carried from 2026
    s = simulate(base=base, period=period_2025, document=raised(base), org_path="").summary
    assert (s["claims"], s["before_fen"], s["change_fen"]) == (1, LUMP, 200_000)


def test_the_page_says_how_many_claims_of_each_kind_were_replayed(ci_world, client):
    w = ci_world
    base = critical()
    client.force_login(w.qianjiu)
    page = client.post(reverse("insights:simulator"), {
        "base": base.pk, "period": w.period.pk, "document": raised(base), "action": "run",
    }).content.decode()
    assert "回放 5 笔理赔" in page and "按理赔类型" in page
    assert "住院医疗 2 笔、确诊重大疾病/女职工特殊疾病 2 笔、配偶或子女患病 1 笔" in page
    assert "6,000.00" in page  # the change: 3 × 2,000 元
    # 南宁's finance sees its own city's claims only: 张三's and 陈八's
    client.force_login(w.fin_nanning)
    page = client.post(reverse("insights:simulator"), {
        "base": base.pk, "period": w.period.pk, "document": raised(base), "action": "run",
    }).content.decode()
    assert "回放 4 笔理赔" in page and "住院医疗 1 笔" in page and "柳州市总工会" not in page


def test_the_lump_sum_lever_writes_the_amount_and_refuses_bad_ones(ci_world):
    w = ci_world
    base = critical()
    draft = apply_levers(base.document, {"lumps": {"critical": {"0": "92,000"}}})
    assert 'amount = "92000.00"' in draft and 'amount = "2000.00"' in draft
    s = simulate(base=base, period=w.period, document=draft, org_path="").summary
    assert s["change_fen"] == 600_000
    with pytest.raises(DomainError, match="一次性给付额"):
        apply_levers(base.document, {"lumps": {"critical": {"0": "九万"}}})
    with pytest.raises(DomainError, match="没有第 2 项"):
        apply_levers(base.document, {"lumps": {"critical": {"1": "100"}}})
    assert apply_levers(base.document, {"lumps": {"critical": {"0": ""}}}) == base.document


def test_the_page_offers_the_lump_sums_as_levers(ci_world, client):
    w = ci_world
    base = critical()
    client.force_login(w.qianjiu)
    page = client.get(reverse("insights:simulator"),
                      {"base": base.pk, "period": w.period.pk}).content.decode()
    assert 'name="lump_critical_0" value="90000.00"' in page
    assert 'name="lump_family_0" value="2000.00"' in page
    page = client.post(reverse("insights:simulator"), {
        "base": base.pk, "period": w.period.pk, "document": base.document, "action": "run",
        "lump_critical_0": "92000.00", "lump_family_0": "2000.00",
    }).content.decode()
    assert "回放 5 笔理赔" in page and "6,000.00" in page
    assert 'amount = &quot;92000.00&quot;' in page  # the draft shown is the one replayed
