"""The member portal: 我的保障 read from the rules, the member's menu, 我的收据, 消息 and
常见问题; the claim pages told to the member (timeline, amount, reason, what to do)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from huzhu.claims.models import ClaimPolicy
from huzhu.claims.status import ClaimStatus
from huzhu.products.services import product_rules
from huzhu.web.context import MEMBER_MENU
from tests.claims.conftest import MEDICAL

from .conftest import file_claim

pytestmark = pytest.mark.django_db


def menu_links(page: str) -> list[str]:
    nav = page[page.index('<nav class="sidebar"'):page.index("</nav>")]
    return re.findall(r'href="([^"]+)"', nav)


def test_my_cover_shows_limits_used_and_left_from_the_product_rules(portal_world, client):
    w = portal_world
    claim = file_claim(w)
    assert claim.status == ClaimStatus.APPROVED and claim.payable_fen == 140_000
    rules = product_rules(claim.product_version)
    limit = next(b for b in rules.benefits if b.id == "medical").claim_limit
    assert limit == 2
    client.force_login(w.zhangsan_user)
    page = client.get(reverse("portal:home")).content.decode()
    card = page[page.index('class="portal-card cover"'):]
    assert claim.product_version.name in card
    assert "2026年1月1日 至 2026年12月31日" in card
    assert re.search(r"<td>本期可给付次数</td><td>2 次</td><td>1 次</td><td class=\"left\">1 次</td>",
                     card)
    assert '<dd class="paid-total">1,400.00 元</dd>' in card
    assert "2 次" in card and "等待期" in card


def test_a_member_sees_only_the_portal_menu_and_never_a_staff_page(portal_world, client):
    w = portal_world
    client.force_login(w.zhangsan_user)
    page = client.get(reverse("portal:home")).content.decode()
    assert menu_links(page) == [reverse(name) for _, name in MEMBER_MENU]
    assert client.get("/").url == reverse("portal:home")
    assert client.get(reverse("web:member_list")).url == reverse("portal:home")
    assert client.get(reverse("web:member_detail", args=[w.zhangsan.pk])).url == \
        reverse("portal:home")
    client.force_login(w.lisi)  # an agent has no member pages
    assert client.get(reverse("portal:home")).status_code == 404
    assert client.get(reverse("portal:card")).status_code == 404


def test_receipts_show_the_members_line_of_the_units_payment(portal_world, client):
    w = portal_world
    from huzhu.enrollment.models import Payment

    payment = Payment.objects.get(invoice__unit=w.unit_a)
    client.force_login(w.zhangsan_user)
    page = client.get(reverse("portal:receipts")).content.decode()
    line = page[page.index('class="portal-card receipt-line"'):]
    assert payment.receipt_serial in line and "2025年12月10日" in line
    assert "110.00 元" in line and "单位 50.00 元" not in line  # labels are the payer kinds'
    assert "南宁示范机械厂" in line or w.unit_a.name in line
    assert reverse("billing:receipt_pdf", args=[payment.pk]) not in line  # the unit's receipt


def test_messages_show_the_sms_sent_to_the_member_with_a_masked_phone(portal_world, client):
    w = portal_world
    claim = file_claim(w)
    client.force_login(w.zhangsan_user)
    page = client.get(reverse("portal:messages")).content.decode()
    assert "13812341234" not in page and "138****1234" in page
    sms = page[page.index('id="sms"'):]
    assert "已核准，给付互助金1,400.00元" in sms and f"理赔申请（编号{claim.pk}）已受理" in sms
    assert sms.index("已核准") < sms.index("已受理")  # newest first


def test_faq_lists_the_knowledge_base_by_topic(portal_world, client):
    client.force_login(portal_world.zhangsan_user)
    page = client.get(reverse("portal:faq")).content.decode()
    assert page.count("<details") >= 40 and "怎么更换银行卡？" in page and "保障项目" in page


def test_a_returned_claim_tells_the_member_why_and_what_to_do(portal_world, client):
    w = portal_world
    ClaimPolicy.objects.update_or_create(product_code=MEDICAL, defaults={"sample_percent": 100})
    claim = file_claim(w)
    assert claim.status == ClaimStatus.IN_REVIEW
    client.force_login(w.wangwu)
    client.post(reverse("claims:review", args=[claim.pk]),
                {"action": "return", "note": "请补充住院发票"})
    client.force_login(w.zhangsan_user)
    page = client.get(reverse("claims:detail", args=[claim.pk])).content.decode()
    story = page[page.index('id="story"'):page.index('id="story-amount"')]
    assert "退回补充材料" in story and "请补充住院发票" in story
    assert "上传并重新提交审核" in page[page.index('id="story-todo"'):]
    assert re.search(r'<span class="when">2026-\d\d-\d\d \d\d:\d\d</span><span class="title">'
                     r"提交申请", story)
    mine = client.get(reverse("claims:mine")).content.decode()
    assert "请补充住院发票" in mine


def test_a_refused_claim_gives_its_reason_and_the_appeal(portal_world, client):
    w = portal_world
    ClaimPolicy.objects.update_or_create(product_code=MEDICAL, defaults={"sample_percent": 100})
    claim = file_claim(w)
    client.force_login(w.wangwu)
    client.post(reverse("claims:review", args=[claim.pk]),
                {"action": "reject", "reason_code": "WAITING_PERIOD"})
    client.force_login(w.zhangsan_user)
    page = client.get(reverse("claims:detail", args=[claim.pk])).content.decode()
    assert "不予给付的原因：等待期内出险" in page
    assert "等待期结束后的住院可以正常申请" in page and "申诉可以在本页下方提交一次" in page
    assert "WAITING_PERIOD" not in page


def test_an_approved_claim_explains_its_amount_in_sentences(portal_world, client):
    w = portal_world
    claim = file_claim(w)
    client.force_login(w.zhangsan_user)
    page = client.get(reverse("claims:detail", args=[claim.pk])).content.decode()
    amount = page[page.index('id="story-amount"'):]
    assert "医疗费共 12,000.00 元" in amount and "基金支付了 7,000.00 元" in amount
    assert "核算互助金共 1,400.00 元" in amount
    assert "核准给付" in page and "等待支付" in page


def test_the_member_files_with_the_camera(portal_world, client):
    w = portal_world
    from huzhu.claims.ingest import settlement_ingest
    from tests.claims.conftest import record

    settlement_ingest(record=record("S9", w.zhangsan.id_number), actor=w.bureau)
    client.force_login(w.zhangsan_user)
    page = client.get(reverse("claims:file_member", args=[w.zhangsan.pk])).content.decode()
    assert re.search(r'<input type="file" name="files"[^>]*accept="image/\*"[^>]*capture="environment"',
                     page)
    crumbs = page[page.index('class="breadcrumb"'):page.index("</ol>")]
    assert f'href="{reverse("claims:mine")}"' in crumbs
    assert f'href="{reverse("claims:list")}"' not in crumbs
    client.force_login(w.lisi)  # an agent still chooses files (PDFs too)
    page = client.get(reverse("claims:file_member", args=[w.zhangsan.pk])).content.decode()
    assert 'capture="environment"' not in page
