"""Claims from papers (经办录入, issue 15 parts 3 and 7): an agent keys the settlement slip
with its photo, a second person at the county keys the amounts again blind; equal entries
become a settlement and a claim on the one road, different ones are held and never assessed.
The bureau's record of the same stay, arriving later, confirms the claim or corrects it
through the correction road; one stay is never paid twice."""

from __future__ import annotations

import datetime

import pytest

from huzhu.audit.models import Event
from huzhu.claims.corrections import correction_decide, corrections_pending
from huzhu.claims.ingest import settlement_ingest
from huzhu.claims.keyed import KeyedInput, keyed_check, keyed_file
from huzhu.claims.models import (
    Assessment,
    Claim,
    ClaimDocument,
    KeyedStatus,
    KeyedStay,
    Recovery,
)
from huzhu.errors import DomainError, NotAllowed
from huzhu.settlements.models import Settlement

from .bureau_samples import envelope_2304
from .conftest import MEDICAL, record

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01" + b"\x00" * 200 + b"\xff\xd9"
AS_OF = datetime.date(2026, 4, 1)
BEGIN, END = datetime.date(2026, 3, 1), datetime.date(2026, 3, 10)

# The slip of record("B1", …) in yuan, as an agent types it.
SLIP = {"medfee_sumamt": "12000.00", "fulamt_ownpay_amt": "1000", "overlmt_selfpay": "500",
        "preselfpay_amt": "500", "inscp_scp_amt": "10000", "hifp_pay": "7000.00",
        "fund_pay_sumamt": "7000", "psn_part_amt": "5000", "acct_pay": "",
        "psn_cash_pay": "5000"}


def slip(**changes):
    return {**SLIP, **changes}


def data(**changes):
    base = dict(product_code=MEDICAL, hospital_name="上海交通大学医学院附属瑞金医院",
                begndate=BEGIN, enddate=END, amounts=slip(), out_of_region=True,
                place="上海市黄浦区", diag_name="急性阑尾炎",
                files=[("settlement", "结算单.jpg", JPEG)])
    base.update(changes)
    return KeyedInput(**base)


@pytest.fixture
def w(money_world):
    return money_world


def key(w, **changes):
    return keyed_file(member=w.zhangsan, data=data(**changes), actor=w.lisi, as_of=AS_OF)


def actions():
    return list(Event.objects.filter(action__startswith="claim.keyed")
                .order_by("seq").values_list("action", flat=True))


def test_keyed_then_checked_equal_is_assessed_on_the_one_road(w):
    k = key(w)
    assert k.status == KeyedStatus.AWAITING and not Claim.objects.exists()
    assert not Settlement.objects.exists()  # nothing counts before the second person
    doc = ClaimDocument.objects.get()
    assert doc.keyed_id == k.pk and doc.claim_id is None
    k = keyed_check(keyed=k, amounts=slip(medfee_sumamt="12,000"), actor=w.wangwu, as_of=AS_OF)
    assert k.status == KeyedStatus.ACCEPTED and k.checked_by == w.wangwu
    claim = Claim.objects.get()
    assert claim.pk == k.claim_id and claim.source == "agent" and claim.created_by == w.lisi
    assert claim.status == "approved" and claim.payable_fen == 140_000
    s = claim.settlement
    assert s.source == "agent" and s.setl_id.startswith("JBLR") and s.member == w.zhangsan
    assert s.medfee_sumamt_fen == 1_200_000 and s.hifp_pay_fen == 700_000
    assert claim.payouts.count() == 1
    assert ClaimDocument.objects.get().claim_id == claim.pk
    assert actions() == ["claim.keyed", "claim.keyed_checked"]


def test_checked_different_is_held_and_never_assessed(w):
    k = key(w)
    k = keyed_check(keyed=k, amounts=slip(hifp_pay="700", fund_pay_sumamt="700",
                                          psn_part_amt="11300", psn_cash_pay="11300"),
                    actor=w.wangwu, as_of=AS_OF)
    assert k.status == KeyedStatus.HELD
    assert not Claim.objects.exists() and not Assessment.objects.exists()
    assert not Settlement.objects.exists()
    ev = Event.objects.get(action="claim.keyed_mismatch")
    assert ev.after["fields_zh"] == ["统筹基金支付", "基金支付总额", "个人负担总金额", "个人现金支付"]
    # the same reviewer keying their own figures again does not make two people agree
    k = keyed_check(keyed=k, amounts=slip(hifp_pay="700", fund_pay_sumamt="700",
                                          psn_part_amt="11300", psn_cash_pay="11300"),
                    actor=w.wangwu, as_of=AS_OF)
    assert k.status == KeyedStatus.HELD and not Claim.objects.exists()
    # resolved: the reviewer, looking at the photo again, agrees with the first entry
    k = keyed_check(keyed=k, amounts=slip(), actor=w.wangwu, as_of=AS_OF)
    assert k.status == KeyedStatus.ACCEPTED and len(k.entries) == 4
    assert Claim.objects.get().payable_fen == 140_000


def test_the_person_who_keyed_cannot_check(w):
    from huzhu.accounts.models import User
    from huzhu.accounts.roles import Role

    clerk = User.objects.create_user(username="daiban", password="x", role=Role.COUNTY_STAFF,
                                     organisation=w.county_a, display_name="代办点")
    k = keyed_file(member=w.zhangsan, data=data(), actor=clerk, as_of=AS_OF)
    with pytest.raises(NotAllowed) as exc:
        keyed_check(keyed=k, amounts=slip(), actor=clerk, as_of=AS_OF)
    assert "不能复核自己的录入" in exc.value.message
    k.refresh_from_db()
    assert k.status == KeyedStatus.AWAITING and len(k.entries) == 1
    assert not Claim.objects.exists()
    k = keyed_check(keyed=k, amounts=slip(), actor=w.wangwu, as_of=AS_OF)
    assert Claim.objects.get().source == "agency"


def bureau(w, **amounts):
    rec = record("B1", w.zhangsan.id_number, begin="2026-03-01", end="2026-03-10",
                 setl_time="2026-03-10 09:00:00", **amounts)
    return settlement_ingest(record=envelope_2304(rec), actor=w.bureau, as_of=AS_OF).settlement


def accepted(w):
    k = key(w)
    return keyed_check(keyed=k, amounts=slip(), actor=w.wangwu, as_of=AS_OF)


def pay_everything(w, tmp_path):
    """The payout batch built, approved, sent and answered by the bank: every line paid."""
    from huzhu.payouts.services import result_import
    from tests.payouts.test_bankfile import lines_of, raw, row, sent_batch

    batch = sent_batch(w, tmp_path, 1)
    result_import(batch=batch, data=raw([row(ln) for ln in lines_of(batch)]), file_name="r.csv",
                  actor=w.qianjiu)


def test_bureau_record_later_with_equal_amounts_confirms_and_pays_nothing_more(w, tmp_path):
    from huzhu.payouts.shown import ClaimState, claim_state

    k = accepted(w)
    claim = Claim.objects.get()
    pay_everything(w, tmp_path)
    assert claim_state(claim) == ClaimState.PAID
    payouts = list(claim.payouts.values_list("pk", "amount_fen"))
    b = bureau(w)
    claim.refresh_from_db()
    k.refresh_from_db()
    assert Claim.objects.count() == 1  # the bureau's record took the claim over
    assert claim.settlement_id == b.pk and claim.setl_id == "B1"
    assert claim.payable_fen == 140_000
    assert k.status == KeyedStatus.CONFIRMED and k.bureau_settlement == b
    assert k.differences == []
    assert not corrections_pending(Claim.objects.all()).exists()
    assert list(claim.payouts.values_list("pk", "amount_fen")) == payouts
    assert claim_state(claim) == ClaimState.PAID
    assert actions()[-1] == "claim.keyed_confirmed"
    # the same record again changes nothing either
    bureau(w)
    assert Claim.objects.count() == 1 and claim.payouts.count() == 1
    assert not corrections_pending(Claim.objects.all()).exists()


def test_bureau_record_later_with_a_bigger_cost_tops_up_the_difference_only(w):
    accepted(w)
    claim = Claim.objects.get()
    bureau(w, inscp=1_200_000, hifp=800_000)  # more paid by the fund: a higher cap
    claim.refresh_from_db()
    k = KeyedStay.objects.get()
    assert k.status == KeyedStatus.CORRECTED
    assert {d["field"] for d in k.differences} >= {"medfee_sumamt", "inscp_scp_amt"}
    a = corrections_pending(Claim.objects.all()).get()
    assert a.correction_was_fen == 140_000 and a.payable_fen == 160_000
    assert Claim.objects.count() == 1 and claim.payable_fen == 140_000
    correction_decide(claim=claim, assessment=a, actor=w.wangwu, kind="top_up")
    top = claim.payouts.get(kind="top_up")
    assert top.amount_fen == a.payable_fen - 140_000
    assert claim.payouts.count() == 2
    assert actions()[-1] == "claim.keyed_contradicted"


def test_bureau_record_later_with_a_smaller_cost_goes_to_recovery(w):
    accepted(w)
    claim = Claim.objects.get()
    bureau(w, inscp=800_000, hifp=560_000)
    a = corrections_pending(Claim.objects.all()).get()
    assert a.payable_fen < 140_000
    correction_decide(claim=claim, assessment=a, actor=w.wangwu, kind="recovery")
    assert Recovery.objects.get().amount_fen == 140_000 - a.payable_fen
    assert claim.payouts.count() == 1
    assert KeyedStay.objects.get().status == KeyedStatus.CORRECTED


def test_another_regions_bureau_record_does_not_attach(w):
    accepted(w)
    rec = record("X1", w.zhangsan.id_number, begin="2026-03-01", end="2026-03-10",
                 inscp=800_000, hifp=560_000)
    settlement_ingest(record=envelope_2304(rec), actor=w.bureau_b, as_of=AS_OF)
    claim = Claim.objects.get()
    assert claim.setl_id.startswith("JBLR") and claim.payable_fen == 140_000
    assert KeyedStay.objects.get().status == KeyedStatus.ACCEPTED
    assert not corrections_pending(Claim.objects.all()).exists()


def test_another_regions_clerk_cannot_key_or_check(w):
    with pytest.raises(NotAllowed):
        keyed_file(member=w.zhangsan, data=data(), actor=w.clerk_b, as_of=AS_OF)
    k = key(w)
    with pytest.raises(NotAllowed):
        keyed_check(keyed=k, amounts=slip(), actor=w.clerk_b, as_of=AS_OF)
    assert KeyedStay.objects.get().status == KeyedStatus.AWAITING


@pytest.mark.parametrize("changes, field, words", [
    ({"amounts": slip(hifp_pay="-1")}, "hifp_pay", "统筹基金支付不能为负数"),
    ({"amounts": slip(hifp_pay="13000")}, "hifp_pay", "统筹基金支付 13,000.00 元大于医疗费总额"),
    ({"enddate": datetime.date(2026, 2, 20)}, "enddate", "出院日期 2026-02-20 早于入院日期"),
    ({"amounts": slip(medfee_sumamt="")}, "medfee_sumamt", "医疗费总额必填"),
    ({"amounts": slip(inscp_scp_amt="abc")}, "inscp_scp_amt", "符合政策范围金额应为金额"),
    ({"amounts": slip(psn_part_amt="4000")}, "medfee_sumamt", "基金支付总额 + 个人负担总金额"),
    ({"place": ""}, "place", "就医地"),
    ({"files": []}, "files", "结算单的照片"),
])
def test_bad_input_is_refused_naming_the_field_and_nothing_is_kept(w, changes, field, words):
    with pytest.raises(DomainError) as exc:
        key(w, **changes)
    assert field in exc.value.field_errors
    assert words in exc.value.message, exc.value.message
    assert not KeyedStay.objects.exists() and not ClaimDocument.objects.exists()
    assert not Event.objects.filter(action="claim.keyed").exists()


# --------------------------------------------------------------------------- pages


def form_post(**changes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    post = {"product": MEDICAL, "hospital_name": "上海交通大学医学院附属瑞金医院",
            "begndate": "2026-03-01", "enddate": "2026-03-10", "out_of_region": "on",
            "place": "上海市黄浦区", "diag_name": "急性阑尾炎", **slip(),
            "slip": [SimpleUploadedFile("结算单.jpg", JPEG)]}
    post.update(changes)
    return post


def test_pages_agent_keys_reviewer_checks_blind_and_the_claim_is_filed(w, client):
    from django.urls import reverse

    client.force_login(w.lisi)
    page = client.get(reverse("claims:file_member", args=[w.zhangsan.pk])).content.decode()
    assert reverse("claims:file_keyed", args=[w.zhangsan.pk]) in page
    r = client.post(reverse("claims:file_keyed", args=[w.zhangsan.pk]), form_post())
    k = KeyedStay.objects.get()
    assert r.status_code == 302 and r.url == reverse("claims:keyed_detail", args=[k.pk])
    assert k.amounts == {} and k.entries[0]["amounts"]["medfee_sumamt"] == 1_200_000
    assert ClaimDocument.objects.get(keyed=k).kind == "settlement"
    home = client.get(reverse("web:home")).content.decode()
    assert "结算单待复核" not in home  # the keyer's own entry is not theirs to check
    client.force_login(w.wangwu)
    assert "1 笔经办录入的结算单待复核" in client.get(reverse("web:home")).content.decode()
    listing = client.get(reverse("claims:keyed_list")).content.decode()
    assert "待您复核" in listing
    page = client.get(reverse("claims:keyed_detail", args=[k.pk])).content.decode()
    assert "keyed-check-form" in page and "keyed-entries" not in page
    assert "12,000.00" not in page and "12000" not in page  # the first entry is never shown
    doc = ClaimDocument.objects.get()
    got = client.get(reverse("claims:keyed_document", args=[k.pk, doc.pk]))
    assert got.content == JPEG
    r = client.post(reverse("claims:keyed_detail", args=[k.pk]), slip())
    claim = Claim.objects.get()
    assert r.url == reverse("claims:detail", args=[claim.pk])
    detail = client.get(r.url).content.decode()
    assert "结算单.jpg" in detail and 'id="keyed-card"' in detail and "上海市黄浦区" in detail
    assert claim.documents.count() == 1


def test_pages_a_held_entry_shows_both_entries_to_the_reviewer(w, client):
    from django.urls import reverse

    k = key(w)
    client.force_login(w.wangwu)
    r = client.post(reverse("claims:keyed_detail", args=[k.pk]),
                    slip(medfee_sumamt="12100", fulamt_ownpay_amt="1100", psn_part_amt="5100",
                         psn_cash_pay="5100"), follow=True)
    page = r.content.decode()
    assert "两次录入的金额不一致" in page and "keyed-entries" in page
    assert page.count('data-differs="1"') == 4
    assert "12,100.00" in page and "12,000.00" in page
    assert not Claim.objects.exists()


def test_pages_refuse_bad_input_in_chinese_naming_the_field(w, client):
    from django.urls import reverse

    client.force_login(w.lisi)
    page = client.post(reverse("claims:file_keyed", args=[w.zhangsan.pk]),
                       form_post(hifp_pay="13000")).content.decode()
    assert 'data-field="hifp_pay"' in page and "统筹基金支付 13,000.00 元大于医疗费总额" in page
    page = client.post(reverse("claims:file_keyed", args=[w.zhangsan.pk]),
                       form_post(enddate="2026-02-01")).content.decode()
    assert 'data-field="enddate"' in page and "早于入院日期" in page
    assert not KeyedStay.objects.exists() and not ClaimDocument.objects.exists()


def test_pages_another_regions_clerk_gets_404_and_nothing_changes(w, client):
    from django.urls import reverse

    k = key(w)
    doc = ClaimDocument.objects.get()
    client.force_login(w.clerk_b)
    assert client.get(reverse("claims:file_keyed", args=[w.zhangsan.pk])).status_code == 404
    assert client.post(reverse("claims:file_keyed", args=[w.zhangsan.pk]),
                       form_post()).status_code == 404
    assert client.get(reverse("claims:keyed_detail", args=[k.pk])).status_code == 404
    assert client.post(reverse("claims:keyed_detail", args=[k.pk]), slip()).status_code == 404
    assert client.get(reverse("claims:keyed_document", args=[k.pk, doc.pk])).status_code == 404
    assert KeyedStay.objects.count() == 1 and not Claim.objects.exists()
    k.refresh_from_db()
    assert len(k.entries) == 1
    # a member cannot key (files on the bureau's records, or sends the papers to the agent)
    client.force_login(w.zhangsan_user)
    assert client.get(reverse("claims:file_keyed", args=[w.zhangsan.pk])).status_code == 404


def test_the_bureaus_record_first_means_no_keying_and_one_stay_is_keyed_once(w):
    from huzhu.errors import Conflict

    k = key(w)
    with pytest.raises(Conflict) as exc:
        key(w)  # the same stay keyed twice
    assert f"录入编号 {k.pk}" in exc.value.message
    bureau(w)  # arrives before the second person checked: the bureau's record is the one
    with pytest.raises(Conflict) as exc:
        keyed_check(keyed=k, amounts=slip(), actor=w.wangwu, as_of=AS_OF)
    assert "结算ID B1" in exc.value.message
    assert KeyedStay.objects.get().status == KeyedStatus.AWAITING
    assert not Claim.objects.filter(setl_id__startswith="JBLR").exists()
    KeyedStay.objects.all().update(begndate=datetime.date(2026, 2, 1))  # not this stay now
    with pytest.raises(Conflict) as exc:
        key(w)  # the bureau's record of this stay is here: file on it instead
    assert "结算ID B1" in exc.value.message and KeyedStay.objects.count() == 1


def test_anonymising_the_member_clears_the_keyed_diagnosis_and_photos(w, settings):
    from huzhu.privacy.anonymise import members_anonymise

    k = key(w)
    sealed = [p for p in settings.DOCUMENTS_DIR.rglob("*") if p.is_file()]
    assert len(sealed) == 1 and KeyedStay.objects.get().diag_name == "急性阑尾炎"
    assert members_anonymise(member_ids=[w.zhangsan.pk], actor=None) == 1
    k.refresh_from_db()
    assert k.diag_name is None and k.diag_code is None
    assert not any(p.exists() for p in sealed)
