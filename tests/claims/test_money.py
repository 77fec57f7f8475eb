"""The whole road of a claim's money: roster → payment → settlement → claim → approval →
payout batch → bank file → bank result → paid, with the ledger verified after every step;
and the failure road back to payable."""

from __future__ import annotations

import datetime

import pytest

from huzhu.claims.ingest import settlement_ingest
from huzhu.claims.models import Claim, MemberPeriodUsage
from huzhu.claims.services import claim_file
from huzhu.claims.status import ClaimStatus
from huzhu.errors import DomainError, NotAllowed
from huzhu.ledger.models import AccountKind, Leg, Transaction
from huzhu.members.models import Member
from huzhu.notices.models import OutboxMessage
from huzhu.payouts import bankfile
from huzhu.payouts.channels import FileDropChannel
from huzhu.payouts.models import BatchStatus, LineStatus, Payout, PayoutStatus
from huzhu.payouts.services import (
    batch_approve,
    batch_build,
    batch_file,
    batch_send,
    payout_requeue,
    payouts_reconcile,
    result_import,
)
from huzhu.payouts.shown import ClaimState, claim_state

from .conftest import MEDICAL, ledger_clean, record

AS_OF = datetime.date(2026, 3, 20)


def balance(kind: str) -> int:
    return sum(Leg.objects.filter(account__kind=kind).values_list("amount_fen", flat=True))


def result_for(batch, outcomes):
    """A bank result file for a sent batch: ``outcomes`` maps line index → (outcome, reason)."""
    _no, lines = bankfile.parse_batch(batch_file(batch))
    rows = []
    for i, ln in enumerate(lines):
        outcome, reason = outcomes.get(i, ("paid", ""))
        rows.append(bankfile.ResultLine(0, batch.number, ln.out_detail_no, ln.account_no,
                                        ln.account_name, ln.amount_fen, outcome, reason,
                                        f"BK{i:04d}" if outcome == "paid" else ""))
    return bankfile.render_result(rows)


def approved_claim(w, setl_id="S1", member=None, **kw):
    member = member or w.zhangsan
    s = settlement_ingest(record=record(setl_id, member.id_number, **kw), actor=w.bureau).settlement
    return claim_file(member=member, settlement=s, product_code=MEDICAL, actor=w.lisi,
                      source="agent", as_of=AS_OF)


def test_full_flow_from_roster_to_paid_with_the_ledger_verified_at_each_step(money_world,
                                                                              tmp_path):
    w = money_world
    assert ledger_clean() == []  # roster confirmed, invoice paid and settled (the fixture)
    claim = approved_claim(w)
    assert claim.status == ClaimStatus.APPROVED and claim.payable_fen == 140_000
    assert ledger_clean() == []
    # Dr 5101 expense / Cr 2202 payable
    assert balance(AccountKind.BENEFIT_EXPENSE) == 140_000
    assert balance(AccountKind.BENEFIT_PAYABLE) == -140_000
    payout = Payout.objects.get(claim=claim)
    assert payout.amount_fen == 140_000 and payout.status == PayoutStatus.PAYABLE
    usage = MemberPeriodUsage.objects.get(member=w.zhangsan, product_code=MEDICAL)
    assert (usage.granted_fen, usage.claims) == (140_000, 1)
    sms = dict(OutboxMessage.objects.values_list("key", "template"))
    assert sms[f"claim-submitted:{claim.pk}"] == "CLAIM_SUBMITTED"
    assert sms[f"claim-approved:{claim.pk}"] == "CLAIM_APPROVED"
    approved = OutboxMessage.objects.get(key=f"claim-approved:{claim.pk}")
    assert approved.params["amount"] == "1,400.00" and approved.params["card"] == w.zhangsan.bank_card[-4:]

    built = batch_build(fund_region=w.province, actor=w.qianjiu)
    batch = built.batch
    assert batch.line_count == 1 and batch.total_fen == 140_000
    assert ledger_clean() == []
    with pytest.raises(NotAllowed):
        batch_approve(batch=batch, actor=w.qianjiu)  # the maker may not check
    batch = batch_approve(batch=batch, actor=w.checker)
    channel = FileDropChannel(tmp_path)
    batch = batch_send(batch=batch, actor=w.qianjiu, channel=channel)
    assert batch.status == BatchStatus.SENT
    sent_file = channel.read(batch.number)
    assert sent_file == batch_file(batch)
    on_disk = (tmp_path / f"{batch.number}.csv").read_bytes()  # sealed: no card number
    assert w.zhangsan.bank_card.encode() not in on_disk and "张三".encode() not in on_disk
    text = sent_file.decode("utf-8-sig")
    assert "1400.00" in text and "张三" in text and f"{batch.number}-000001" in text
    assert ledger_clean() == []
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.APPROVED and claim_state(claim) == ClaimState.PAYING
    assert balance(AccountKind.BENEFIT_PAYABLE) == 0
    assert balance(AccountKind.PAYOUT_IN_TRANSIT) == -140_000
    rec = payouts_reconcile(fund_region=w.province)
    assert rec.ok and rec.in_flight_fen == 140_000 and rec.sent_fen == 140_000

    result = result_import(batch=batch, data=result_for(batch, {}), file_name="back.csv",
                           actor=w.qianjiu)
    assert (result.paid, result.failed, result.exceptions) == (1, 0, 0)
    assert ledger_clean() == []
    claim.refresh_from_db()
    batch.refresh_from_db()
    assert claim.status == ClaimStatus.APPROVED and batch.status == BatchStatus.DONE
    assert claim_state(claim) == ClaimState.PAID
    assert balance(AccountKind.PAYOUT_IN_TRANSIT) == 0
    bank_paid = Leg.objects.filter(account__kind=AccountKind.BANK,
                                   transaction__source_type="payouts.line")
    assert sum(x.amount_fen for x in bank_paid) == -140_000
    assert OutboxMessage.objects.get(key=f"claim-paid:{claim.pk}").params["amount"] == "1,400.00"
    rec = payouts_reconcile(fund_region=w.province)
    assert rec.ok and (rec.paid_fen, rec.in_flight_fen, rec.owed_fen) == (140_000, 0, 0)

    # the same file again changes nothing
    again = result_import(batch=batch, data=result_for(batch, {}), file_name="back.csv",
                          actor=w.qianjiu)
    assert again.pk == result.pk
    assert Transaction.objects.filter(source_type="payouts.line").count() == 2


def test_a_failed_line_goes_back_to_payable_and_is_paid_after_the_card_is_fixed(money_world,
                                                                                 tmp_path):
    w = money_world
    claim = approved_claim(w)
    batch = batch_build(fund_region=w.province, actor=w.qianjiu).batch
    batch_approve(batch=batch, actor=w.checker)
    batch = batch_send(batch=batch, actor=w.qianjiu, channel=FileDropChannel(tmp_path))
    result_import(batch=batch, data=result_for(batch, {0: ("failed", "户名与账号不符")}),
                  file_name="r.csv", actor=w.qianjiu)
    assert ledger_clean() == []
    claim.refresh_from_db()
    payout = Payout.objects.get(claim=claim)
    assert claim.status == ClaimStatus.APPROVED and payout.status == PayoutStatus.FAILED
    assert claim_state(claim) == ClaimState.PAYMENT_FAILED
    assert balance(AccountKind.BENEFIT_PAYABLE) == -140_000  # owed again, by a reversal
    sent = Transaction.objects.get(key=f"payout-sent:{payout.lines.get().pk}")
    assert Transaction.objects.get(reverses=sent).key.startswith("payout-failed:")
    failed_sms = OutboxMessage.objects.get(template="CLAIM_PAY_FAILED")
    assert failed_sms.params["reason"] == "户名与账号不符"
    rec = payouts_reconcile(fund_region=w.province)
    assert rec.ok and rec.failed_fen == 140_000 and rec.owed_fen == 140_000

    with pytest.raises(DomainError, match="银行卡号与支付失败时相同"):
        payout_requeue(payout=payout, actor=w.qianjiu)
    from huzhu.demo.identities import bank_card
    Member.objects.filter(pk=w.zhangsan.pk).update(bank_card=None)
    m = Member.objects.get(pk=w.zhangsan.pk)
    m.bank_card = bank_card(7788)
    m.save()
    payout_requeue(payout=payout, actor=w.qianjiu)
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.APPROVED and claim_state(claim) == ClaimState.APPROVED
    second = batch_build(fund_region=w.province, actor=w.qianjiu).batch
    line = second.lines.get()
    assert line.account_no == m.bank_card and line.out_detail_no != payout.lines.first().out_detail_no
    batch_approve(batch=second, actor=w.checker)
    second = batch_send(batch=second, actor=w.qianjiu, channel=FileDropChannel(tmp_path))
    result_import(batch=second, data=result_for(second, {}), file_name="r2.csv", actor=w.qianjiu)
    claim.refresh_from_db()
    assert claim_state(claim) == ClaimState.PAID
    assert ledger_clean() == []
    rec = payouts_reconcile(fund_region=w.province)
    assert rec.ok and rec.paid_fen == 140_000 and rec.failed_fen == 140_000
    assert rec.sent_fen == 280_000 and rec.owed_fen == 0
    assert payout.lines.filter(status=LineStatus.PAID).count() == 1


def test_a_member_without_a_card_is_left_out_of_the_batch(money_world):
    w = money_world
    s = settlement_ingest(record=record("S9", w.chenba.id_number), actor=w.bureau).settlement
    claim_file(member=w.chenba, settlement=s, product_code=MEDICAL, actor=w.lisi, source="agent",
               as_of=AS_OF)
    report = batch_build(fund_region=w.province, actor=w.qianjiu)
    assert report.batch is None and len(report.skipped_no_card) == 1


def test_a_rolled_back_approval_leaves_no_payable_payout_or_sms(money_world):
    from django.db import transaction

    w = money_world
    s = settlement_ingest(record=record("S1", w.zhangsan.id_number), actor=w.bureau).settlement
    with pytest.raises(RuntimeError), transaction.atomic():
        claim_file(member=w.zhangsan, settlement=s, product_code=MEDICAL, actor=w.lisi,
                   source="agent", as_of=AS_OF)
        raise RuntimeError("crash after approval")
    assert not Claim.objects.exists() and not Payout.objects.exists()
    assert not OutboxMessage.objects.filter(key__startswith="claim-").exists()
    assert not Transaction.objects.filter(source_type="claims.claim").exists()
