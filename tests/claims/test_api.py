"""Claims API: settlement push (idempotent, versions, Chinese errors per field), filing,
status with the calculation, scope."""

from __future__ import annotations

from huzhu.claims.models import Claim, ClaimPolicy
from huzhu.settlements.models import Settlement
from tests.api.conftest import api_as  # noqa: F401

from .conftest import MEDICAL, record


def test_push_is_idempotent_and_a_correction_is_a_version(money_world, api_as):  # noqa: F811
    w = money_world
    api = api_as(w.bureau)
    rec = record("S1", w.zhangsan.id_number)
    first = api.post("/claims/settlements", rec)
    assert first.status_code == 201, first.content
    body = first.json()
    assert body["outcome"] == "created" and body["member_matched"] and body["claims"] == []
    again = api.post("/claims/settlements", rec)
    assert again.status_code == 200 and again.json()["outcome"] == "unchanged"
    fixed = dict(rec, fixmedins_name="广西医科大学第二附属医院")
    assert api.post("/claims/settlements", fixed).json()["version"] == 2
    assert Settlement.objects.filter(setl_id="S1").count() == 2


def test_a_bad_record_is_refused_with_its_field_in_chinese(money_world, api_as):  # noqa: F811
    w = money_world
    rec = record("S1", w.zhangsan.id_number)
    rec["medfee_sumamt"] = "1.00"
    r = api_as(w.bureau).post("/claims/settlements", rec)
    assert r.status_code == 400
    body = r.json()
    assert "medfee_sumamt" in body["fields"] and "结算记录有误" in body["error"]
    assert not Settlement.objects.exists()


def test_auto_claim_on_push_and_status(money_world, api_as):  # noqa: F811
    w = money_world
    ClaimPolicy.objects.create(product_code=MEDICAL, auto_claim=True)
    body = api_as(w.bureau).post("/claims/settlements",
                                 record("S1", w.zhangsan.id_number)).json()
    assert len(body["claims"]) == 1
    status = api_as(w.zhangsan_user).get(f"/claims/{body['claims'][0]}").json()
    assert status["status"] == "approved" and status["payable_fen"] == 140_000
    assert status["lines"][0]["payable_fen"] == 140_000 and status["trace"]
    assert status["payout_status"] == "payable"
    assert api_as(w.zhaoliu).get(f"/claims/{body['claims'][0]}").status_code == 404


def test_agent_files_through_the_api(money_world, api_as):  # noqa: F811
    w = money_world
    api_as(w.bureau).post("/claims/settlements", record("S1", w.zhangsan.id_number))
    agent = api_as(w.lisi)
    r = agent.post("/claims", {"member_id": w.zhangsan.pk, "setl_id": "S1",
                               "product_code": MEDICAL})
    assert r.status_code == 201, r.content
    assert r.json()["source"] == "agent" and r.json()["status"] == "approved"
    assert agent.post("/claims", {"member_id": w.sunqi.pk, "setl_id": "S1",
                                  "product_code": MEDICAL}).status_code == 404
    bad = agent.post("/claims", {"member_id": w.zhangsan.pk, "setl_id": "S1",
                                 "product": MEDICAL})
    assert bad.status_code == 422
    listed = agent.get("/claims").json()
    assert [c["id"] for c in listed] == list(Claim.objects.values_list("pk", flat=True))
    assert api_as(w.qianjiu).post("/claims/settlements", record("S2", w.zhangsan.id_number)
                                  ).status_code == 403
