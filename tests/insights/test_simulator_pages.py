"""The simulator's pages: run, save, compare, scope, and the hand-over to the product-version
page, where a second person approves (four eyes)."""

from __future__ import annotations

import datetime

import pytest
from django.core.management import call_command
from django.urls import reverse

from huzhu.audit.models import Event
from huzhu.claims.models import Claim
from huzhu.insights.models import Scenario
from huzhu.insights.simulator import memo_clear
from huzhu.products.models import DraftStatus, Offer, ProductDraft, ProductVersion

from .conftest import MEDICAL


@pytest.fixture(autouse=True)
def _fresh_memo():
    memo_clear()
    yield
    memo_clear()


def medical() -> ProductVersion:
    return ProductVersion.objects.get(code=MEDICAL, version="2015.1")


def form(w, **extra):
    data = {"base": medical().pk, "period": w.period.pk, "document": medical().document,
            "rate_medical_0": "70%", "deductible_medical": "0.00", "claim_limit_medical": "2",
            "action": "run"}
    data.update(extra)
    return data


def test_finance_runs_a_draft_and_sees_winners_and_losers(sim_world, client):
    w = sim_world
    client.force_login(w.qianjiu)
    page = client.get(reverse("insights:simulator"),
                      {"base": medical().pk, "period": w.period.pk}).content.decode()
    assert "给付比例" in page and 'name="rate_medical_0" value="70%"' in page
    page = client.post(reverse("insights:simulator"), form(w, rate_medical_0="80%")
                       ).content.decode()
    assert "测算结果" in page and "回放 4 笔理赔" in page
    # each stay gains 10 % of its base: 100 + 100 + 300 + 200 元
    assert "4,900.00" in page and "5,600.00" in page and "700.00" in page
    assert "南宁市总工会" in page and "柳州市总工会" in page
    # an unchanged form changes nothing
    page = client.post(reverse("insights:simulator"), form(w)).content.decode()
    assert "0.00（0.00%）" in page


def test_bad_lever_is_answered_in_chinese_and_saves_nothing(sim_world, client):
    w = sim_world
    client.force_login(w.qianjiu)
    page = client.post(reverse("insights:simulator"),
                       form(w, rate_medical_0="七成", action="save", name="坏方案")
                       ).content.decode()
    assert "住院医疗互助金 第 1 档：比例“七成”不是百分数" in page
    assert not Scenario.objects.exists()


def test_save_compare_and_scope(sim_world, client):
    w = sim_world
    client.force_login(w.qianjiu)
    r = client.post(reverse("insights:simulator"),
                    form(w, rate_medical_0="80%", action="save", name="提高到八成"))
    a = Scenario.objects.get(name="提高到八成")
    assert r.status_code == 302 and a.summary["change_fen"] == 70_000
    assert a.org_path == w.province.path
    assert Event.objects.filter(action="simulator.scenario_saved", object_id=str(a.pk)).exists()
    client.post(reverse("insights:simulator"),
                form(w, deductible_medical="500", action="save", name="起付线五百"))
    b = Scenario.objects.get(name="起付线五百")
    assert b.summary["change_fen"] == -140_000  # 4 stays × 500 元 × 70 %
    page = client.get(reverse("insights:simulator_scenario", args=[a.pk])).content.decode()
    assert "起付线五百" in page and 'rate = &quot;80%&quot;' in page
    page = client.get(reverse("insights:simulator_compare"), {"a": a.pk, "b": b.pk}
                      ).content.decode()
    assert "提高到八成" in page and "起付线五百" in page
    assert "700.00" in page and "-1,400.00" in page

    # 柳州's finance replays 柳州's claims only, and sees none of the province's scenarios
    client.force_login(w.fin_liuzhou)
    assert client.get(reverse("insights:simulator_scenario", args=[a.pk])).status_code == 404
    page = client.post(reverse("insights:simulator"), form(w, rate_medical_0="80%")
                       ).content.decode()
    assert "回放 1 笔理赔" in page and "南宁" not in page.split("测算结果")[1]
    # leadership may simulate; a reviewer may not
    client.force_login(w.leader)
    assert client.get(reverse("insights:simulator")).status_code == 200
    client.force_login(w.wangwu)
    assert client.get(reverse("insights:simulator")).status_code == 404


def test_a_scenario_becomes_a_version_only_with_a_second_person(sim_world, client):
    w = sim_world
    client.force_login(w.qianjiu)
    client.post(reverse("insights:simulator"),
                form(w, rate_medical_0="80%", action="save", name="八成"))
    s = Scenario.objects.get()
    r = client.post(reverse("insights:simulator_hand", args=[s.pk]), {"version": "2026.1"})
    draft = ProductDraft.objects.get()
    assert r.url == reverse("products:draft", args=[draft.pk])
    assert draft.version == "2026.1" and draft.base == medical() and "八成" in draft.source
    page = client.get(r.url).content.decode()
    assert "检查通过" in page and 'rate = &quot;80%&quot;' in page  # the diff
    # the newest claim (孙七's, base 2,000 元) explained under both: 1,400 → 1,600 元
    assert "样例理赔在两个版本下的核算" in page
    assert "1,400.00 元" in page and "1,600.00 元" in page
    # the proposer cannot approve
    client.post(reverse("products:draft_propose", args=[draft.pk]),
                {"effective_from": "2026-01-01"})
    draft.refresh_from_db()
    assert draft.status == DraftStatus.PROPOSED and draft.proposed_by == w.qianjiu
    r = client.post(reverse("products:draft_decide", args=[draft.pk]), {"decision": "approve"})
    draft.refresh_from_db()
    assert draft.status == DraftStatus.PROPOSED
    assert not ProductVersion.objects.filter(code=MEDICAL, version="2026.1").exists()
    # a second finance officer approves: the version is stored, the offer moves to it, and the
    # claims keep the version they were assessed under
    client.force_login(w.checker)
    client.post(reverse("products:draft_decide", args=[draft.pk]),
                {"decision": "approve", "note": "同意"})
    draft.refresh_from_db()
    new = ProductVersion.objects.get(code=MEDICAL, version="2026.1")
    assert draft.status == DraftStatus.APPROVED and draft.result == new
    assert Offer.objects.get(pk=w.medical.pk).product_version == new
    assert set(Claim.objects.values_list("product_version__version", flat=True)) == {"2015.1"}
    event = Event.objects.get(action="product.version_approved")
    assert event.before["status"] == "proposed" and event.after["status"] == "approved"
    assert event.after["offers_moved"] == [w.medical.pk]


def test_check_problems_are_chinese_with_line_numbers(sim_world, client):
    w = sim_world
    client.force_login(w.qianjiu)
    doc = medical().document.replace('version = "2015.1"', 'version = "2026.2"').replace(
        'kind = "ratio"', 'kind = "rattio"')
    line = next(i for i, t in enumerate(doc.splitlines(), 1) if "rattio" in t)
    r = client.post(reverse("products:draft_new"), {"base": medical().pk, "document": doc})
    draft = ProductDraft.objects.get()
    page = client.get(r.url).content.decode()
    assert f"第 {line} 行" in page and "(unknown" not in page
    assert "提请审批</button>" not in page
    # a broken TOML names its line too
    broken = doc.replace('kind = "rattio"', 'kind = "ratio"').replace('name = "住院医疗互助金"',
                                                                       'name = 住院医疗互助金')
    bad_line = next(i for i, t in enumerate(broken.splitlines(), 1) if "name = 住院" in t)
    client.post(r.url, {"document": broken})
    page = client.get(r.url).content.decode()
    assert f"第 {bad_line} 行" in page and "TOML" in page
    draft.refresh_from_db()
    # the proposal is refused while problems remain
    r2 = client.post(reverse("products:draft_propose", args=[draft.pk]),
                     {"effective_from": datetime.date(2027, 1, 1).isoformat()})
    assert r2.status_code == 302
    draft.refresh_from_db()
    assert draft.status == DraftStatus.DRAFT


def test_claims_reassess_command_takes_product_version(sim_world, capsys):
    w = sim_world
    call_command("claims_reassess", "--product", MEDICAL, "--product-version", "2015.1",
                 "--period", w.period.code, "--dry-run")
    out = capsys.readouterr().out
    assert "理赔 4 笔，金额变化 0 笔" in out
