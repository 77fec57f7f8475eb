"""更正受益人银行卡 (issue 15): a death benefit returned by the bank is paid again to the card
the beneficiary gives, corrected on the claim (not on the dead member), by the unit's agent or
staff of the member's subtree; another region's clerk and the member cannot; the member's own
card change does not requeue it."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from huzhu.audit.models import Event
from huzhu.claims.models import ClaimEvent, ClaimKind
from huzhu.claims.payee import payee_card_correct
from huzhu.errors import DomainError, NotAllowed
from huzhu.notices.models import OutboxMessage
from huzhu.payouts.channels import FileDropChannel
from huzhu.payouts.models import PayoutLine, PayoutStatus
from huzhu.payouts.services import (
    batch_approve,
    batch_build,
    batch_send,
    payout_requeue,
    payouts_requeue_corrected,
    result_import,
)
from tests.conftest import bank_card

from .conftest import ledger_clean
from .test_claim_types import (
    ACCIDENT,
    BENEFICIARY_CARD,
    BENEFICIARY_ID,
    enroll_event_products,
    file,
    pay,
)
from .test_money import result_for

NEW_CARD = bank_card(8899)


@pytest.fixture
def failed(money_world, tmp_path):
    """张三's death benefit, sent to 李红's card and returned by the bank."""
    w = enroll_event_products(money_world)
    claim = file(w, ClaimKind.DEATH, ACCIDENT, relation="spouse", person_name="李红",
                 person_id_number=BENEFICIARY_ID, person_phone="13700001111",
                 payee_card=BENEFICIARY_CARD, payee_bank="中国农业银行南宁分行")
    batch = batch_build(fund_region=w.province, actor=w.qianjiu).batch
    batch = batch_approve(batch=batch, actor=w.checker)
    batch = batch_send(batch=batch, actor=w.qianjiu, channel=FileDropChannel(tmp_path))
    result_import(batch=batch, data=result_for(batch, {0: ("failed", "账户已销户")}),
                  file_name=f"{batch.number}.csv", actor=w.qianjiu)
    w.claim, w.payout = claim, claim.payouts.get()
    assert w.payout.status == PayoutStatus.FAILED
    return w


def test_the_agent_corrects_the_card_and_the_benefit_is_paid_there(failed, tmp_path):
    w = failed
    c = Client()
    c.force_login(w.lisi)
    page = c.get(f"/claims/{w.claim.pk}/").content.decode()
    assert "更正受益人银行卡" in page and BENEFICIARY_CARD not in page
    r = c.post(f"/claims/{w.claim.pk}/payee/", {"payee_card": NEW_CARD,
                                                 "payee_bank": "102100099996"}, follow=True)
    assert "受益人银行卡已更正，支付失败的互助金已重新安排支付" in r.content.decode()
    ev = ClaimEvent.objects.get(claim=w.claim)
    # The 开户行 is picked from the bank list: its entry's name and 联行号 are stored.
    assert (ev.payee_card, ev.payee_bank, ev.payee_bank_cnaps) == (
        NEW_CARD, "中国工商银行", "102100099996")
    w.payout.refresh_from_db()
    assert w.payout.status == PayoutStatus.PAYABLE
    changed = Event.objects.get(action="claim.payee_changed")
    assert changed.before == {"card_tail": BENEFICIARY_CARD[-4:], "bank": "中国农业银行",
                              "bank_cnaps": "103100000026"}
    assert changed.after["bank_cnaps"] == "102100099996"
    assert changed.after["card_tail"] == NEW_CARD[-4:]
    assert NEW_CARD not in json.dumps(changed.after) and BENEFICIARY_CARD not in json.dumps(
        changed.before)
    assert OutboxMessage.objects.filter(template="CLAIM_DEATH_PAY_FAILED").count() == 1
    told = OutboxMessage.objects.get(template="CLAIM_DEATH_PAYOUT_REQUEUED")
    assert told.phone == "13700001111"
    assert told.params["card"] == NEW_CARD[-4:] and told.params["payee"] == "李红"
    pay(w, tmp_path)
    line = PayoutLine.objects.filter(payout=w.payout).latest("id")
    assert line.account_no == NEW_CARD and line.status == "paid"
    assert line.bank_cnaps == "102100099996"  # the chosen entry, not a text match
    assert ledger_clean() == []


def test_only_those_who_may_file_for_the_member_can_correct(failed):
    w = failed
    outsider = Client()
    outsider.force_login(w.clerk_b)
    r = outsider.post(f"/claims/{w.claim.pk}/payee/", {"payee_card": NEW_CARD,
                                                        "payee_bank": "工行"})
    assert r.status_code == 404
    with pytest.raises(NotAllowed):
        payee_card_correct(claim=w.claim, actor=w.clerk_b, card=NEW_CARD, bank_name="工行")
    with pytest.raises(NotAllowed):
        payee_card_correct(claim=w.claim, actor=w.zhangsan_user, card=NEW_CARD, bank_name="工行")
    assert ClaimEvent.objects.get(claim=w.claim).payee_card == BENEFICIARY_CARD
    assert not Event.objects.filter(action="claim.payee_changed").exists()
    w.payout.refresh_from_db()
    assert w.payout.status == PayoutStatus.FAILED


def test_bad_cards_are_refused_in_chinese_and_change_nothing(failed):
    w = failed
    with pytest.raises(DomainError, match="受益人银行卡号：银行卡号应为 16–19 位"):
        payee_card_correct(claim=w.claim, actor=w.lisi, card="622202", bank_name="工行")
    luhn_bad = NEW_CARD[:-1] + str((int(NEW_CARD[-1]) + 1) % 10)
    with pytest.raises(DomainError, match="Luhn"):
        payee_card_correct(claim=w.claim, actor=w.lisi, card=luhn_bad, bank_name="工行")
    with pytest.raises(DomainError, match="开户行"):
        payee_card_correct(claim=w.claim, actor=w.lisi, card=NEW_CARD, bank_name="  ")
    with pytest.raises(DomainError, match="开户行请从银行名录中选择"):
        payee_card_correct(claim=w.claim, actor=w.lisi, card=NEW_CARD, bank_name="某某村镇银行")
    with pytest.raises(DomainError, match="开户行请从银行名录中选择"):
        payee_card_correct(claim=w.claim, actor=w.lisi, card=NEW_CARD, bank_cnaps="999999999999")
    with pytest.raises(DomainError, match="与原来相同"):
        payee_card_correct(claim=w.claim, actor=w.lisi, card=BENEFICIARY_CARD,
                           bank_name="中国农业银行南宁分行")
    assert ClaimEvent.objects.get(claim=w.claim).payee_card == BENEFICIARY_CARD
    assert not Event.objects.filter(action="claim.payee_changed").exists()
    # Full-width digits are the same card; a Luhn failure confirmed is taken.
    wide = "".join(chr(ord(ch) + 0xFEE0) for ch in luhn_bad)
    payee_card_correct(claim=w.claim, actor=w.lisi, card=wide, bank_name="工行",
                       confirm_luhn=True)
    assert ClaimEvent.objects.get(claim=w.claim).payee_card == luhn_bad


def test_the_members_own_card_change_leaves_the_beneficiarys_payout_alone(failed):
    w = failed
    assert payouts_requeue_corrected(member_ids=[w.zhangsan.pk], actor=w.lisi) == []
    w.payout.refresh_from_db()
    assert w.payout.status == PayoutStatus.FAILED
    # Requeued by hand with the same beneficiary card: a reason is needed, as for a member.
    with pytest.raises(DomainError, match="请先更正受益人银行卡"):
        payout_requeue(payout=w.payout, actor=w.qianjiu)
    assert not OutboxMessage.objects.filter(template="CLAIM_DEATH_PAYOUT_REQUEUED").exists()
