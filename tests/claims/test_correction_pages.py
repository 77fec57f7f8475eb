"""The rule-correction card on a claim's page and the list of corrections and recoveries:
a reviewer decides with the test client; wrong roles and other scopes are refused."""

from __future__ import annotations

from django.test import Client

from huzhu.claims.models import CorrectionDecision, Recovery, RecoveryStatus
from huzhu.payouts.models import Payout, PayoutKind

from .test_correction_decisions import approved_claim, flagged


def test_a_reviewer_sees_the_figures_and_decides_a_top_up(money_world):
    w = money_world
    claim = approved_claim(w)
    (a,) = flagged(w, "80%", "", claim)
    c = Client()
    c.force_login(w.wangwu)
    page = c.get(f"/claims/{claim.pk}/").content.decode()
    assert 'id="correction-form"' in page and "700.00" in page and "800.00" in page
    assert "100.00" in page and 'value="top_up"' in page and 'value="recovery"' not in page
    listing = c.get("/claims/corrections/").content.decode()
    assert f'href="/claims/{claim.pk}/"' in listing

    r = c.post(f"/claims/{claim.pk}/corrections/{a.pk}/", {"kind": "no_change", "reason": " "},
               follow=True)
    assert "不调整须填写理由" in r.content.decode() and not CorrectionDecision.objects.exists()
    c.post(f"/claims/{claim.pk}/corrections/{a.pk}/", {"kind": "top_up"})
    assert Payout.objects.get(kind=PayoutKind.TOP_UP).amount_fen == 10_000
    page = c.get(f"/claims/{claim.pk}/").content.decode()
    assert 'id="correction-form"' not in page and "已处理：补发" in page
    again = c.post(f"/claims/{claim.pk}/corrections/{a.pk}/", {"kind": "top_up"}, follow=True)
    assert "没有待处理的规则更正" in again.content.decode()
    assert CorrectionDecision.objects.count() == 1


def test_wrong_role_and_other_scope_are_refused(money_world):
    w = money_world
    claim = approved_claim(w)
    (a,) = flagged(w, "60%", "", claim)
    c = Client()
    c.force_login(w.zhaoliu)  # another city: the claim does not exist for them
    assert c.post(f"/claims/{claim.pk}/corrections/{a.pk}/", {"kind": "recovery"}).status_code == 404
    assert f"/claims/{claim.pk}/" not in c.get("/claims/corrections/").content.decode()
    c.force_login(w.qianjiu)  # finance sees it but may not decide
    assert c.post(f"/claims/{claim.pk}/corrections/{a.pk}/", {"kind": "recovery"}).status_code == 403
    c.force_login(w.lisi)  # an agent: no list
    assert c.get("/claims/corrections/").status_code == 404
    assert not CorrectionDecision.objects.exists()

    c.force_login(w.wangwu)
    c.post(f"/claims/{claim.pk}/corrections/{a.pk}/", {"kind": "recovery"})
    r = Recovery.objects.get()
    assert c.post(f"/claims/recoveries/{r.pk}/propose/", {"reason": "x"}).status_code == 403
    c.force_login(w.qianjiu)
    assert "应追回" in c.get("/claims/corrections/").content.decode()
    bad = c.post(f"/claims/recoveries/{r.pk}/received/", {"received_on": "", "bank_ref": "B"},
                 follow=True)
    assert "请填写到账日期" in bad.content.decode()
    c.post(f"/claims/recoveries/{r.pk}/propose/", {"reason": "无法联系会员"})
    c.post(f"/claims/recoveries/{r.pk}/approve/")  # the same person: refused
    r.refresh_from_db()
    assert r.status == RecoveryStatus.WRITE_OFF_PROPOSED
    c.force_login(w.checker)
    c.post(f"/claims/recoveries/{r.pk}/approve/")
    r.refresh_from_db()
    assert r.status == RecoveryStatus.WRITTEN_OFF
