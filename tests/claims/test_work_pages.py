"""Claim work pages: the reviewer's queue and decisions, filing with documents (and the
refusals of bad documents), the member's own page, and the payout pages with the bank files."""

from __future__ import annotations

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from huzhu.audit.models import Event
from huzhu.claims.ingest import settlement_ingest
from huzhu.claims.models import Claim, ClaimDocument, ClaimPolicy
from huzhu.claims.services import claim_file
from huzhu.claims.status import ClaimStatus
from huzhu.payouts.models import BatchStatus, PayoutBatch
from huzhu.payouts.shown import ClaimState, claim_state

from .conftest import MEDICAL, record

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01" + b"\x00" * 200 + b"\xff\xd9"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture(autouse=True)
def _documents(settings, tmp_path):
    settings.DOCUMENTS_DIR = tmp_path / "documents"
    settings.VAR_DIR = tmp_path


def settle(w, setl_id="S1", member=None, **kw):
    member = member or w.zhangsan
    return settlement_ingest(record=record(setl_id, member.id_number, **kw),
                             actor=w.bureau).settlement


def in_review(w, setl_id="S1"):
    ClaimPolicy.objects.update_or_create(product_code=MEDICAL, defaults={"sample_percent": 100})
    return claim_file(member=w.zhangsan, settlement=settle(w, setl_id), product_code=MEDICAL,
                      actor=w.lisi, source="agent", as_of=datetime.date(2026, 3, 20))


def test_queue_shows_the_county_reviewer_his_claims_with_due_dates(money_world, client):
    w = money_world
    claim = in_review(w)
    assert claim.status == ClaimStatus.IN_REVIEW and claim.review_level == 1
    client.force_login(w.wangwu)
    page = client.get(reverse("claims:queue")).content.decode()
    assert reverse("claims:detail", args=[claim.pk]) in page and "县级初审" in page
    assert claim.due_on.strftime("%Y-%m-%d") in page
    client.force_login(w.zhaoliu)  # another city: nothing, and the claim page is a 404
    assert reverse("claims:detail", args=[claim.pk]) not in client.get(
        reverse("claims:queue")).content.decode()
    assert client.get(reverse("claims:detail", args=[claim.pk])).status_code == 404


def test_two_levels_of_review_by_two_people_then_paid_to_the_member(money_world, client):
    w = money_world
    claim = in_review(w)
    client.force_login(w.wangwu)
    detail = client.get(reverse("claims:detail", args=[claim.pk])).content.decode()
    assert 'id="review-form"' in detail
    r = client.post(reverse("claims:review", args=[claim.pk]), {"action": "approve"})
    assert r.status_code == 302
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.IN_REVIEW and claim.review_level == 2
    # 王五 acted at level 1: level 2 is not his (and his county union is not the region)
    assert 'id="review-form"' not in client.get(
        reverse("claims:detail", args=[claim.pk])).content.decode()
    client.force_login(w.top_reviewer)
    client.post(reverse("claims:review", args=[claim.pk]), {"action": "approve"})
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.APPROVED

    client.force_login(w.qianjiu)
    r = client.post(reverse("payouts:build"))
    batch = PayoutBatch.objects.get()
    assert r.url == reverse("payouts:batch", args=[batch.pk])
    page = client.get(r.url).content.decode()
    assert 'id="approve-batch"' not in page and "制单人不能复核" in page
    client.force_login(w.checker)
    client.post(reverse("payouts:action", args=[batch.pk, "approve"]))
    client.post(reverse("payouts:action", args=[batch.pk, "send"]))
    batch.refresh_from_db()
    assert batch.status == BatchStatus.SENT
    csv_bytes = client.get(reverse("payouts:download", args=[batch.pk])).content
    lines = csv_bytes.decode("utf-8-sig").splitlines()
    detail_no = lines[3].split(",")[0]
    card = lines[3].split(",")[1]
    result = ("批次号,明细号,收款账号,收款户名,金额,处理结果,失败原因,银行流水号\r\n"
              f"{batch.number},{detail_no},{card},张三,1400.00,成功,,BK1\r\n").encode()
    r = client.post(reverse("payouts:upload_result", args=[batch.pk]),
                    {"file": SimpleUploadedFile("r.csv", result)}, follow=True)
    assert "成功 1 笔" in r.content.decode()
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.APPROVED and claim_state(claim) == ClaimState.PAID
    rec = client.get(reverse("payouts:reconcile")).content.decode()
    assert "账实相符" in rec

    client.force_login(w.zhangsan_user)
    mine = client.get(reverse("claims:mine")).content.decode()
    assert "已支付" in mine and "1,400.00" in mine


def test_a_broken_result_file_is_refused_with_row_and_column_and_changes_nothing(money_world,
                                                                                 client):
    w = money_world
    claim_file(member=w.zhangsan, settlement=settle(w), product_code=MEDICAL, actor=w.lisi,
               source="agent", as_of=datetime.date(2026, 3, 20))
    client.force_login(w.qianjiu)
    client.post(reverse("payouts:build"))
    batch = PayoutBatch.objects.get()
    client.force_login(w.checker)
    client.post(reverse("payouts:action", args=[batch.pk, "approve"]))
    client.post(reverse("payouts:action", args=[batch.pk, "send"]))
    bad = ("批次号,明细号,收款账号,收款户名,金额,处理结果,失败原因,银行流水号\r\n"
           f"{batch.number},{batch.number}-000001,1,张三,1400.5,成功,,\r\n").encode()
    page = client.post(reverse("payouts:upload_result", args=[batch.pk]),
                       {"file": SimpleUploadedFile("r.csv", bad)}, follow=True).content.decode()
    assert "第 2 行“金额”不是两位小数的元金额" in page
    assert claim_state(Claim.objects.get()) == ClaimState.PAYING


def test_agent_files_a_claim_with_a_photo_and_a_pdf(money_world, client, settings):
    w = money_world
    s = settle(w)
    client.force_login(w.lisi)
    r = client.post(reverse("claims:file_start"), {"id_number": w.zhangsan.id_number})
    assert r.url == reverse("claims:file_member", args=[w.zhangsan.pk])
    form = client.get(r.url).content.decode()
    assert "广西医科大学第一附属医院" in form
    r = client.post(r.url, {"settlement": s.pk, "product": MEDICAL, "kind": "discharge",
                            "files": [SimpleUploadedFile("出院小结.jpg", JPEG),
                                      SimpleUploadedFile("scan.pdf", PDF)]})
    claim = Claim.objects.get()
    assert r.url == reverse("claims:detail", args=[claim.pk]) and claim.source == "agent"
    docs = list(ClaimDocument.objects.filter(claim=claim).order_by("id"))
    assert [d.content_type for d in docs] == ["image/jpeg", "application/pdf"]
    files = [p for p in settings.DOCUMENTS_DIR.rglob("*") if p.is_file()]
    assert len(files) == 2 and all(JPEG not in p.read_bytes() for p in files)  # encrypted
    got = client.get(reverse("claims:document", args=[claim.pk, docs[0].pk]))
    assert got.content == JPEG and got["Content-Type"] == "image/jpeg"
    assert Event.objects.filter(action="claim.document_viewed").count() == 1
    client.force_login(w.zhaoliu)
    assert client.get(reverse("claims:document", args=[claim.pk, docs[0].pk])).status_code == 404


@pytest.mark.parametrize("name,data,message", [
    ("photo.jpg", b"MZ\x90\x00 this is a program", "不是 JPEG、PNG 图片或 PDF 文件"),
    ("notes.pdf", b"just text pretending", "不是 JPEG、PNG 图片或 PDF 文件"),
    ("half.pdf", b"%PDF-1.4\n1 0 obj<<>>", "不是完整的 PDF 文件"),
    ("empty.png", b"", "空文件"),
])
def test_a_bad_document_files_nothing(money_world, client, name, data, message):
    w = money_world
    s = settle(w)
    client.force_login(w.lisi)
    url = reverse("claims:file_member", args=[w.zhangsan.pk])
    r = client.post(url, {"settlement": s.pk, "product": MEDICAL, "kind": "invoice",
                          "files": [SimpleUploadedFile("good.jpg", JPEG),
                                    SimpleUploadedFile(name, data)]})
    assert r.status_code == 200 and message in r.content.decode()
    assert not Claim.objects.exists() and not ClaimDocument.objects.exists()


def test_an_oversized_document_is_refused(money_world, client, monkeypatch):
    from huzhu.claims import documents, views_work

    monkeypatch.setattr(documents, "MAX_BYTES", 1000)
    monkeypatch.setattr(views_work, "MAX_BYTES", 1000)
    w = money_world
    s = settle(w)
    client.force_login(w.lisi)
    r = client.post(reverse("claims:file_member", args=[w.zhangsan.pk]),
                    {"settlement": s.pk, "product": MEDICAL, "kind": "invoice",
                     "files": [SimpleUploadedFile("big.jpg", JPEG + b"\x00" * 2000)]})
    assert "超过" in r.content.decode() and not Claim.objects.exists()


def test_returned_claim_gets_documents_and_goes_back_to_review(money_world, client):
    w = money_world
    claim = in_review(w)
    client.force_login(w.wangwu)
    r = client.post(reverse("claims:review", args=[claim.pk]), {"action": "return", "note": ""})
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.IN_REVIEW  # a return needs a note
    client.post(reverse("claims:review", args=[claim.pk]),
                {"action": "return", "note": "请补充住院发票"})
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.RETURNED
    client.force_login(w.lisi)
    r = client.post(reverse("claims:documents", args=[claim.pk]),
                    {"kind": "invoice", "resubmit": "1",
                     "files": [SimpleUploadedFile("fp.png", b"\x89PNG\r\n\x1a\n" + b"0" * 50)]})
    assert r.status_code == 302
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.IN_REVIEW and claim.review_level == 1
    assert claim.documents.count() == 1


def test_member_appeals_a_rejection_once(money_world, client):
    w = money_world
    claim = in_review(w)
    client.force_login(w.wangwu)
    client.post(reverse("claims:review", args=[claim.pk]), {"action": "reject"})
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.IN_REVIEW  # a rejection needs its reason code
    client.post(reverse("claims:review", args=[claim.pk]),
                {"action": "reject", "reason_code": "FALSE_DOCUMENTS"})
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.REJECTED
    client.force_login(w.zhangsan_user)
    page = client.get(reverse("claims:detail", args=[claim.pk])).content.decode()
    assert 'id="appeal-card"' in page
    client.post(reverse("claims:appeal", args=[claim.pk]), {"note": "材料属实，请复核"})
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.IN_REVIEW and claim.review_level == 2
    assert 'id="appeal-card"' not in client.get(
        reverse("claims:detail", args=[claim.pk])).content.decode()


def test_the_review_form_sits_below_the_data_and_chooses_nothing(money_world):
    from django.test import Client

    from .test_review import in_review

    w = money_world
    if not ClaimPolicy.objects.filter(product_code=MEDICAL).exists():
        ClaimPolicy.objects.create(product_code=MEDICAL, sample_percent=100)
    claim = in_review(w, "S-FORM")
    client = Client()
    client.force_login(w.wangwu)
    page = client.get(reverse("claims:detail", args=[claim.pk])).content.decode()
    assert page.index('id="review-form"') > page.index("结算数据")
    assert page.index('id="review-form"') > page.index("计算过程")
    assert '<option value="" selected>请选择审核意见</option>' in page
    answer = client.post(reverse("claims:review", args=[claim.pk]), {"action": ""}, follow=True)
    assert "请选择审核意见" in answer.content.decode()
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.IN_REVIEW  # nothing decided


def test_an_agent_files_for_a_member_from_the_member_page(money_world):
    from django.test import Client

    w = money_world
    agent = Client()
    agent.force_login(w.lisi)
    page = agent.get(reverse("web:member_detail", args=[w.zhangsan.pk])).content.decode()
    url = reverse("claims:file_member", args=[w.zhangsan.pk])
    assert 'id="file-for-member"' in page and url in page
    assert agent.get(url).status_code == 200
    finance = Client()
    finance.force_login(w.qianjiu)  # sees members, files nothing
    assert 'id="file-for-member"' not in finance.get(
        reverse("web:member_detail", args=[w.zhangsan.pk])).content.decode()
