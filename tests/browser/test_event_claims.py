"""An agent files a death benefit from a 390 px phone: the form fits, bad input is named by
field, the claim is made and its page shows the beneficiary masked (ADR 0016)."""

from __future__ import annotations

import os

import pytest

from .test_phone_layout import PHONE, login, page_width

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


@pytest.fixture
def event_world(live_world):
    from tests.claims.conftest import add_money_users, enroll_for_claims
    from tests.claims.test_claim_types import enroll_event_products
    from tests.enrollment.conftest import add_period

    return enroll_event_products(add_money_users(enroll_for_claims(add_period(live_world))))


def test_an_agent_files_a_death_benefit_on_a_phone(browser, live_server, event_world, shots,
                                                   tmp_path):
    from huzhu.claims.models import Claim, ClaimKind
    from tests.claims.test_claim_types import BENEFICIARY_CARD, BENEFICIARY_ID, PDF

    w = event_world
    context = browser.new_context(locale="zh-CN", viewport=PHONE, is_mobile=True)
    page = context.new_page()
    login(page, live_server, "lisi")
    page.goto(f"{live_server.url}/claims/file/{w.zhangsan.pk}/")
    page.click("#file-event-link")
    page.wait_for_load_state()
    assert page_width(page) <= PHONE["width"]
    page.select_option("#id_what", "chongqing-2015-accident|death")
    page.fill("#id_event_date", "2026-05-10")
    page.select_option("#id_relation", "spouse")
    page.fill("#id_person_name", "李红")
    page.fill("#id_person_id_number", BENEFICIARY_ID)
    page.fill("#id_person_phone", "13700001111")
    page.fill("#id_payee_card", "123")
    # 受益人开户行 from the bank list: the search box narrows it, then the entry is picked.
    page.fill("input.bank-pick-search", "农业")
    assert page.locator("#id_payee_bank option").count() == 2  # the prompt and 中国农业银行
    page.select_option("#id_payee_bank", "103100000026")
    proof = tmp_path / "death.pdf"
    proof.write_bytes(PDF)
    page.set_input_files("#id_files", str(proof))
    page.click("#file-event button.btn")
    page.wait_for_load_state()
    error = page.locator("ul.errorlist[data-field=payee_card]")
    assert "银行卡号" in error.inner_text()
    assert page_width(page) <= PHONE["width"]
    assert Claim.objects.count() == 0
    page.fill("#id_payee_card", BENEFICIARY_CARD)
    page.set_input_files("#id_files", str(proof))
    page.click("#file-event button.btn")
    page.wait_for_load_state()
    claim = Claim.objects.get()
    assert claim.kind == ClaimKind.DEATH and claim.payable_fen == 1_000_000
    assert page.url.endswith(f"/claims/{claim.pk}/")
    card = page.locator("#payee-card").inner_text()
    assert BENEFICIARY_CARD not in card and BENEFICIARY_CARD[-4:] in card
    assert "中国农业银行" in card
    assert page_width(page) <= PHONE["width"]
    page.screenshot(path=os.path.join(shots, "phone-lisi-death-claim.png"), full_page=True)
    context.close()
