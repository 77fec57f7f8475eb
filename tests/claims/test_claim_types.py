"""Every claim type of the catalog, filed without a settlement and decided by the one road:
assessed by the rules engine from the product, screened, granted once, paid through the
payout batches (a death benefit to its beneficiary's card), each with its SMS and postings;
the pending-claims reserve posted on review and released on decision (ADR 0016)."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection

from huzhu.audit.models import Event
from huzhu.claims.events import EventInput, claim_file_event, diseases_of, kinds_of
from huzhu.claims.models import Claim, ClaimEvent, ClaimKind, ClaimSource, DocumentKind
from huzhu.claims.reserve import reserve_repair, reserve_total
from huzhu.claims.review import claim_review
from huzhu.claims.status import ClaimStatus
from huzhu.errors import Conflict, DomainError
from huzhu.ledger.models import Account, AccountKind, Transaction
from huzhu.notices.models import OutboxMessage
from huzhu.payouts.channels import FileDropChannel
from huzhu.payouts.models import Payout, PayoutLine, PayoutStatus
from huzhu.payouts.services import batch_approve, batch_build, batch_send, result_import
from huzhu.products.models import ProductVersion
from tests.conftest import ZHANGSAN_ID, bank_card, resident_id
from tests.enrollment.conftest import person, xlsx

from .conftest import ledger_clean
from .test_money import result_for

CRITICAL = "chongqing-2015-critical"
ACCIDENT = "chongqing-2015-accident"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
BENEFICIARY_ID = resident_id("450103", datetime.date(1990, 1, 1), 23)
BENEFICIARY_CARD = bank_card(6677)
SPOUSE_ID = resident_id("450103", datetime.date(1982, 3, 3), 2)


def _pdf(n: int) -> bytes:
    return PDF + f"% {n}\n".encode()


@pytest.fixture
def types_world(money_world):
    return enroll_event_products(money_world)


def enroll_event_products(w):
    """张三 also enrolled in 重庆 重大疾病 and 重庆 意外伤害 (2026), paid (also used by the
    browser tests)."""
    from huzhu.enrollment.billing import invoice_create, payment_record
    from huzhu.enrollment.services import roster_check, roster_confirm, roster_upload
    from huzhu.products.services import offer_create

    versions = {v.code: v for v in ProductVersion.objects.filter(code__in=[CRITICAL, ACCIDENT])}
    w.critical = offer_create(period=w.period, organisation=w.province,
                              product_version=versions[CRITICAL], premium_per_share_fen=3000,
                              split=[{"payer": "member", "rest": True}])
    w.accident = offer_create(period=w.period, organisation=w.province,
                              product_version=versions[ACCIDENT], premium_per_share_fen=2000,
                              split=[{"payer": "member", "rest": True}])
    rows = [person("张三", w.zhangsan.id_number, versions[CRITICAL].name, 手机号="13812341234"),
            person("张三", w.zhangsan.id_number, versions[ACCIDENT].name, 手机号="13812341234")]
    roster, _ = roster_upload(unit=w.unit_a, period=w.period, file_name="r2.xlsx",
                              data=xlsx(rows), actor=w.lisi)
    roster_check(roster)
    roster_confirm(roster=roster, actor=w.lisi)
    invoice = invoice_create(unit=w.unit_a, period=w.period, actor=w.lisi)
    payment_record(invoice=invoice, bank_ref="B2", amount_fen=invoice.due_fen,
                   paid_on=datetime.date(2025, 12, 11), payer_name="南宁示范机械厂",
                   actor=w.wangwu)
    return w


def file(w, kind, product, day="2026-05-10", actor=None, source=ClaimSource.AGENT,
         member=None, as_of=datetime.date(2026, 5, 20), **kw):
    doc = {ClaimKind.DIAGNOSIS: DocumentKind.PATHOLOGY, ClaimKind.CONTINUED: DocumentKind.DIAGNOSIS,
           ClaimKind.DISABILITY: DocumentKind.APPRAISAL, ClaimKind.DEATH: DocumentKind.DEATH,
           ClaimKind.FAMILY: DocumentKind.PATHOLOGY}[kind]
    files = kw.pop("files", [(doc, "papers.pdf", _pdf(hash((kind, day)) % 1000))])
    return claim_file_event(member=member or w.zhangsan, data=EventInput(
        kind=kind, product_code=product, event_date=datetime.date.fromisoformat(day),
        files=files, **kw), actor=actor or w.lisi, source=source, as_of=as_of)


def pay(w, tmp_path):
    """Build, check, send a batch of everything payable and import an all-paid result."""
    batch = batch_build(fund_region=w.province, actor=w.qianjiu).batch
    batch = batch_approve(batch=batch, actor=w.checker)
    batch = batch_send(batch=batch, actor=w.qianjiu, channel=FileDropChannel(tmp_path))
    content = (tmp_path / f"{batch.number}.csv").read_bytes() if (
        tmp_path / f"{batch.number}.csv").exists() else None
    result_import(batch=batch, data=result_for(batch, {}), file_name=f"{batch.number}.csv",
                  actor=w.qianjiu)
    return batch, content


def sms_of(claim):
    """The claim's SMS, in order (keys ``claim-…:<claim>`` and ``claim-…:<claim>:…``)."""
    return [m for m in OutboxMessage.objects.filter(key__startswith="claim-").order_by("id")
            if m.key.split(":")[1] == str(claim.pk)]


def templates(claim):
    return [m.template for m in sms_of(claim)]


def posted(claim) -> int:
    return Transaction.objects.filter(source_type="claims.claim", source_id=str(claim.pk)).count()


def test_the_catalog_products_offer_their_kinds(types_world):
    w = types_world
    critical = ProductVersion.objects.get(code=CRITICAL)
    accident = ProductVersion.objects.get(code=ACCIDENT)
    assert kinds_of(critical) == [ClaimKind.DIAGNOSIS, ClaimKind.CONTINUED, ClaimKind.FAMILY]
    assert kinds_of(accident) == [ClaimKind.DISABILITY, ClaimKind.DEATH]
    names = diseases_of(critical, ClaimKind.DIAGNOSIS)
    assert names["ci25-01"] == "恶性肿瘤" and len(names) == 25
    assert w.zhangsan.bank_card


def test_a_critical_illness_is_paid_from_filing_to_the_bank_result(types_world, tmp_path):
    w = types_world
    claim = file(w, ClaimKind.DIAGNOSIS, CRITICAL, disease="ci25-01")
    assert claim.settlement_id is None and claim.kind == ClaimKind.DIAGNOSIS
    # 90,000.00 is over the 20,000.00 review threshold: it waits in review, held in reserve.
    assert claim.status == ClaimStatus.IN_REVIEW and claim.payable_fen == 9_000_000
    assert reserve_total(w.province) == 9_000_000
    assert ClaimEvent.objects.get(claim=claim).disease_name == "恶性肿瘤"
    assert claim.documents.get().kind == DocumentKind.PATHOLOGY
    claim_review(claim, actor=w.wangwu, action="approve")
    claim.refresh_from_db()
    if claim.status == ClaimStatus.IN_REVIEW:  # a second level decides this much
        claim_review(claim, actor=w.top_reviewer, action="approve")
        claim.refresh_from_db()
    assert claim.status == ClaimStatus.APPROVED
    assert reserve_total(w.province) == 0  # released on approval
    batch, _ = pay(w, tmp_path)
    line = PayoutLine.objects.get(payout__claim=claim)
    assert line.account_no == w.zhangsan.bank_card and line.account_name == "张三"
    assert Payout.objects.get(claim=claim).status == PayoutStatus.PAID
    assert templates(claim)[:1] == ["CLAIM_EVENT_SUBMITTED"]
    assert "CLAIM_EVENT_APPROVED" in templates(claim) and "CLAIM_PAID" in templates(claim)
    text = OutboxMessage.objects.get(key=f"claim-submitted:{claim.pk}")
    assert "重大疾病" in text.params["what"]
    actions = set(Event.objects.filter(object_type="claims.claim", object_id=str(claim.pk))
                  .values_list("action", flat=True))
    assert {"claim.filed", "claim.level", "claim.transition", "claim.document"} <= actions
    assert posted(claim) == 1
    assert ledger_clean() == []


def test_each_claim_type_is_assessed_from_the_product(types_world, tmp_path):
    w = types_world
    dis = file(w, ClaimKind.DISABILITY, ACCIDENT, disability_grade=3)
    assert dis.payable_fen == 800_000  # grade 3: 80 % of 10,000.00
    assert dis.status == ClaimStatus.APPROVED
    fam = file(w, ClaimKind.FAMILY, CRITICAL, relation="spouse", person_name="李红",
               person_id_number=SPOUSE_ID, disease="ci25-02")
    assert fam.payable_fen == 200_000 and fam.status == ClaimStatus.APPROVED
    assert ClaimEvent.objects.get(claim=fam).subject == "spouse"
    # Continued treatment needs a critical illness paid before: nothing is due yet.
    cont = file(w, ClaimKind.CONTINUED, CRITICAL, disease="ci25-01")
    assert cont.payable_fen == 0 and cont.status == ClaimStatus.REJECTED
    assert templates(cont)[-1] == "CLAIM_REJECTED"
    pay(w, tmp_path)
    for c in (dis, fam):
        assert Payout.objects.get(claim=c).status == PayoutStatus.PAID
        assert PayoutLine.objects.get(payout__claim=c).account_name == "张三"
        assert "CLAIM_PAID" in templates(c) and "CLAIM_EVENT_APPROVED" in templates(c)
        assert posted(c) == 1
    assert OutboxMessage.objects.get(key=f"claim-approved:{fam.pk}").params["what"] == "配偶患病救助"
    assert ledger_clean() == []


def test_a_death_benefit_is_paid_to_the_beneficiarys_card(types_world, tmp_path):
    w = types_world
    claim = file(w, ClaimKind.DEATH, ACCIDENT, relation="spouse", person_name="李红",
                 person_id_number=BENEFICIARY_ID, person_phone="13700001111",
                 payee_card=BENEFICIARY_CARD, payee_bank="中国农业银行南宁分行")
    assert claim.payable_fen == 1_000_000 and claim.status == ClaimStatus.APPROVED
    ev = ClaimEvent.objects.get(claim=claim)
    assert ev.payee_card == BENEFICIARY_CARD and ev.pays_person
    with connection.cursor() as cursor:
        cursor.execute("SELECT payee_card, person_id_number FROM claims_claimevent"
                       " WHERE id = %s", [ev.pk])
        card_raw, id_raw = cursor.fetchone()
    assert BENEFICIARY_CARD.encode() not in bytes(card_raw)  # encrypted at rest
    assert BENEFICIARY_ID.encode() not in bytes(id_raw)
    pay(w, tmp_path)
    line = PayoutLine.objects.get(payout__claim=claim)
    assert line.account_no == BENEFICIARY_CARD != w.zhangsan.bank_card
    # The beneficiary's 开户行 is the bank-list entry it names, its 联行号 on the line.
    assert line.account_name == "李红" and line.bank_name == "中国农业银行"
    assert line.bank_cnaps == "103100000026"
    sms = sms_of(claim)
    assert [m.template for m in sms] == ["CLAIM_DEATH_SUBMITTED", "CLAIM_DEATH_APPROVED",
                                         "CLAIM_DEATH_PAID"]
    assert all(m.phone == "13700001111" for m in sms)
    assert sms[2].params["card"] == BENEFICIARY_CARD[-4:] and sms[2].params["payee"] == "李红"
    # One death per member.
    with pytest.raises(Conflict, match=f"该事项已有理赔（理赔编号 {claim.pk}"):
        file(w, ClaimKind.DEATH, ACCIDENT, day="2026-05-11", relation="spouse",
             person_name="李红", person_id_number=BENEFICIARY_ID, person_phone="13700001111",
             payee_card=BENEFICIARY_CARD, payee_bank="农行")
    assert ledger_clean() == []
    # Erasing the member erases the beneficiary's data kept with the claim.
    from huzhu.privacy.anonymise import members_anonymise

    assert members_anonymise(member_ids=[w.zhangsan.pk], actor=None) == 1
    ev.refresh_from_db()
    assert (ev.person_name, ev.person_id_number, ev.payee_card, ev.person_phone) == (
        "", None, None, None)


@pytest.mark.parametrize("kind,product,kw,field", [
    (ClaimKind.DIAGNOSIS, CRITICAL, {"disease": "nope"}, "disease"),
    (ClaimKind.DIAGNOSIS, CRITICAL, {"disease": ""}, "disease"),
    (ClaimKind.DISABILITY, ACCIDENT, {"disability_grade": 11}, "disability_grade"),
    (ClaimKind.FAMILY, CRITICAL, {"relation": "parent", "disease": "ci25-01"}, "relation"),
    (ClaimKind.DEATH, ACCIDENT, {"relation": "spouse", "person_name": "李红",
                                 "person_id_number": "123", "payee_card": BENEFICIARY_CARD,
                                 "payee_bank": "农行", "person_phone": "13700001111"},
     "person_id_number"),
    (ClaimKind.DEATH, ACCIDENT, {"relation": "spouse", "person_name": "李红",
                                 "person_id_number": BENEFICIARY_ID, "payee_card": "12",
                                 "payee_bank": "农行", "person_phone": "13700001111"},
     "payee_card"),
    (ClaimKind.DEATH, CRITICAL, {}, "kind"),
    (ClaimKind.FAMILY, CRITICAL, {"relation": "spouse", "person_name": "张三",
                                  "person_id_number": ZHANGSAN_ID, "disease": "ci25-01"},
     "person_id_number"),
    (ClaimKind.DIAGNOSIS, CRITICAL, {"disease": "ci25-01", "files": []}, "files"),
])
def test_bad_input_is_named_by_field_and_changes_nothing(types_world, kind, product, kw, field):
    w = types_world
    before = (Claim.objects.count(), Transaction.objects.count(), OutboxMessage.objects.count())
    with pytest.raises(DomainError) as exc:
        file(w, kind, product, **kw)
    assert field in exc.value.field_errors
    assert all("\u4e00" <= ch <= "\u9fff" for ch in exc.value.message[:1]) or exc.value.message
    assert (Claim.objects.count(), Transaction.objects.count(),
            OutboxMessage.objects.count()) == before


def test_the_reserve_is_released_on_refusal_and_repair_never_doubles(types_world):
    from huzhu import clock
    from huzhu.claims.verify import claims_problems
    from huzhu.ledger.statement import fund_statement

    w = types_world
    claim = file(w, ClaimKind.DIAGNOSIS, CRITICAL, disease="ci25-03")
    assert claim.status == ClaimStatus.IN_REVIEW
    today = clock.today()
    st = fund_statement(org=w.province, start=today, end=today)
    assert st.reserve_closing_fen == 9_000_000 and st.figures.reserve_change_fen == 9_000_000
    assert st.reconciles
    assert not [p for p in claims_problems() if "未决" in p]
    reserve = Account.objects.get(fund_region=w.province, kind=AccountKind.PENDING_RESERVE)
    change = Account.objects.get(fund_region=w.province, kind=AccountKind.RESERVE_CHANGE,
                                 product_code=CRITICAL)
    assert reserve_total(w.province) == 9_000_000
    assert reserve_repair() == 0  # right already: nothing posted
    n = Transaction.objects.count()
    claim_review(claim, actor=w.wangwu, action="reject", reason_code="FALSE_DOCUMENTS")
    assert reserve_total(w.province) == 0
    assert Transaction.objects.count() == n + 1
    assert sum(change.legs.values_list("amount_fen", flat=True)) == 0
    assert sum(reserve.legs.values_list("amount_fen", flat=True)) == 0
    assert reserve_repair() == 0 and Transaction.objects.count() == n + 1
    assert ledger_clean() == []


def _enroll(w, period, code, member, name, bank_ref):
    """``member`` enrolled in ``code`` for ``period`` through a roster, invoiced and paid."""
    from huzhu.enrollment.billing import invoice_create, payment_record
    from huzhu.enrollment.services import roster_check, roster_confirm, roster_upload
    from huzhu.products.services import offer_create

    version = ProductVersion.objects.get(code=code)
    offer_create(period=period, organisation=w.province, product_version=version,
                 premium_per_share_fen=1500, split=[{"payer": "member", "rest": True}])
    rows = [person(name, member.id_number, version.name, 手机号="13912345678")]
    roster, _ = roster_upload(unit=w.unit_a, period=period, file_name=f"{bank_ref}.xlsx",
                              data=xlsx(rows), actor=w.lisi)
    roster_check(roster)
    roster_confirm(roster=roster, actor=w.lisi)
    invoice = invoice_create(unit=w.unit_a, period=period, actor=w.lisi)
    payment_record(invoice=invoice, bank_ref=bank_ref, amount_fen=invoice.due_fen,
                   paid_on=datetime.date(2025, 12, 12), payer_name="南宁示范机械厂",
                   actor=w.wangwu)


def test_a_womens_special_disease_is_paid_to_the_member(types_world, tmp_path):
    from huzhu.members.models import Member

    w = types_world
    card = bank_card(8899)
    Member.objects.filter(pk=w.chenba.pk).update(bank_card=card, bank_name="中国银行南宁分行")
    _enroll(w, w.period, "ningbo-2022-women", w.chenba, "陈八", "B3")
    version = ProductVersion.objects.get(code="ningbo-2022-women")
    assert kinds_of(version) == [ClaimKind.DIAGNOSIS]  # no continued treatment of its own
    diseases = diseases_of(version, ClaimKind.DIAGNOSIS)
    code = next(iter(diseases))
    claim = file(w, ClaimKind.DIAGNOSIS, "ningbo-2022-women", member=w.chenba, disease=code)
    assert claim.payable_fen == 1_000_000 and claim.status == ClaimStatus.APPROVED
    assert ClaimEvent.objects.get(claim=claim).disease_name == diseases[code]
    pay(w, tmp_path)
    line = PayoutLine.objects.get(payout__claim=claim)
    assert line.account_no == card and line.account_name == "陈八"
    assert templates(claim) == ["CLAIM_EVENT_SUBMITTED", "CLAIM_EVENT_APPROVED", "CLAIM_PAID"]
    assert all(m.phone == "13912345678" for m in sms_of(claim))
    assert posted(claim) == 1
    assert Event.objects.filter(action="claim.filed", object_id=str(claim.pk)).exists()
    # 张三 is a man: the women's product is not his to claim.
    with pytest.raises(DomainError) as exc:
        file(w, ClaimKind.DIAGNOSIS, "ningbo-2022-women", disease=code)
    assert "product" in exc.value.field_errors
    assert ledger_clean() == []


def test_continued_treatment_is_paid_the_year_after_a_critical_illness(types_world, tmp_path):
    from huzhu.products.models import Period

    w = types_world
    first = file(w, ClaimKind.DIAGNOSIS, CRITICAL, disease="ci25-01")
    claim_review(first, actor=w.wangwu, action="approve")
    first.refresh_from_db()
    if first.status == ClaimStatus.IN_REVIEW:
        claim_review(first, actor=w.top_reviewer, action="approve")
    period = Period.objects.create(
        fund_region=w.province, code="2027", name="2027 年度",
        enroll_opens=datetime.date(2026, 11, 1), enroll_closes=datetime.date(2026, 12, 31),
        coverage_start=datetime.date(2027, 1, 1), coverage_end=datetime.date(2027, 12, 31))
    _enroll(w, period, CRITICAL, w.zhangsan, "张三", "B4")
    cont = file(w, ClaimKind.CONTINUED, CRITICAL, day="2027-03-01", disease="ci25-01",
                as_of=datetime.date(2027, 3, 10))
    assert cont.payable_fen == 200_000 and cont.status == ClaimStatus.APPROVED
    assert cont.period_id == period.pk
    pay(w, tmp_path)
    assert Payout.objects.get(claim=cont).status == PayoutStatus.PAID
    assert PayoutLine.objects.get(payout__claim=cont).account_no == w.zhangsan.bank_card
    assert templates(cont) == ["CLAIM_EVENT_SUBMITTED", "CLAIM_EVENT_APPROVED", "CLAIM_PAID"]
    assert OutboxMessage.objects.get(key=f"claim-approved:{cont.pk}").params["what"] == "次年继续治疗"
    assert posted(cont) == 1
    assert ledger_clean() == []


def test_the_reserve_stays_while_returned_and_is_released_on_withdrawal(types_world):
    from huzhu.claims.status import claim_transition
    from huzhu.claims.verify import claims_problems

    w = types_world
    claim = file(w, ClaimKind.DIAGNOSIS, CRITICAL, disease="ci25-05")
    claim_review(claim, actor=w.wangwu, action="return", note="请补充病理报告原件")
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.RETURNED
    assert reserve_total(w.province) == 9_000_000  # still pending
    claim_transition(claim, ClaimStatus.WITHDRAWN, actor=w.lisi, reason="会员撤回")
    assert reserve_total(w.province) == 0
    # A payable changed in review without a move (as a reassessment leaves it) is named by
    # verify and repaired by the difference, once.
    other = file(w, ClaimKind.DIAGNOSIS, CRITICAL, day="2026-05-12", disease="ci25-06")
    assert reserve_total(w.province) == 9_000_000
    Claim.objects.filter(pk=other.pk).update(payable_fen=5_000_000)
    assert [p for p in claims_problems() if "未决" in p]
    assert reserve_repair() == 1 and reserve_total(w.province) == 5_000_000
    assert reserve_repair() == 0 and reserve_total(w.province) == 5_000_000
    assert not [p for p in claims_problems() if "未决" in p]
    assert ledger_clean() == []


def _form(kind_value, **extra):
    return {"what": kind_value, "event_date": "2026-05-10", "disease": "", "relation": "",
            "person_name": "", "person_id_number": "", "person_phone": "", "payee_card": "",
            "payee_bank": "", "disability_grade": "", **extra}


def test_a_member_and_a_county_agency_point_file_from_the_page(types_world, client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from huzhu.accounts.models import User
    from huzhu.accounts.roles import Role
    from tests.conftest import PASSWORD

    w = types_world
    z = w.zhangsan.pk
    client.force_login(w.zhangsan_user)
    page = client.get(f"/claims/file/{z}/event/").content.decode()
    assert "重庆 在职职工意外伤害互助保障（2015） · 意外伤残" in page and "恶性肿瘤" in page
    bad = client.post(f"/claims/file/{z}/event/", _form(
        f"{ACCIDENT}|disability", disability_grade="3"))
    assert "请上传伤残鉴定书" in bad.content.decode() and Claim.objects.count() == 0
    r = client.post(f"/claims/file/{z}/event/", _form(
        f"{ACCIDENT}|disability", disability_grade="3",
        files=SimpleUploadedFile("appraisal.pdf", _pdf(1), content_type="application/pdf")))
    claim = Claim.objects.get()
    assert r.status_code == 302 and r["Location"].endswith(f"/claims/{claim.pk}/")
    assert claim.source == ClaimSource.MEMBER and claim.payable_fen == 800_000
    detail = client.get(f"/claims/{claim.pk}/").content.decode()
    assert "意外伤残" in detail and "3 级" in detail
    assert "意外伤残 2026-05-10" in client.get("/claims/mine/").content.decode()
    clerk = User.objects.create_user(username="daiban", password=PASSWORD,
                                     role=Role.COUNTY_STAFF, organisation=w.county_a,
                                     display_name="代办点")
    client.force_login(clerk)
    r = client.post(f"/claims/file/{z}/event/", _form(
        f"{CRITICAL}|family", relation="child", person_name="张小", disease="ci25-01",
        person_id_number=resident_id("450103", datetime.date(2010, 6, 1), 15),
        files=SimpleUploadedFile("path.pdf", _pdf(2), content_type="application/pdf")))
    assert r.status_code == 302
    fam = Claim.objects.exclude(pk=claim.pk).get()
    assert fam.source == ClaimSource.AGENCY and fam.kind == ClaimKind.FAMILY
    assert fam.payable_fen == 200_000
    assert ClaimEvent.objects.get(claim=fam).subject == "child"
