"""The fund balance guard (issue 16 part 4): a batch that would take the fund account below
zero, or below the region's floor, is refused with the figures at approval and at sending,
unless the checker (a second finance person) overrides with a reason; approved, unsent batches
count as already spent. Plus the opening balance it reads."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.db import connection, connections  # noqa: F401 - connection: skipif
from django.urls import reverse

from huzhu.audit.models import Event
from huzhu.errors import DomainError, NotAllowed
from huzhu.ledger.opening import fund_opening_record
from huzhu.ledger.services import IdempotencyConflict
from huzhu.payouts.balance import fund_cover
from huzhu.payouts.channels import FileDropChannel
from huzhu.payouts.models import BatchStatus, PayoutBatch, PayoutRegionSetting
from huzhu.payouts.services import batch_approve, batch_build, batch_send
from tests.concurrency import run_together

from .conftest import file_claim

OPENING = 100_000_000  # the fixtures' ¥1,000,000
MARCH = datetime.date(2026, 3, 2)


def claims(w: Any, n: int, prefix: str = "FB") -> None:
    for i, m in enumerate(w.members[:n]):
        file_claim(w, m, f"{prefix}{i}", begin=MARCH)


def floor_leaving(w: Any, batch: PayoutBatch, spare_fen: int) -> None:
    """Set the floor so that ``batch`` leaves ``spare_fen`` above it (negative: short by it)."""
    cover = fund_cover(batch)
    PayoutRegionSetting.objects.update_or_create(
        fund_region=w.province,
        defaults={"balance_floor_fen": cover.after_fen - spare_fen})


@pytest.mark.django_db
def test_a_covered_batch_is_approved_with_its_figures(pay_world):
    w = pay_world
    claims(w, 2)
    batch = batch_build(fund_region=w.province, actor=w.qianjiu).batch
    cover = fund_cover(batch)
    assert cover.ok and cover.batch_fen == batch.total_fen > 0
    assert cover.bank_fen >= OPENING and cover.in_transit_fen == 0 and cover.committed_fen == 0
    batch_approve(batch=batch, actor=w.checker)
    event = Event.objects.filter(action="payout.batch_approved").latest("seq")
    assert event.after["after_fen"] == cover.after_fen and event.after["batch_fen"] == batch.total_fen
    assert "over_balance_reason" not in event.after


@pytest.mark.django_db
def test_short_is_refused_with_the_figures_and_nothing_moves(pay_world):
    w = pay_world
    claims(w, 2)
    batch = batch_build(fund_region=w.province, actor=w.qianjiu).batch
    floor_leaving(w, batch, -1)  # one fen short
    with pytest.raises(DomainError) as err:
        batch_approve(batch=batch, actor=w.checker)
    text = err.value.message
    assert "余额不足" in text and "基金专户余额" in text and "余额下限" in text
    assert "超额发送理由" in text
    batch.refresh_from_db()
    assert batch.status == BatchStatus.DRAFT and batch.checked_by_id is None
    assert not Event.objects.filter(action="payout.batch_approved").exists()
    floor_leaving(w, batch, 0)  # exactly at the floor is allowed
    assert batch_approve(batch=batch, actor=w.checker).status == BatchStatus.APPROVED


@pytest.mark.django_db
def test_the_checker_overrides_with_a_reason_and_it_is_audited(pay_world, tmp_path):
    w = pay_world
    claims(w, 2)
    batch = batch_build(fund_region=w.province, actor=w.qianjiu).batch
    floor_leaving(w, batch, -500)
    approved = batch_approve(batch=batch, actor=w.checker,
                             override_reason="财政补贴 12 月 10 日到账，已与开户行确认")
    assert approved.status == BatchStatus.APPROVED
    event = Event.objects.filter(action="payout.batch_approved").latest("seq")
    assert event.actor_id == w.checker.pk
    assert event.after["over_balance_reason"].startswith("财政补贴")
    assert event.after["after_fen"] < event.after["floor_fen"]
    sent = batch_send(batch=approved, actor=w.qianjiu, channel=FileDropChannel(tmp_path))
    assert sent.status == BatchStatus.SENT


@pytest.mark.django_db
def test_approved_unsent_batches_count_as_spent_and_sending_checks_again(pay_world, tmp_path):
    w = pay_world
    claims(w, 4)
    first = batch_build(fund_region=w.province, actor=w.qianjiu, limit=2).batch
    second = batch_build(fund_region=w.province, actor=w.qianjiu, limit=2).batch
    # Room for one of the two, not both.
    floor_leaving(w, first, second.total_fen - 1)
    batch_approve(batch=first, actor=w.checker)
    with pytest.raises(DomainError, match="已复核待发送批次"):
        batch_approve(batch=second, actor=w.checker)
    # The floor rises after approval: the send is refused too, and nothing went to the bank.
    floor_leaving(w, first, -1)
    with pytest.raises(DomainError, match="余额不足，不能发送"):
        batch_send(batch=first, actor=w.qianjiu, channel=FileDropChannel(tmp_path))
    first.refresh_from_db()
    assert first.status == BatchStatus.APPROVED and not list(tmp_path.iterdir())


@pytest.mark.django_db
def test_the_batch_page_shows_the_figures_and_takes_a_reason(pay_world, client):
    w = pay_world
    claims(w, 2)
    batch = batch_build(fund_region=w.province, actor=w.qianjiu).batch
    floor_leaving(w, batch, -100)
    client.force_login(w.checker)
    page = client.get(reverse("payouts:batch", args=[batch.pk])).content.decode()
    assert "发送后可用余额" in page and 'name="override_reason"' in page
    refused = client.post(reverse("payouts:action", args=[batch.pk, "approve"]), follow=True)
    assert "余额不足，不能复核" in refused.content.decode()
    client.post(reverse("payouts:action", args=[batch.pk, "approve"]),
                {"override_reason": "补贴已到账"})
    batch.refresh_from_db()
    assert batch.status == BatchStatus.APPROVED and batch.over_balance_reason == "补贴已到账"


@pytest.mark.django_db
def test_the_opening_balance_is_once_per_region_and_only_by_its_finance(pay_world):
    w = pay_world
    again = fund_opening_record(region=w.province, amount_fen=OPENING,
                                on=datetime.date(2025, 12, 31), actor=None)
    assert again.key == f"opening:{w.province.pk}"  # the same transaction
    with pytest.raises(IdempotencyConflict):
        fund_opening_record(region=w.province, amount_fen=OPENING + 1,
                            on=datetime.date(2025, 12, 31), actor=None)
    with pytest.raises(NotAllowed):
        fund_opening_record(region=w.region_b, amount_fen=1, on=datetime.date(2025, 12, 31),
                            actor=w.qianjiu)  # the province's finance, not 北海's
    with pytest.raises(NotAllowed):
        fund_opening_record(region=w.region_b, amount_fen=1, on=datetime.date(2025, 12, 31),
                            actor=w.wangwu)  # a reviewer
    with pytest.raises(DomainError, match="不是统筹区"):
        fund_opening_record(region=w.city_a, amount_fen=1, on=datetime.date(2025, 12, 31),
                            actor=None)


@pytest.mark.postgres
@pytest.mark.skipif("connection.vendor != 'postgresql'",
                    reason="SQLite serialises every writer; the race needs PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_two_checkers_at_once_cannot_both_spend_the_same_money(pay_world):
    from huzhu.accounts.models import User
    from huzhu.accounts.roles import Role
    from tests.conftest import PASSWORD

    w = pay_world
    third = User.objects.create_user(username="third_fin", password=PASSWORD, role=Role.FINANCE,
                                     organisation=w.province, display_name="第三财务")
    claims(w, 4)
    first = batch_build(fund_region=w.province, actor=w.qianjiu, limit=2).batch
    second = batch_build(fund_region=w.province, actor=w.qianjiu, limit=2).batch
    floor_leaving(w, first, second.total_fen - 1)
    results = run_together([lambda: batch_approve(batch=first, actor=w.checker),
                            lambda: batch_approve(batch=second, actor=third)])
    approved = [r for r in results if isinstance(r, PayoutBatch)]
    refused = [r for r in results if isinstance(r, DomainError)]
    assert len(approved) == 1 and len(refused) == 1, results
    assert PayoutBatch.objects.filter(status=BatchStatus.APPROVED).count() == 1


@pytest.mark.django_db
def test_the_opening_command_records_once_and_explains_in_chinese(world, capsys):
    from django.core.management import CommandError, call_command

    from huzhu.ledger.models import Transaction

    world.region_b.code = "BH"
    world.region_b.save(update_fields=["code"])
    call_command("ledger_opening", region="BH", yuan="1234.56", on="2025-12-31")
    assert "期初基金余额 1234.56 元已入账" in capsys.readouterr().out
    tx = Transaction.objects.get(key=f"opening:{world.region_b.pk}")
    assert sorted(leg.amount_fen for leg in tx.legs.all()) == [-123456, 123456]
    call_command("ledger_opening", region="BH", yuan="1234.56", on="2025-12-31")
    assert Transaction.objects.filter(key__startswith="opening:").count() == 1
    with pytest.raises(CommandError, match="金额或日期格式错误"):
        call_command("ledger_opening", region="BH", yuan="十元", on="2025-12-31")
    with pytest.raises(CommandError, match="没有代码为 NOPE 的组织"):
        call_command("ledger_opening", region="NOPE", yuan="1", on="2025-12-31")
