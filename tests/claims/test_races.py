"""Fifty requests at once through the real API on PostgreSQL (issue 12): pushes of one member's
stays, versions of one ``setl_id``, filings of one settlement. Every answer is a success, a
replay or a clear 4xx in Chinese — never a 500 — and the data is as a serial run leaves it."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
from django.db import connection  # noqa: F401 - skipif
from django.test import Client

from huzhu.accounts.services import token_create
from huzhu.audit.services import chain_verify
from huzhu.claims.models import Claim, ClaimPolicy, MemberPeriodUsage
from huzhu.claims.status import GRANTED
from huzhu.claims.verify import claims_problems
from huzhu.ledger.models import Transaction
from huzhu.payouts.models import Payout
from huzhu.settlements.models import Settlement, SettlementDecision
from tests.concurrency import run_together

from .conftest import MEDICAL, ledger_clean, record

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif("connection.vendor != 'postgresql'",
                       reason="SQLite serialises every writer; the race needs PostgreSQL"),
    pytest.mark.django_db(transaction=True),
    # 50 connections at once: never beside another such test (max_connections is 100)
    pytest.mark.xdist_group("races50"),
]
N = 50


def poster(user: Any, path: str) -> Any:
    _token, plain = token_create(actor=None, user=user, name="并发测试")

    def post(body: dict[str, Any]) -> Any:
        def go() -> tuple[int, dict[str, Any]]:
            r = Client().post(f"/api{path}", json.dumps(body), content_type="application/json",
                              HTTP_AUTHORIZATION=f"Bearer {plain}")
            return r.status_code, r.json()
        return go

    return post


def whole() -> None:
    assert ledger_clean() == []
    assert list(chain_verify()) == []
    assert list(claims_problems(grace_seconds=0)) == []


def stay(i: int) -> tuple[str, str]:
    month, day = 1 + i // 5, 1 + (i % 5) * 6
    return f"2026-{month:02d}-{day:02d}", f"2026-{month:02d}-{day + 2:02d}"


def test_fifty_pushes_for_one_member_at_once(money_world):
    w = money_world
    ClaimPolicy.objects.create(product_code=MEDICAL, auto_claim=True)
    post = poster(w.bureau, "/claims/settlements")
    answers = run_together([post(record(f"P{i}", w.zhangsan.id_number, begin=stay(i)[0],
                                        end=stay(i)[1])) for i in range(N)], timeout=180)
    assert not [a for a in answers if isinstance(a, BaseException)], answers
    assert Counter(status for status, _ in answers) == {201: N}, answers
    assert all(len(body["claims"]) == 1 for _, body in answers)
    claims = Claim.objects.filter(member=w.zhangsan)
    assert claims.count() == N and SettlementDecision.objects.filter(decided_at__isnull=True).count() == 0
    # two claims a year for chongqing-2015-medical, however the pushes raced
    assert claims.filter(status__in=GRANTED).count() == 2
    usage = MemberPeriodUsage.objects.get(member=w.zhangsan, product_code=MEDICAL)
    assert usage.claims == 2
    assert usage.granted_fen == sum(c.payable_fen for c in claims.filter(status__in=GRANTED))
    assert Payout.objects.count() == 2
    assert Transaction.objects.filter(source_type="claims.claim").count() == 2
    whole()


def test_fifty_versions_of_one_setl_id_at_once(money_world):
    w = money_world
    ClaimPolicy.objects.create(product_code=MEDICAL, auto_claim=True)
    post = poster(w.bureau, "/claims/settlements")
    answers = run_together([post(record("V1", w.zhangsan.id_number, inscp=1_000_000 + i * 100))
                            for i in range(N)], timeout=180)
    assert not [a for a in answers if isinstance(a, BaseException)], answers
    statuses = Counter(status for status, _ in answers)
    assert statuses == {201: 1, 200: N - 1}, answers
    assert sorted(body["version"] for _, body in answers) == list(range(1, N + 1))
    rows = Settlement.objects.filter(setl_id="V1")
    assert rows.count() == N and rows.filter(is_current=True).count() == 1
    current = rows.get(is_current=True)
    assert current.version == N and current.decided.decided_at is not None
    # only a current version is ever owed a decision: none is left owed
    assert not SettlementDecision.objects.filter(decided_at__isnull=True).exists()
    claim = Claim.objects.get(setl_id="V1")  # one claim, on the current version
    assert claim.settlement_id == current.pk
    # a granted claim keeps its assessment; the current version's waits for a decision
    assert claim.assessments.latest("pk").settlement_id == current.pk
    assert Payout.objects.count() == 1
    whole()


def test_fifty_filings_of_one_settlement_at_once(money_world):
    w = money_world
    poster(w.bureau, "/claims/settlements")(record("F1", w.zhangsan.id_number))()
    post = poster(w.lisi, "/claims")
    body = {"member_id": w.zhangsan.pk, "setl_id": "F1", "product_code": MEDICAL}
    answers = run_together([post(body)] * N, timeout=180)
    assert not [a for a in answers if isinstance(a, BaseException)], answers
    statuses = Counter(status for status, _ in answers)
    assert statuses == {201: 1, 409: N - 1}, answers
    first = next(b for s, b in answers if s == 201)["id"]
    refusals = {b["error"] for s, b in answers if s == 409}
    # The claim's state as a person sees it (its payout not yet batched).
    assert refusals == {f"该次住院已有理赔（理赔编号 {first}，已核准待支付），不能重复申请"}
    assert Claim.objects.count() == 1 and Payout.objects.count() == 1
    whole()
