"""A corrected bank card puts the member's failed payouts back in the queue by itself: in the
transaction that changes the card (member service, API, roster), through the same requeue as
finance's 重新支付, with an event naming who changed the card and one SMS per requeue. The
same card, another status, or a refused card change requeue nothing."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.db import transaction

from huzhu.audit.models import Event
from huzhu.claims.models import Claim
from huzhu.claims.status import ClaimStatus
from huzhu.demo.identities import bank_card
from huzhu.errors import DomainError, NeedsConfirmation
from huzhu.members.models import Member
from huzhu.members.services import FLAG_FIELDS, MemberInput, member_update
from huzhu.notices.models import OutboxMessage
from huzhu.notices.templates import render
from huzhu.payouts.channels import FileDropChannel
from huzhu.payouts.models import LineStatus, Payout, PayoutStatus
from huzhu.payouts.services import (
    batch_approve,
    batch_build,
    batch_send,
    payout_requeue,
    payouts_reconcile,
    result_import,
)
from huzhu.payouts.shown import ClaimState, claim_state, claims_shown
from tests.api.conftest import ApiClient
from tests.claims.conftest import ledger_clean
from tests.claims.test_money import result_for

from .conftest import change_card, file_claim

pytestmark = pytest.mark.django_db

MARCH = datetime.date(2026, 3, 2)


def send(w: Any, tmp_path: Any) -> Any:
    batch = batch_build(fund_region=w.province, actor=w.qianjiu).batch
    batch_approve(batch=batch, actor=w.checker)
    return batch_send(batch=batch, actor=w.qianjiu, channel=FileDropChannel(tmp_path))


def failed_payout(w: Any, tmp_path: Any, member: Any, setl_id: str = "CC1") -> Payout:
    """File a claim for ``member``, send it to the bank and let the bank fail the line."""
    claim = file_claim(w, member, setl_id, begin=MARCH)
    assert claim.status == ClaimStatus.APPROVED
    batch = send(w, tmp_path)
    result_import(batch=batch, data=result_for(batch, {0: ("failed", "户名与账号不符")}),
                  file_name=f"{batch.number}.csv", actor=w.qianjiu)
    payout = Payout.objects.get(claim=claim)
    assert payout.status == PayoutStatus.FAILED
    return payout


def correct_card(member: Any, card: str, *, actor: Any, **change: Any) -> Member:
    """Change the member's card through the member service, everything else as it is."""
    m = Member.objects.get(pk=member.pk)
    data = MemberInput(name=m.name, id_number=m.id_number, phone=m.phone or "", bank_card=card,
                       bank_name=m.bank_name, insurance_type=m.insurance_type,
                       employment_status=m.employment_status, unit=m.unit,
                       organisation=m.organisation,
                       **{f: getattr(m, f) for f in FLAG_FIELDS})
    for key, value in change.items():
        setattr(data, key, value)
    return member_update(actor=actor, member=m, data=data)


def requeue_events() -> Any:
    return Event.objects.filter(action="payout.requeued")


def requeue_sms() -> Any:
    return OutboxMessage.objects.filter(template="PAYOUT_REQUEUED")


def claim_status(payout: Payout) -> str:
    """What the payout's claim shows (its own status stays 已核准: asserted here too)."""
    claim = Claim.objects.get(pk=payout.claim_id)
    assert claim.status == ClaimStatus.APPROVED
    return claim_state(claim)


def test_a_corrected_card_requeues_the_failed_payout_which_then_pays(pay_world, tmp_path):
    w = pay_world
    member = w.members[0]
    payout = failed_payout(w, tmp_path, member)
    assert claim_status(payout) == ClaimState.PAYMENT_FAILED
    new = bank_card(7788)

    correct_card(member, new, actor=w.lisi)

    payout.refresh_from_db()
    assert payout.status == PayoutStatus.PAYABLE
    assert claim_status(payout) == ClaimState.APPROVED
    assert ledger_clean() == []
    rec = payouts_reconcile(fund_region=w.province)
    assert rec.ok and rec.owed_fen == payout.amount_fen and rec.failed_fen == payout.amount_fen
    event = requeue_events().get()
    assert event.actor_id == w.lisi.pk and event.object_id == str(payout.pk)
    assert event.after["reason"] == "银行卡已更正" and event.after["card_corrected"] is True
    back = Event.objects.get(action="payout.transition", object_id=str(payout.pk),
                             before__status=PayoutStatus.FAILED)
    assert back.after["status"] == PayoutStatus.PAYABLE and back.actor_id == w.lisi.pk
    assert back.after["reason"] == "银行卡已更正" and back.after["claim"] == payout.claim_id
    moves = Event.objects.filter(action__in=["claim.filed", "claim.transition"],
                                 object_id=str(payout.claim_id))
    assert [e.after["status"] for e in moves.order_by("seq")] == [ClaimStatus.APPROVED]
    sms = requeue_sms().get()
    assert sms.key == f"payout-requeued:{payout.pk}:1" and sms.member_id == member.pk
    assert sms.params["card"] == new[-4:]
    assert "已按更正后的银行卡（尾号" + new[-4:] + "）重新安排支付" in render(sms.template,
                                                                           sms.params)

    second = send(w, tmp_path)
    line = second.lines.get()
    assert line.payout_id == payout.pk and line.account_no == new
    result_import(batch=second, data=result_for(second, {}), file_name="paid.csv",
                  actor=w.qianjiu)
    payout.refresh_from_db()
    assert payout.status == PayoutStatus.PAID and claim_status(payout) == ClaimState.PAID
    assert ledger_clean() == []
    rec = payouts_reconcile(fund_region=w.province)
    assert rec.ok and rec.owed_fen == 0 and rec.paid_fen == payout.amount_fen
    assert requeue_sms().count() == 1 and requeue_events().count() == 1


def test_the_same_card_requeues_nothing(pay_world, tmp_path):
    w = pay_world
    member = w.members[0]
    payout = failed_payout(w, tmp_path, member)
    same = member.bank_card
    spaced = " ".join(same[i:i + 4] for i in range(0, len(same), 4))

    correct_card(member, spaced, actor=w.lisi, bank_name="中国建设银行南宁分行")

    saved = Member.objects.get(pk=member.pk)  # the text tied to its bank-list entry
    assert (saved.bank_name, saved.bank_cnaps) == ("中国建设银行", "105100000017")
    payout.refresh_from_db()
    assert payout.status == PayoutStatus.FAILED
    assert claim_status(payout) == ClaimState.PAYMENT_FAILED
    assert not requeue_events().exists() and not requeue_sms().exists()


def test_a_card_change_without_failed_payouts_requeues_nothing(pay_world, tmp_path):
    w = pay_world
    in_flight = file_claim(w, w.members[3], "CC2", begin=MARCH)
    send(w, tmp_path)  # sent to the bank, no answer yet
    batched = file_claim(w, w.members[2], "CC3", begin=MARCH)
    batch = batch_build(fund_region=w.province, actor=w.qianjiu).batch  # a draft batch
    payable = file_claim(w, w.members[2], "CC4", begin=datetime.date(2026, 6, 1))
    statuses = dict(Payout.objects.values_list("claim_id", "status"))
    assert statuses == {in_flight.pk: PayoutStatus.SENT, batched.pk: PayoutStatus.BATCHED,
                        payable.pk: PayoutStatus.PAYABLE}
    events = Event.objects.filter(action__startswith="payout.").count()

    for i, m in enumerate([w.members[1], w.members[2], w.members[3]]):  # 1 has no payouts
        correct_card(m, bank_card(8800 + i), actor=w.lisi)

    assert dict(Payout.objects.values_list("claim_id", "status")) == statuses
    assert batch.lines.get().account_no == w.members[2].bank_card  # the card as batched
    assert dict(claims_shown(Claim.objects.all()).values_list("pk", "shown_status")) == {
        in_flight.pk: ClaimState.PAYING, batched.pk: ClaimState.APPROVED,
        payable.pk: ClaimState.APPROVED}
    assert Event.objects.filter(action__startswith="payout.").count() == events
    assert not requeue_sms().exists()
    assert ledger_clean() == [] and payouts_reconcile(fund_region=w.province).ok


def test_every_failed_payout_of_the_member_is_requeued_and_no_one_else_s(pay_world, tmp_path):
    w = pay_world
    member = w.members[0]
    first = file_claim(w, member, "CC5", begin=MARCH)
    second = file_claim(w, member, "CC6", begin=datetime.date(2026, 6, 1))
    other = file_claim(w, w.members[1], "CC7", begin=MARCH)
    batch = send(w, tmp_path)
    index = {ln.payout.claim_id: i for i, ln in enumerate(batch.lines.order_by("id")
                                                           .select_related("payout"))}
    result_import(batch=batch, data=result_for(batch, {index[first.pk]: ("failed", "账户冻结"),
                                                       index[second.pk]: ("failed", "账户冻结"),
                                                       index[other.pk]: ("failed", "账户冻结")}),
                  file_name="r.csv", actor=w.qianjiu)

    correct_card(member, bank_card(7789), actor=w.wangwu)

    mine = {p.claim_id: p.status for p in Payout.objects.filter(member=member)}
    assert mine[first.pk] == mine[second.pk] == PayoutStatus.PAYABLE
    assert Payout.objects.get(claim=other).status == PayoutStatus.FAILED  # not this member
    assert sorted(requeue_sms().values_list("key", flat=True)) == sorted(
        f"payout-requeued:{p.pk}:1" for p in Payout.objects.filter(claim__in=[first, second]))
    assert set(requeue_events().values_list("actor_id", flat=True)) == {w.wangwu.pk}
    assert requeue_events().count() == 2
    assert ledger_clean() == [] and payouts_reconcile(fund_region=w.province).ok


@pytest.mark.parametrize("card", ["6222 0200 0000 12", "6222020000001234abc"])
def test_an_invalid_card_is_refused_and_changes_nothing(pay_world, tmp_path, card):
    w = pay_world
    member = w.members[0]
    payout = failed_payout(w, tmp_path, member)
    sms_before = OutboxMessage.objects.count()

    with pytest.raises(DomainError) as refused:
        correct_card(member, card, actor=w.lisi)

    assert "bank_card" in refused.value.field_errors
    assert Member.objects.get(pk=member.pk).bank_card == member.bank_card
    payout.refresh_from_db()
    assert payout.status == PayoutStatus.FAILED
    assert claim_status(payout) == ClaimState.PAYMENT_FAILED
    assert OutboxMessage.objects.count() == sms_before and not requeue_events().exists()


def test_a_card_failing_luhn_requeues_only_once_confirmed(pay_world, tmp_path):
    w = pay_world
    member = w.members[0]
    payout = failed_payout(w, tmp_path, member)
    good = bank_card(7790)
    bad = good[:-1] + str((int(good[-1]) + 1) % 10)

    with pytest.raises(NeedsConfirmation):
        correct_card(member, bad, actor=w.lisi)
    payout.refresh_from_db()
    assert payout.status == PayoutStatus.FAILED and not requeue_sms().exists()

    m = Member.objects.get(pk=member.pk)
    data = MemberInput(name=m.name, id_number=m.id_number, phone=m.phone or "", bank_card=bad,
                       bank_name=m.bank_name, unit=m.unit, organisation=m.organisation)
    member_update(actor=w.lisi, member=m, data=data, confirm_warnings=True)
    payout.refresh_from_db()
    assert payout.status == PayoutStatus.PAYABLE and requeue_sms().count() == 1


def test_a_rolled_back_card_change_requeues_nothing_and_sends_nothing(pay_world, tmp_path):
    w = pay_world
    member = w.members[0]
    payout = failed_payout(w, tmp_path, member)
    events = Event.objects.count()

    with pytest.raises(RuntimeError), transaction.atomic():
        correct_card(member, bank_card(7791), actor=w.lisi)
        assert Payout.objects.get(pk=payout.pk).status == PayoutStatus.PAYABLE
        raise RuntimeError("crash after the card change")

    payout.refresh_from_db()
    assert payout.status == PayoutStatus.FAILED
    assert claim_status(payout) == ClaimState.PAYMENT_FAILED
    assert not requeue_sms().exists() and Event.objects.count() == events


def test_a_second_failure_and_a_second_correction_send_a_second_message(pay_world, tmp_path):
    w = pay_world
    member = w.members[0]
    payout = failed_payout(w, tmp_path, member)
    correct_card(member, bank_card(7792), actor=w.lisi)
    again = send(w, tmp_path)
    result_import(batch=again, data=result_for(again, {0: ("failed", "账户已销户")}),
                  file_name="r2.csv", actor=w.qianjiu)
    payout.refresh_from_db()
    assert payout.status == PayoutStatus.FAILED

    correct_card(member, bank_card(7792), actor=w.lisi)  # unchanged: nothing
    assert requeue_sms().count() == 1
    correct_card(member, bank_card(7793), actor=w.lisi)

    payout.refresh_from_db()
    assert payout.status == PayoutStatus.PAYABLE
    assert sorted(requeue_sms().values_list("key", flat=True)) == [
        f"payout-requeued:{payout.pk}:1", f"payout-requeued:{payout.pk}:2"]
    assert payout.lines.filter(status=LineStatus.FAILED).count() == 2
    assert ledger_clean() == [] and payouts_reconcile(fund_region=w.province).ok


def test_a_card_changed_back_to_the_failed_one_requeues_nothing(pay_world, tmp_path):
    """The card compared is the one the failed line went to, not the card before the edit."""
    w = pay_world
    member = w.members[0]
    failed_card = member.bank_card
    payout = failed_payout(w, tmp_path, member)
    Member.objects.filter(pk=member.pk).update(bank_card=None)  # cleared outside the service

    correct_card(member, failed_card, actor=w.lisi)

    payout.refresh_from_db()
    assert payout.status == PayoutStatus.FAILED and not requeue_sms().exists()


def test_the_api_card_change_by_the_agent_requeues(pay_world, tmp_path):
    w = pay_world
    member = w.members[0]
    payout = failed_payout(w, tmp_path, member)

    answer = ApiClient(w.lisi).patch(f"/members/{member.pk}", {"bank_card": bank_card(7794)})

    assert answer.status_code == 200, answer.content
    payout.refresh_from_db()
    assert payout.status == PayoutStatus.PAYABLE
    assert requeue_events().get().actor_id == w.lisi.pk and requeue_sms().count() == 1


def test_a_roster_with_the_corrected_card_requeues(pay_world, tmp_path):
    from huzhu.enrollment.services import roster_check, roster_confirm, roster_upload
    from tests.enrollment.conftest import person, xlsx

    w = pay_world
    member = w.members[0]
    payout = failed_payout(w, tmp_path, member)
    new = bank_card(7795)
    row = person(member.name, member.id_number, w.medical.product_version.name,
                 手机号="13812341234", 银行卡号=new, 开户行="中国银行南宁分行")
    roster, _ = roster_upload(unit=w.unit_a, period=w.period, file_name="fix.xlsx",
                              data=xlsx([row]), actor=w.lisi)
    roster_check(roster)
    roster_confirm(roster=roster, actor=w.lisi)

    assert Member.objects.get(pk=member.pk).bank_card == new
    payout.refresh_from_db()
    assert payout.status == PayoutStatus.PAYABLE
    assert claim_status(payout) == ClaimState.APPROVED
    assert requeue_events().get().actor_id == w.lisi.pk
    assert requeue_sms().get().params["card"] == new[-4:]


def test_finance_requeue_after_a_card_change_also_tells_the_member(pay_world, tmp_path):
    w = pay_world
    member = w.members[0]
    payout = failed_payout(w, tmp_path, member)
    other = failed_payout(w, tmp_path, w.members[1], "CC9")

    payout_requeue(payout=other, actor=w.qianjiu, confirm_same_card="会员确认原卡号无误")
    assert not requeue_sms().exists()  # the card was not corrected: no such message
    assert requeue_events().get().after["reason"] == "会员确认原卡号无误"

    change_card(member, bank_card(7796))  # written outside the service: finance requeues
    payout.refresh_from_db()
    assert payout.status == PayoutStatus.FAILED
    payout_requeue(payout=payout, actor=w.qianjiu)
    assert requeue_sms().get().key == f"payout-requeued:{payout.pk}:1"
    assert requeue_events().get(object_id=str(payout.pk)).after["reason"] == "银行卡已更正"


def test_the_claim_page_says_the_card_was_corrected_and_the_payout_requeued(pay_world, tmp_path,
                                                                            client):
    from django.urls import reverse

    w = pay_world
    payout = failed_payout(w, tmp_path, w.members[0])
    client.force_login(w.lisi)
    url = reverse("claims:detail", args=[payout.claim_id])
    assert "已重新排队" not in client.get(url).content.decode()

    correct_card(w.members[0], bank_card(7797), actor=w.lisi)

    page = client.get(url).content.decode()
    assert "银行卡已更正，已重新排队" in page and "待支付" in page
    send(w, tmp_path)
    assert "已重新排队" not in client.get(url).content.decode()  # in flight now
