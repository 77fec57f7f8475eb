"""The SMS outbox: templates with parameters, one message per key, sent at most once."""

from __future__ import annotations

import json

import pytest
from django.db import transaction

from huzhu.notices.gateways import LogFileGateway, SendUnknown
from huzhu.notices.models import OutboxMessage, OutboxStatus
from huzhu.notices.services import notice_enqueue, outbox_send
from huzhu.notices.templates import TemplateError, render

PARAMS = {"name": "张三", "product": "住院医疗", "period": "2026 年度", "start": "2026-01-01"}


def test_rendered_text_and_refused_parameters():
    assert render("ENROLLED", PARAMS).startswith("【职工互助保障】张三您好")
    with pytest.raises(TemplateError):
        render("ENROLLED", {"name": "张三"})
    with pytest.raises(TemplateError):
        render("FREE_TEXT", {})


def test_same_key_queues_once_and_sends_once(db, tmp_path):
    for _ in range(2):
        notice_enqueue(key="enrolled:1", template="ENROLLED", phone="13812341234", params=PARAMS)
    assert OutboxMessage.objects.count() == 1
    gateway = LogFileGateway(tmp_path / "sms.log")
    assert outbox_send(gateway=gateway)["sent"] == 1
    assert outbox_send(gateway=gateway)["sent"] == 0
    lines = (tmp_path / "sms.log").read_text().splitlines()
    assert len(lines) == 1
    request = json.loads(lines[0])
    # the log keeps no full phone and no name (TRUST S-20)
    assert request["PhoneNumbers"] == "138****1234" and request["TemplateCode"] == "ENROLLED"
    assert json.loads(request["TemplateParam"]) == {**PARAMS, "name": "张*"}
    assert request["OutId"] == "enrolled:1"
    assert "13812341234" not in lines[0] and "张三" not in lines[0]


def test_rolled_back_transaction_leaves_no_message(db):
    with pytest.raises(RuntimeError), transaction.atomic():
        notice_enqueue(key="k", template="ENROLLED", phone="13812341234", params=PARAMS)
        raise RuntimeError("the business change failed")
    assert not OutboxMessage.objects.exists()


def test_unknown_outcome_is_not_resent(db):
    class Flaky:
        calls = 0

        def send(self, request):
            self.calls += 1
            raise SendUnknown("timeout")

    notice_enqueue(key="k", template="ENROLLED", phone="13812341234", params=PARAMS)
    gateway = Flaky()
    assert outbox_send(gateway=gateway)["unknown"] == 1
    assert outbox_send(gateway=gateway)["unknown"] == 0
    assert gateway.calls == 1
    assert OutboxMessage.objects.get().status == OutboxStatus.SENDING


def test_phone_is_encrypted_in_the_outbox(db):
    from django.db import connection

    notice_enqueue(key="k", template="ENROLLED", phone="13812341234", params=PARAMS)
    with connection.cursor() as cursor:
        cursor.execute("SELECT phone FROM notices_outboxmessage")
        raw = bytes(cursor.fetchone()[0])
    assert b"13812341234" not in raw
