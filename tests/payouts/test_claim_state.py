"""What a person sees of an approved claim is its benefit payout's state (issue 12, part 6):
a bank result that pays or fails a line shows the claim as 已支付 / 支付失败 on the claim page,
in the member's own page, in the API and in the lists filtered by that state — while the
claim row stays exactly as approval left it, and the move is the payout's event, not the
claim's."""

from __future__ import annotations

import datetime
import importlib
import re
from typing import Any

import pytest
from django.apps import apps
from django.urls import reverse

from huzhu.audit.models import Event
from huzhu.claims.models import Claim
from huzhu.claims.status import ClaimStatus
from huzhu.payouts.models import Payout, PayoutStatus
from huzhu.payouts.services import result_import
from huzhu.payouts.shown import ClaimState, claim_state, claims_in_state
from tests.api.conftest import ApiClient
from tests.claims.test_money import result_for

from .conftest import file_claim
from .test_card_correction import send

pytestmark = pytest.mark.django_db

MARCH = datetime.date(2026, 3, 2)


def row(claim: Claim) -> dict[str, Any]:
    return Claim.objects.filter(pk=claim.pk).values().get()


def claim_events(*claims: Claim) -> list[tuple[str, dict[str, Any] | None]]:
    return list(Event.objects.filter(object_type="claims.claim",
                                     object_id__in=[str(c.pk) for c in claims])
                .order_by("seq").values_list("action", "after"))


def listed(client: Any, state: str) -> set[int]:
    """The claim numbers the claim list shows under the filter ``state``."""
    html = client.get(reverse("claims:list"), {"status": state}).content.decode()
    return {int(n) for n in re.findall(r'<a href="/claims/(\d+)/">', html)}


@pytest.fixture
def paid_and_failed(pay_world: Any, tmp_path: Any) -> Any:
    """张三's claim failed by the bank, 陈八's paid, 赵一's approved and still unpaid; the claim
    rows and the claims' events as they were before the result file."""
    w = pay_world
    w.failed = file_claim(w, w.members[0], "CS1", begin=MARCH)  # 张三, who logs in as a member
    w.paid = file_claim(w, w.members[1], "CS2", begin=MARCH)
    batch = send(w, tmp_path)
    w.waiting = file_claim(w, w.members[2], "CS3", begin=MARCH)  # after the batch: payable
    assert {c.status for c in (w.failed, w.paid, w.waiting)} == {ClaimStatus.APPROVED}
    w.rows = {c.pk: row(c) for c in (w.failed, w.paid, w.waiting)}
    w.events = claim_events(w.failed, w.paid, w.waiting)
    assert {claim_state(c) for c in (w.failed, w.paid)} == {ClaimState.PAYING}
    index = {ln.payout.claim_id: i
             for i, ln in enumerate(batch.lines.order_by("id").select_related("payout"))}
    w.seq = Event.objects.order_by("-seq").values_list("seq", flat=True).first()
    result_import(batch=batch, data=result_for(batch, {index[w.failed.pk]: ("failed", "账户冻结")}),
                  file_name="r.csv", actor=w.qianjiu)
    return w


def test_the_bank_result_moves_the_payouts_and_writes_no_claim_row(paid_and_failed):
    w = paid_and_failed
    for c in (w.failed, w.paid, w.waiting):
        assert row(c) == w.rows[c.pk]  # every column as approval left it
    assert claim_events(w.failed, w.paid, w.waiting) == w.events  # no claim event either
    moves = {e.object_id: e for e in Event.objects.filter(action="payout.transition",
                                                          seq__gt=w.seq)}
    paid, failed = (Payout.objects.get(claim=c) for c in (w.paid, w.failed))
    assert set(moves) == {str(paid.pk), str(failed.pk)}
    for payout, to, reason in ((paid, PayoutStatus.PAID, "bank_paid"),
                               (failed, PayoutStatus.FAILED, "bank_failed")):
        e = moves[str(payout.pk)]
        assert e.object_type == "payouts.payout" and e.actor_id == w.qianjiu.pk
        assert e.before == {"status": PayoutStatus.SENT}
        assert e.after == {"status": to, "reason": reason, "claim": payout.claim_id,
                           "kind": "benefit", "amount_fen": payout.amount_fen}
        assert e.org_path == payout.org_path
    assert (claim_state(w.paid), claim_state(w.failed), claim_state(w.waiting)) == (
        ClaimState.PAID, ClaimState.PAYMENT_FAILED, ClaimState.APPROVED)


def test_the_claim_pages_show_the_payout_state(paid_and_failed, client):
    w = paid_and_failed
    client.force_login(w.top_reviewer)
    for claim, shown in ((w.paid, "已支付"), (w.failed, "支付失败"), (w.waiting, "已核准待支付")):
        page = client.get(reverse("claims:detail", args=[claim.pk])).content.decode()
        assert f'<span id="claim-state">{shown}</span>' in page
    everything = client.get(reverse("claims:list")).content.decode()
    for claim, shown in ((w.paid, "已支付"), (w.failed, "支付失败"), (w.waiting, "已核准待支付")):
        assert re.search(rf'/claims/{claim.pk}/">{claim.pk}</a></td>.*?<td>{shown}</td>',
                         everything), shown
    assert listed(client, "paid") == {w.paid.pk}
    assert listed(client, "pay_failed") == {w.failed.pk}
    assert listed(client, "approved") == {w.waiting.pk}
    assert listed(client, "paying") == set()
    assert listed(client, "") == {w.paid.pk, w.failed.pk, w.waiting.pk}
    options = client.get(reverse("claims:list")).content.decode()
    for label in ("已核准待支付", "支付中", "已支付", "支付失败"):
        assert f">{label}</option>" in options


def test_the_member_sees_the_failed_payment_and_where_it_stands(paid_and_failed, client):
    w = paid_and_failed
    client.force_login(w.zhangsan_user)
    mine = client.get(reverse("claims:mine")).content.decode()
    card = mine[mine.index(f'id="claim-{w.failed.pk}"'):]
    assert '<strong class="status">支付失败</strong>' in card
    assert "请在“银行卡”页面用短信验证码更换银行卡" in card
    steps = re.findall(r"<li( class=\"done\")?>([^<]+)</li>", card)[:4]
    assert steps == [(' class="done"', "已提交"), (' class="done"', "审核中"),
                     (' class="done"', "已核准"), ("", "已到账")]


def test_the_api_shows_the_payout_state_and_filters_by_it(paid_and_failed):
    w = paid_and_failed
    api = ApiClient(w.top_reviewer)
    for claim, state, zh, payout in ((w.paid, "paid", "已支付", "paid"),
                                     (w.failed, "pay_failed", "支付失败", "failed"),
                                     (w.waiting, "approved", "已核准待支付", "payable")):
        body = api.get(f"/claims/{claim.pk}").json()
        assert (body["status"], body["status_zh"], body["decision"], body["payout_status"]) == (
            state, zh, "approved", payout)
    assert [r["id"] for r in api.get("/claims", status="paid").json()] == [w.paid.pk]
    assert [r["id"] for r in api.get("/claims", status="pay_failed").json()] == [w.failed.pk]
    rows = {r["id"]: r["status"] for r in api.get("/claims").json()}
    assert rows == {w.paid.pk: "paid", w.failed.pk: "pay_failed", w.waiting.pk: "approved"}
    member = ApiClient(w.zhangsan_user)
    assert [(r["id"], r["status"]) for r in member.get("/claims").json()] == [
        (w.failed.pk, "pay_failed")]


def test_the_filter_is_one_database_query(paid_and_failed, django_assert_num_queries):
    w = paid_and_failed
    with django_assert_num_queries(1):
        assert list(claims_in_state(Claim.objects.all(), "pay_failed")
                    .values_list("pk", flat=True)) == [w.failed.pk]


def test_the_migration_makes_former_payment_statuses_approved_and_back(paid_and_failed):
    """Claims migration 0008: claims still 支付中 / 已支付 / 支付失败 become 已核准; going back
    reads the old statuses off the benefit payouts."""
    w = paid_and_failed
    m = importlib.import_module("huzhu.claims.migrations.0008_claim_status_ends_at_decision")
    m.statuses_follow_payouts(apps, None)
    assert dict(Claim.objects.values_list("pk", "status")) == {
        w.paid.pk: "paid", w.failed.pk: "pay_failed", w.waiting.pk: "approved"}
    m.statuses_end_at_decision(apps, None)
    assert set(Claim.objects.values_list("status", flat=True)) == {ClaimStatus.APPROVED}
    assert claim_state(Claim.objects.get(pk=w.paid.pk)) == ClaimState.PAID
