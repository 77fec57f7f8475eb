"""In the browser: an agent files a claim with a photo; a county reviewer approves it (his
level may decide it alone); finance makes a payout batch, a second officer approves and sends
it, the bank's result file comes back; the member sees the claim paid."""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import expect

from .test_login_and_search import login

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

# A real 1×1 JPEG (baseline, grey pixel).
PHOTO = bytes.fromhex(
    "ffd8ffe000104a46494600010100000100010000ffdb004300080606070605080707070909080a0c140d0c0b0b0c1912"
    "130f141d1a1f1e1d1a1c1c20242e2720222c231c1c2837292c30313434341f27393d38323c2e333432ffc0000b080001"
    "000101011100ffc4001f0000010501010101010100000000000000000102030405060708090a0bffc400b51000020103"
    "03020403050504040000017d01020300041105122131410613516107227114328191a1082342b1c11552d1f02433627282"
    "090a161718191a25262728292a3435363738393a434445464748494a535455565758595a636465666768696a737475767778"
    "797a838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4"
    "d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9faffda0008010100003f00fbd3ffd9")


@pytest.fixture
def flow_world(live_world, settings, tmp_path):
    from huzhu.claims.ingest import settlement_ingest
    from huzhu.claims.models import ClaimPolicy, ReviewLevel
    from tests.claims.conftest import MEDICAL, add_money_users, enroll_for_claims, record
    from tests.enrollment.conftest import add_period

    settings.DOCUMENTS_DIR = tmp_path / "documents"
    settings.VAR_DIR = tmp_path
    w = add_money_users(enroll_for_claims(add_period(live_world)))
    ClaimPolicy.objects.create(product_code=MEDICAL, sample_percent=100)
    ReviewLevel.objects.create(fund_region=w.province, level=1, name="县级初审",
                               org_kind="county", working_days=2, final_limit_fen=1_000_000)
    ReviewLevel.objects.create(fund_region=w.province, level=2, name="协会终审",
                               org_kind="region", working_days=2)
    w.settlement = settlement_ingest(
        record=record("S-BROWSER-1", w.zhangsan.id_number, begin="2026-11-20",
                      end="2026-11-25"), actor=w.bureau).settlement
    w.tmp = tmp_path
    return w


def test_agent_files_reviewer_approves_member_sees_it_paid(page, live_server, flow_world, shots):
    w = flow_world
    # 1. The agent files the claim with a photo of the discharge summary.
    login(page, live_server, "lisi")
    page.click("nav >> text=代办理赔")
    page.fill("#id_id_number", w.zhangsan.id_number)
    page.click("#find-member button")
    page.wait_for_selector("#file-claim")
    assert w.zhangsan.id_number not in page.url
    page.select_option("#id_kind", "discharge")
    photo = w.tmp / "出院小结.jpg"
    photo.write_bytes(PHOTO)
    page.set_input_files("#id_files", str(photo))
    page.screenshot(path=os.path.join(shots, "claim-file.png"), full_page=True)
    page.click("#file-claim button")
    page.wait_for_selector("h1:has-text('待审核')")
    expect(page.locator("#documents")).to_contain_text("出院小结.jpg")
    claim_url = page.url
    page.context.clear_cookies()

    # 2. The county reviewer finds it first in his queue and approves it.
    login(page, live_server, "wangwu")
    page.click("nav >> text=审核工作台")
    rows = page.locator("#queue tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("县级初审")
    page.screenshot(path=os.path.join(shots, "claim-queue.png"), full_page=True)
    rows.first.locator("a").click()
    page.wait_for_selector("#review-form")
    with page.expect_popup() as popup:
        page.click("#documents a")
    assert popup.value.evaluate("() => document.contentType") == "image/jpeg"
    popup.value.close()
    page.screenshot(path=os.path.join(shots, "claim-review.png"), full_page=True)
    page.select_option("#id_action", "approve")
    page.click("#review-form button")
    page.wait_for_selector("text=已处理：已核准待支付")
    page.context.clear_cookies()

    # 3. Finance: one officer makes the batch, another approves and sends it.
    login(page, live_server, "qianjiu")
    page.click("nav >> text=代付批次")
    page.click("#build-batch")
    page.wait_for_selector("text=等待另一位财务人员复核")
    batch_url = page.url
    page.context.clear_cookies()
    login(page, live_server, "sunfuhe")
    page.goto(batch_url)
    page.click("#approve-batch")
    page.click("#send-batch")
    expect(page.locator("#batch-status")).to_have_text("已发送银行")
    with page.expect_download() as download:
        page.click("#download-file")
    sent = open(download.value.path(), encoding="utf-8-sig").read().splitlines()
    detail_no, card = sent[3].split(",")[:2]
    batch_no = sent[1].split(",")[0]
    result = w.tmp / "回盘.csv"
    result.write_text("批次号,明细号,收款账号,收款户名,金额,处理结果,失败原因,银行流水号\n"
                      f"{batch_no},{detail_no},{card},张三,1400.00,成功,,BK20261202001\n",
                      encoding="utf-8")
    page.set_input_files("#result-form input[type=file]", str(result))
    page.click("#result-form button")
    page.wait_for_selector("text=成功 1 笔")
    expect(page.locator("#batch-status")).to_have_text("已全部回盘")
    page.screenshot(path=os.path.join(shots, "payout-batch.png"), full_page=True)
    page.context.clear_cookies()

    # 4. The member sees it paid.
    login(page, live_server, "zhangsan")
    page.click("nav >> text=我的理赔")
    card_el = page.locator(".claim-card").first
    expect(card_el.locator(".status")).to_have_text("已支付")
    expect(card_el).to_contain_text("1,400.00")
    page.screenshot(path=os.path.join(shots, "member-claims.png"), full_page=True)
    page.goto(claim_url)
    expect(page.locator("#payout")).to_contain_text("已支付")
