"""Logs never hold a full ID number, phone or bank card (TRUST S-20), nor do the files the
platform leaves under var/ (TRUST S-13): everything logged at DEBUG, SQL included, and every
file written during a roster upload, a claim, an SMS send and a bank batch is searched for the
members' numbers."""

from __future__ import annotations

import datetime
import logging
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.urls import reverse

from huzhu.demo.identities import bank_card, resident_id
from tests.claims.conftest import MEDICAL, record
from tests.enrollment.conftest import period_world, person, xlsx  # noqa: F401

AS_OF = datetime.date(2026, 3, 20)
NEW_ID = resident_id("450103", datetime.date(1988, 4, 9), 71)
NEW_PHONE = "13698765432"
NEW_CARD = bank_card(6161)


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def var_dir(settings, tmp_path) -> Path:
    settings.VAR_DIR = tmp_path
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.DOCUMENTS_DIR = tmp_path / "documents"
    return tmp_path


@pytest.fixture
def sql_logged():
    """Django logs every query with its parameters at DEBUG when the cursor is a debug one."""
    before = connection.force_debug_cursor
    connection.force_debug_cursor = True
    yield
    connection.force_debug_cursor = before


def files_text(root: Path) -> list[tuple[Path, bytes]]:
    return [(p, p.read_bytes()) for p in sorted(root.rglob("*")) if p.is_file()]


def test_no_full_number_in_logs_or_files(period_world, var_dir, sql_logged, caplog):  # noqa: F811
    from huzhu.accounts.models import User
    from huzhu.accounts.roles import Role
    from huzhu.claims.ingest import settlement_ingest
    from huzhu.claims.services import claim_file
    from huzhu.claims.status import ClaimStatus
    from huzhu.enrollment.billing import invoice_create, payment_record
    from huzhu.enrollment.models import Roster, RosterStatus
    from huzhu.notices.services import outbox_send
    from huzhu.payouts.models import BatchStatus, PayoutBatch
    from huzhu.payouts.services import batch_approve, batch_build
    from tests.conftest import PASSWORD

    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="django")  # Django's own loggers stop at INFO
    w = period_world
    product = w.medical.product_version.name
    agent = client_for(w.lisi)
    # 1. a roster through the page: two members already registered and a new one with a card
    rows = [person("张三", w.zhangsan.id_number, product, 手机号=w.zhangsan.phone,
                   银行卡号=w.zhangsan.bank_card, 开户行="中国工商银行南宁分行"),
            person("陈八", w.chenba.id_number, product, 手机号=w.chenba.phone),
            person("刘一", NEW_ID, product, 手机号=NEW_PHONE, 银行卡号=NEW_CARD,
                   开户行="中国银行南宁分行")]
    response = agent.post(reverse("enrollment:upload", args=[w.unit_a.pk]),
                          {"file": SimpleUploadedFile("花名册.xlsx", xlsx(rows)),
                           "period": w.period.pk})
    assert response.status_code == 302
    roster = Roster.objects.get()
    agent.post(reverse("enrollment:roster_commit", args=[roster.pk]))
    roster.refresh_from_db()
    assert roster.status == RosterStatus.COMMITTED, roster.errors
    invoice = invoice_create(unit=w.unit_a, period=w.period, actor=w.lisi)
    payment_record(invoice=invoice, bank_ref="B1", amount_fen=invoice.due_fen,
                   paid_on=datetime.date(2025, 12, 10), payer_name="南宁示范机械厂",
                   actor=w.wangwu)
    # 2. a claim on a settlement, approved at once
    settlement = settlement_ingest(record=record("S1", w.zhangsan.id_number),
                                   actor=w.bureau).settlement
    claim = claim_file(member=w.zhangsan, settlement=settlement, product_code=MEDICAL,
                       actor=w.lisi, source="agent", as_of=AS_OF)
    assert claim.status == ClaimStatus.APPROVED
    # 3. the SMS the claim queued, through the default gateway (var/sms.log)
    assert outbox_send()["sent"] >= 2
    # 4. a bank batch: built, checked, sent to the file drop, downloaded by finance
    checker = User.objects.create_user(username="sunfuhe", password=PASSWORD, role=Role.FINANCE,
                                       organisation=w.province, display_name="孙复核")
    from tests.claims.conftest import fund_opening

    fund_opening(w.province)
    batch = batch_build(fund_region=w.province, actor=w.qianjiu).batch
    batch_approve(batch=batch, actor=checker)
    finance = client_for(w.qianjiu)
    finance.post(reverse("payouts:action", args=[batch.pk, "send"]))
    assert PayoutBatch.objects.get(pk=batch.pk).status == BatchStatus.SENT
    download = finance.get(reverse("payouts:download", args=[batch.pk]))
    assert w.zhangsan.bank_card.encode() in download.content  # the bank needs it in full
    from huzhu.audit.models import Action, Event

    reveal = Event.objects.get(action=Action.PII_REVEALED, object_type="payouts.payoutbatch")
    assert reveal.actor_id == w.qianjiu.pk and reveal.after == {
        "file": f"代付文件 {batch.number}", "rows": 1, "bank_card": 1}

    secrets = {"张三的身份证号": w.zhangsan.id_number, "张三的手机号": w.zhangsan.phone,
               "张三的银行卡号": w.zhangsan.bank_card, "陈八的身份证号": w.chenba.id_number,
               "陈八的手机号": w.chenba.phone, "刘一的身份证号": NEW_ID, "刘一的手机号": NEW_PHONE,
               "刘一的银行卡号": NEW_CARD}
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert len(caplog.records) > 100 and "SELECT" in logged  # the SQL really was logged
    written = files_text(var_dir)
    names = {p.relative_to(var_dir).parts[0] for p, _ in written}
    assert {"media", "bank", "sms.log"} <= names, names
    for what, value in secrets.items():
        assert value not in logged, f"{what} 出现在日志中"
        for path, data in written:
            assert value.encode() not in data, f"{what} 出现在 {path.relative_to(var_dir)}"
            assert value.encode("utf-16-le") not in data, path


def test_the_log_handler_masks_numbers_it_is_given(world):
    """The safety net: a message, its arguments and a traceback carrying numbers reach the
    configured handler masked (a library or an exception message might carry one)."""
    import io

    from huzhu.pii.logfilter import RedactPersonalData, redact

    handlers = [h for h in logging.getLogger().handlers
                if any(isinstance(f, RedactPersonalData) for f in h.filters)]
    assert handlers, "the configured console handler lost its filter"
    handler = handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    out = io.StringIO()
    previous = handler.setStream(out)
    card, phone = bank_card(3029), "13812341234"
    rid = resident_id("450103", datetime.date(1980, 5, 17), 31)
    try:
        try:
            raise ValueError(f"card {card} refused")
        except ValueError:
            logging.getLogger("huzhu.somewhere").error("member %s phone %s", rid, phone,
                                                       exc_info=True)
    finally:
        handler.setStream(previous)
    text = out.getvalue()
    assert "ValueError" in text and "refused" in text  # the traceback is there ...
    for full in (card, phone, rid):
        assert full not in text  # ... without the numbers
    assert rid[:6] + "********" + rid[-4:] in text and "138****1234" in text
    assert card[:4] + "****" in text
    # Numbers that are no personal data stay: amounts, batch numbers, dates, request numbers.
    kept = "批次 PB20261207000001 金额 140000 分 2026-03-20 请求 5f3a9c"
    assert redact(kept) == kept
