"""TRUST S-21: every export carries who made it and when (Beijing time), and is an event."""

from __future__ import annotations

import datetime
import io

import openpyxl
import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from huzhu.audit.models import Action, Event

pytestmark = pytest.mark.django_db

# 20:30 in Greenwich is 04:30 the next morning in Beijing.
MOMENT = datetime.datetime(2026, 12, 7, 20, 30, tzinfo=datetime.UTC)


def last_text(content: bytes) -> str:
    sheet = openpyxl.load_workbook(io.BytesIO(content)).worksheets[0]
    texts = [c.value for row in sheet.iter_rows() for c in row if isinstance(c.value, str)]
    return texts[-1]


@pytest.mark.parametrize("who, url", [
    ("wangwu", lambda w: reverse("web:member_export")),
    ("auditor", lambda w: reverse("web:event_export")),
    ("auditor", lambda w: reverse("web:login_export")),
    ("qianjiu", lambda w: reverse("ledger:statement_export", args=[w.province.pk])),
    ("qianjiu", lambda w: reverse("ledger:trial_balance_export", args=[w.province.pk])),
])
def test_each_export_is_watermarked_and_recorded(world, who, url):
    user = getattr(world, who)
    before = Event.objects.filter(action=Action.EXPORT, actor_id=user.pk).count()
    with time_machine.travel(MOMENT, tick=False):
        client = Client()
        client.force_login(user)
        response = client.get(url(world))
    assert response.status_code == 200
    mark = last_text(response.content)
    assert mark.startswith(f"导出人：{user.username}（{user}）")
    assert "导出时间：2026-12-08 04:30（北京时间）" in mark
    assert Event.objects.filter(action=Action.EXPORT, actor_id=user.pk).count() == before + 1
