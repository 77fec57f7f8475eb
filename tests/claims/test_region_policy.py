"""理赔设置 per fund region (issue 14 part 5): a region's own claim settings apply to its claims
and to no other region's; without them the product's default row, else the built-in default;
the region's reviewers edit them on the 审核设置 page (yuan in, Chinese refusals naming the
product and the field, nothing saved), each save an event with before and after; another
region's staff cannot reach them; a change applies to claims filed after it (a claim keeps the
settings it was filed under, even when its settlement is corrected later).

Two fund regions: 广西 (the province, region A: 张三 and 陈八) and 北海 (region B, 周十 and one
more member of unit C, as the payouts' region-scope tests enroll them)."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from huzhu.audit.models import Action, Event
from huzhu.claims.ingest import settlement_import_file, settlement_ingest
from huzhu.claims.models import DEFAULT_POLICY, Claim, ClaimPolicy
from huzhu.claims.risk import policy_for
from huzhu.claims.services import auto_products, claim_file
from huzhu.claims.status import ClaimStatus
from tests.payouts.test_result_scope import region_b

from .conftest import MEDICAL, jsonl, record

pytestmark = pytest.mark.django_db
AS_OF = datetime.date(2026, 3, 20)


@pytest.fixture
def two(money_world: Any) -> Any:
    """Region A (the province) and region B (北海) both offering the medical product; B's
    reviewer 黄审核 at 北海市总工会."""
    from huzhu.accounts.models import User
    from huzhu.accounts.roles import Role
    from tests.conftest import PASSWORD

    w = money_world
    w.b = region_b(w)
    w.b.reviewer = User.objects.create_user(username="huangshen", password=PASSWORD,
                                            role=Role.REVIEWER, organisation=w.region_b,
                                            display_name="黄审核")
    w.name = w.medical.product_version.name
    return w


def settle_a(w: Any, setl_id: str, member: Any = None, **kw: Any) -> Any:
    member = member or w.zhangsan
    return settlement_ingest(record=record(setl_id, member.id_number, **kw),
                             actor=w.bureau).settlement


def settle_b(w: Any, setl_id: str, member: Any = None, **kw: Any) -> Any:
    member = member or w.b.members[0]
    rec = record(setl_id, member.id_number, psn_name=member.name, **kw)
    return settlement_ingest(record=rec, actor=w.b.bureau).settlement


def file_a(w: Any, s: Any, member: Any = None) -> Claim:
    return claim_file(member=member or w.zhangsan, settlement=s, product_code=MEDICAL,
                      actor=w.lisi, source="agent", as_of=AS_OF)


def file_b(w: Any, s: Any, member: Any = None) -> Claim:
    return claim_file(member=member or w.b.members[0], settlement=s, product_code=MEDICAL,
                      actor=w.b.agent, source="agent", as_of=AS_OF)


def codes(claim: Claim) -> list[str]:
    return [f["code"] for f in claim.risk]


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def form(*, auto: bool = False, threshold: str = "20000.00", sample: str = "0",
         freq_n: str = "3", freq_days: str = "30", deadline: str = "",
         code: str = MEDICAL) -> dict[str, str]:
    data = {"form": "policies", "code_1": code, "threshold_1": threshold, "sample_1": sample,
            "freq_n_1": freq_n, "freq_days_1": freq_days, "deadline_1": deadline}
    if auto:
        data["auto_1"] = "1"
    return data


def save(client: Client, **kw: Any) -> str:
    return client.post(reverse("claims:review_settings"), form(**kw), follow=True
                       ).content.decode()


def policies() -> list[tuple]:
    return sorted(ClaimPolicy.objects.values_list(
        "fund_region_id", "product_code", "auto_claim", "review_threshold_fen",
        "sample_percent", "frequent_claims", "frequent_days", "deadline_days"),
        key=lambda r: (r[0] or 0, r[1]))


# --------------------------------------------------------------------------- which settings apply


def test_region_bs_own_settings_apply_to_its_claims_and_not_to_region_as(two):
    w = two
    ClaimPolicy.objects.create(fund_region=w.region_b, product_code=MEDICAL,
                               review_threshold_fen=10_000)  # 100 yuan
    mine = file_a(w, settle_a(w, "A1"))
    theirs = file_b(w, settle_b(w, "B1"))
    assert mine.payable_fen == theirs.payable_fen == 140_000
    assert (mine.status, codes(mine)) == (ClaimStatus.APPROVED, [])
    assert (theirs.status, codes(theirs)) == (ClaimStatus.IN_REVIEW, ["OVER_THRESHOLD"])
    assert "100.00 元" in theirs.risk[0]["message"]
    assert theirs.policy["region"] == w.region_b.pk and theirs.policy["review_threshold_fen"] == 10_000
    assert mine.policy["id"] is None and mine.policy["review_threshold_fen"] == \
        DEFAULT_POLICY.review_threshold_fen


def test_without_its_own_row_a_region_follows_the_default_row_then_the_built_in(two):
    w = two
    assert policy_for(MEDICAL, w.region_b.pk) is DEFAULT_POLICY
    default = ClaimPolicy.objects.create(product_code=MEDICAL, sample_percent=100)
    own = ClaimPolicy.objects.create(fund_region=w.region_b, product_code=MEDICAL)
    assert policy_for(MEDICAL, w.province.pk).pk == default.pk
    assert policy_for(MEDICAL, w.region_b.pk).pk == own.pk
    mine = file_a(w, settle_a(w, "A1"))
    theirs = file_b(w, settle_b(w, "B1"))
    assert codes(mine) == ["RANDOM_SAMPLE"] and mine.policy["id"] == default.pk
    assert codes(theirs) == [] and theirs.status == ClaimStatus.APPROVED  # B's own: no sample


def test_one_row_per_region_and_product_and_one_default(two):
    w = two
    ClaimPolicy.objects.create(product_code=MEDICAL)
    ClaimPolicy.objects.create(fund_region=w.region_b, product_code=MEDICAL)
    for region in (None, w.region_b):
        with pytest.raises(IntegrityError), transaction.atomic():
            ClaimPolicy.objects.create(fund_region=region, product_code=MEDICAL)
    ClaimPolicy.objects.create(fund_region=w.province, product_code=MEDICAL)
    assert ClaimPolicy.objects.count() == 3


def test_auto_claims_follow_the_members_region_from_one_load_of_the_settings(two):
    """免申即享 in 北海 only: a delivery to each region makes 北海's claims and not 广西's; a
    delivery of two members reads the settings once."""
    w = two
    ClaimPolicy.objects.create(fund_region=w.region_b, product_code=MEDICAL, auto_claim=True)
    assert auto_products(w.region_b.pk) == {MEDICAL} and auto_products(w.province.pk) == set()
    from huzhu.claims.ingest import settlement_import_file as import_file

    with CaptureQueriesContext(transaction.get_connection()) as seen:
        report = import_file(path_or_bytes=jsonl(
            record("B1", w.b.members[0].id_number, psn_name=w.b.members[0].name),
            record("B2", w.b.members[1].id_number, psn_name=w.b.members[1].name)),
            file_name="b.jsonl", actor=w.b.bureau)
    assert report.ok
    reads = [q["sql"] for q in seen.captured_queries if "claims_claimpolicy" in q["sql"]]
    assert len(reads) == 1, reads
    made = Claim.objects.filter(source="auto").order_by("setl_id")
    assert [(c.setl_id, c.fund_region_id, c.policy["auto_claim"]) for c in made] == [
        ("B1", w.region_b.pk, True), ("B2", w.region_b.pk, True)]
    settlement_import_file(path_or_bytes=jsonl(record("A1", w.zhangsan.id_number)),
                           file_name="a.jsonl", actor=w.bureau)
    assert not Claim.objects.filter(setl_id="A1").exists()  # 广西: not 免申即享
    ClaimPolicy.objects.create(product_code=MEDICAL, auto_claim=True)  # the default turns on
    settle_a(w, "A2", begin="2026-04-01", end="2026-04-03")
    assert Claim.objects.get(setl_id="A2").source == "auto"


# --------------------------------------------------------------------------- the page


def test_the_regions_reviewer_edits_the_settings_and_each_save_is_recorded(two):
    w = two
    page = client_for(w.top_reviewer)
    body = page.get(reverse("claims:review_settings")).content.decode()
    assert "理赔设置" in body and w.name in body and "沿用默认设置" in body
    assert 'value="20000.00"' in body  # the built-in default, in yuan
    done = save(page, auto=True, threshold="800.5", sample="5", freq_n="2", freq_days="60",
                deadline="90")
    assert "理赔设置已保存：1 个产品有修改" in done and "本统筹区设置" in done
    assert policies() == [(w.province.pk, MEDICAL, True, 80_050, 5, 2, 60, 90)]
    created = Event.objects.get(action=Action.SETTING_CREATED, object_type="claims.claimpolicy")
    assert created.actor_id == w.top_reviewer.pk and created.org_path == w.province.path
    assert created.before["review_threshold_fen"] == 2_000_000 and created.before["auto_claim"] is False
    assert created.after["review_threshold_fen"] == 80_050 and created.after["fund_region"] == w.province.pk
    assert 'value="800.50"' in page.get(reverse("claims:review_settings")).content.decode()
    save(page, auto=True, threshold="800.50", sample="5", freq_n="2", freq_days="60",
         deadline="")
    changed = Event.objects.get(action=Action.SETTING_CHANGED, object_type="claims.claimpolicy")
    assert (changed.before, changed.after) == ({"deadline_days": 90}, {"deadline_days": None})
    assert "0 个产品有修改" in save(page, auto=True, threshold="800.50", sample="5", freq_n="2",
                                   freq_days="60")
    assert Event.objects.filter(object_type="claims.claimpolicy").count() == 2
    # back to the default: the region's row goes, recorded with what it was
    data = {**form(threshold="oops"), "default_1": "1"}  # the other fields are not read then
    assert "1 个产品有修改" in page.post(reverse("claims:review_settings"), data,
                                     follow=True).content.decode()
    assert policies() == []
    gone = Event.objects.get(action=Action.SETTING_DELETED, object_type="claims.claimpolicy")
    assert gone.before["review_threshold_fen"] == 80_050 and gone.actor_id == w.top_reviewer.pk


@pytest.mark.parametrize(("fields", "words"), [
    ({"threshold": "五百"}, "人工审核金额“五百”不是有效金额"),
    ({"threshold": "-5"}, "人工审核金额“-5”不是有效金额"),
    ({"threshold": "1.234"}, "人工审核金额“1.234”不是有效金额"),
    ({"sample": "101"}, "随机抽检比例“101”应为 0–100 的整数"),
    ({"freq_n": "0"}, "频繁理赔次数“0”应为 1–999 的整数"),
    ({"freq_days": "三十"}, "频繁理赔天数“三十”应为 1–3660 的整数"),
    ({"deadline": "-1"}, "结算后申请期限“-1”应为 1–3660 天"),
])
def test_bad_input_names_the_product_and_field_and_saves_nothing(two, fields, words):
    w = two
    ClaimPolicy.objects.create(fund_region=w.province, product_code=MEDICAL, sample_percent=7)
    before, events = policies(), Event.objects.count()
    body = save(client_for(w.top_reviewer), **{"auto": True, "sample": "9", **fields})
    assert "理赔设置未保存" in body and f"{w.name}：{words}" in body
    assert policies() == before and Event.objects.count() == events


def test_another_regions_staff_cannot_see_or_change_region_as_settings(two):
    w = two
    ClaimPolicy.objects.create(fund_region=w.province, product_code=MEDICAL, sample_percent=7)
    before, events = policies(), Event.objects.filter(object_type="claims.claimpolicy").count()
    for user in (w.wangwu, w.zhaoliu, w.clerk_b, w.finance_b, w.b.agent, w.lisi):
        client = client_for(user)
        assert client.get(reverse("claims:review_settings")).status_code == 404
        r = client.post(reverse("claims:review_settings"), form(sample="100"))
        assert r.status_code == 404
    assert policies() == before
    # 北海's own reviewer sees 北海's settings and changes only 北海's
    page = client_for(w.b.reviewer)
    assert "北海市总工会" in page.get(reverse("claims:review_settings")).content.decode()
    save(page, sample="100")
    assert policies() == [*before, (w.region_b.pk, MEDICAL, False, 2_000_000, 100, 3, 30, None)]
    assert Event.objects.filter(object_type="claims.claimpolicy").count() == events + 1


def test_a_product_not_offered_in_the_region_is_refused(two):
    w = two
    from huzhu.products.models import ProductVersion

    other = ProductVersion.objects.exclude(code=MEDICAL).exclude(
        offers__period__fund_region=w.region_b).first()
    body = save(client_for(w.b.reviewer), code=other.code)
    assert f"产品“{other.name}”不在本统筹区提供的产品中" in body
    assert not ClaimPolicy.objects.exists()


# --------------------------------------------------------------------------- filed before, after


def test_a_claim_filed_before_a_change_keeps_its_routing_one_filed_after_follows_it(two):
    w = two
    page = client_for(w.top_reviewer)
    save(page, threshold="100")
    before = file_a(w, settle_a(w, "A1"))
    assert (before.status, codes(before)) == (ClaimStatus.IN_REVIEW, ["OVER_THRESHOLD"])
    save(page, threshold="5000")
    after = file_a(w, settle_a(w, "A2", member=w.chenba), member=w.chenba)
    assert (after.status, codes(after)) == (ClaimStatus.APPROVED, [])
    assert after.policy["review_threshold_fen"] == 500_000
    # A1's settlement corrected: assessed and checked again under the settings it was filed
    # under (100 yuan), not the new 5,000: still over the threshold, still in review.
    settle_a(w, "A1", inscp=800_000, hifp=700_000)  # payable 1,400.00 → 700.00
    before.refresh_from_db()
    assert before.payable_fen == 70_000 and before.status == ClaimStatus.IN_REVIEW
    assert codes(before)[:1] == ["OVER_THRESHOLD"]
    assert "700.00 元 > 100.00 元" in before.risk[0]["message"]
    assert before.policy["review_threshold_fen"] == 10_000
    shown = page.get(reverse("claims:detail", args=[before.pk])).content.decode()
    assert "申请时适用的理赔设置：人工审核金额 100.00 元" in shown and "本统筹区设置" in shown
