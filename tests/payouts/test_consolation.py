"""Consolation payments (慰问金): proposed within the proposer's level limit, approved by a
second person (never the proposer), paid through the batches to the member's card and posted
to 5104 慰问金支出; the statement shows it."""

from __future__ import annotations

import datetime

import pytest

from huzhu import clock
from huzhu.accounts.models import User
from huzhu.accounts.roles import Role
from huzhu.audit.models import Event
from huzhu.claims.models import Consolation, ConsolationStatus
from huzhu.errors import DomainError, NotAllowed
from huzhu.ledger.models import Account, AccountKind, Transaction
from huzhu.ledger.statement import fund_statement
from huzhu.notices.models import OutboxMessage
from huzhu.payouts.channels import FileDropChannel
from huzhu.payouts.consolation import consolation_decide, consolation_propose
from huzhu.payouts.models import Payout, PayoutKind, PayoutLine, PayoutStatus
from huzhu.payouts.services import batch_approve, batch_build, batch_send, result_import
from tests.claims.conftest import fund_opening, ledger_clean
from tests.claims.test_money import result_for
from tests.conftest import PASSWORD


@pytest.fixture
def cw(world):
    fund_opening(world.province)
    world.county_clerk = User.objects.create_user(
        username="xianji", password=PASSWORD, role=Role.COUNTY_STAFF,
        organisation=world.county_a, display_name="县经办")
    world.city_clerk = User.objects.create_user(
        username="shiji", password=PASSWORD, role=Role.CITY_STAFF,
        organisation=world.city_a, display_name="市经办")
    world.checker = User.objects.create_user(
        username="sunfuhe", password=PASSWORD, role=Role.FINANCE,
        organisation=world.province, display_name="孙复核")
    return world


def test_a_consolation_is_proposed_refused_for_self_approval_approved_paid_and_posted(
        cw, tmp_path):
    w = cw
    row = consolation_propose(member=w.zhangsan, amount_fen=80_000, reason="因病住院慰问",
                              actor=w.county_clerk)
    assert row.status == ConsolationStatus.PROPOSED
    with pytest.raises(NotAllowed, match="提出人不能审批"):
        consolation_decide(consolation=row, approve=True, actor=w.county_clerk)
    assert not Payout.objects.filter(consolation=row).exists()
    consolation_decide(consolation=row, approve=True, actor=w.city_clerk)
    row.refresh_from_db()
    assert row.status == ConsolationStatus.APPROVED and row.decided_by == w.city_clerk
    payout = Payout.objects.get(consolation=row)
    assert payout.kind == PayoutKind.CONSOLATION and payout.claim_id is None
    expense = Account.objects.get(fund_region=w.province, kind=AccountKind.CONSOLATION_EXPENSE)
    assert expense.code.startswith("5104")
    assert sum(expense.legs.values_list("amount_fen", flat=True)) == 80_000
    # Paid through the ordinary batch, to the member's card, with its SMS.
    batch = batch_build(fund_region=w.province, actor=w.qianjiu).batch
    batch = batch_approve(batch=batch, actor=w.checker)
    batch = batch_send(batch=batch, actor=w.qianjiu, channel=FileDropChannel(tmp_path))
    result_import(batch=batch, data=result_for(batch, {}), file_name="c.csv", actor=w.qianjiu)
    payout.refresh_from_db()
    assert payout.status == PayoutStatus.PAID
    line = PayoutLine.objects.get(payout=payout)
    assert line.account_no == w.zhangsan.bank_card and line.amount_fen == 80_000
    assert list(OutboxMessage.objects.filter(key__startswith="consolation-")
                .values_list("template", flat=True).order_by("id")) == [
        "CONSOLATION_APPROVED", "CONSOLATION_PAID"]
    assert {"consolation.proposed", "consolation.decided"} <= set(
        Event.objects.filter(object_type="claims.consolation").values_list("action", flat=True))
    today = clock.today()
    st = fund_statement(org=w.province, start=today - datetime.timedelta(days=3),
                        end=today + datetime.timedelta(days=3))
    assert st.figures.consolation_fen == 80_000 and st.reconciles
    assert ledger_clean() == []
    # Decided once.
    with pytest.raises(DomainError, match="已批准"):
        consolation_decide(consolation=row, approve=True, actor=w.wangwu)
    assert Transaction.objects.filter(key=f"consolation-payable:{row.pk}").count() == 1


def test_limits_follow_the_level_and_bad_input_names_the_field(cw):
    w = cw
    with pytest.raises(DomainError) as exc:
        consolation_propose(member=w.zhangsan, amount_fen=100_001, reason="慰问",
                            actor=w.county_clerk)
    assert "amount" in exc.value.field_errors and "1,000.00" in exc.value.message
    with pytest.raises(DomainError) as exc:
        consolation_propose(member=w.zhangsan, amount_fen=50_000, reason=" ",
                            actor=w.county_clerk)
    assert "reason" in exc.value.field_errors
    # A city clerk may propose 3,000.00; a county reviewer may not approve it.
    row = consolation_propose(member=w.zhangsan, amount_fen=300_000, reason="大病慰问",
                              actor=w.city_clerk)
    with pytest.raises(NotAllowed, match="超过您的审批权限"):
        consolation_decide(consolation=row, approve=True, actor=w.wangwu)
    with pytest.raises(DomainError) as exc:
        consolation_decide(consolation=row, approve=False, actor=w.wangwu)
    assert "note" in exc.value.field_errors
    consolation_decide(consolation=row, approve=False, actor=w.wangwu, note="已另行慰问")
    row.refresh_from_db()
    assert row.status == ConsolationStatus.REFUSED
    assert not Payout.objects.filter(consolation=row).exists()
    # Finance has no consolation permission; another region's member is out of scope.
    with pytest.raises(NotAllowed):
        consolation_propose(member=w.zhangsan, amount_fen=100, reason="x", actor=w.qianjiu)
    with pytest.raises(NotAllowed):
        consolation_propose(member=w.zhoushi, amount_fen=100, reason="x", actor=w.county_clerk)
    assert Consolation.objects.count() == 1


def test_the_consolation_page_proposes_and_another_approves(cw, client):
    w = cw
    client.force_login(w.county_clerk)
    page = client.get("/payouts/consolations/")
    assert page.status_code == 200 and "慰问金" in page.content.decode()
    r = client.post("/payouts/consolations/", {"id_number": w.zhangsan.id_number,
                                               "amount": "5000", "reason": "慰问"})
    assert "超过您的审批权限" in r.content.decode()
    r = client.post("/payouts/consolations/", {"id_number": w.zhangsan.id_number,
                                               "amount": "500.00", "reason": "住院慰问"})
    assert r.status_code == 302
    row = Consolation.objects.get()
    client.force_login(w.city_clerk)
    r = client.post(f"/payouts/consolations/{row.pk}/decide/", {"decision": "approve"})
    assert r.status_code == 302
    row.refresh_from_db()
    assert row.status == ConsolationStatus.APPROVED and row.amount_fen == 50_000
