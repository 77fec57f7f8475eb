"""Reports (issue 18 part 2): the annual fund report equals the ledger, each place sees its own
part, a unit's bulletin goes to its agent and the staff above it, and the public 公示 shows only
published periods with nothing personal beyond the masked name."""

from __future__ import annotations

import datetime
import io
import re

import pytest
from django.db.models import Sum
from django.test import Client
from django.urls import reverse
from python_calamine import CalamineWorkbook

from huzhu import clock
from huzhu.audit.models import Event
from huzhu.errors import DomainError, NotAllowed
from huzhu.insights import reports_disclosure
from huzhu.insights.models import Disclosure
from huzhu.insights.reports import annual_report, unit_bulletin
from huzhu.insights.reports_disclosure import (
    disclosure_propose,
    disclosure_publish,
    disclosure_withdraw,
)
from huzhu.ledger.models import AccountKind, Leg
from huzhu.ledger.services import account_open, ledger_post
from huzhu.ledger.statement import fund_statement
from tests.enrollment.test_receipts import pdf_pages_text, squeeze

START = datetime.date(2025, 1, 1)


def end() -> datetime.date:
    return clock.today()  # claims are approved, and their benefit posted, today


def period() -> str:
    return f"?start={START.isoformat()}&end={end().isoformat()}"


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def ledger_sum(region, kind) -> int:
    return int(Leg.objects.filter(account__fund_region=region, account__kind=kind,
                                  business_date__gte=START, business_date__lte=end())
               .aggregate(s=Sum("amount_fen"))["s"] or 0)


# --------------------------------------------------------------------------- the annual report


def test_the_annual_report_totals_equal_the_ledger(report_world):
    w = report_world
    r = annual_report(org=w.province, start=START, end=end())
    st = fund_statement(org=w.province, start=START, end=end())
    assert r.whole_region
    assert r.benefits_fen == st.figures.benefits_fen == ledger_sum(
        w.province, AccountKind.BENEFIT_EXPENSE) == 140_000 + 70_000 + 140_000
    assert r.income_fen == st.figures.premium_fen == -ledger_sum(
        w.province, AccountKind.PREMIUM_INCOME) > 0
    assert (r.opening_fen, r.closing_fen) == (st.opening_fen, st.closing_fen)
    assert r.reserve_closing_fen == st.reserve_closing_fen
    assert r.figures is not None
    assert r.opening_fen + r.figures.result_fen == r.closing_fen  # 期初 + 本期结余 = 期末
    assert r.claims_paid == 3 and r.members_helped == 3
    assert r.average_fen == 116_667  # 350,000 / 3 = 116,666.67 → ROUND_HALF_UP
    assert r.largest_fen == 140_000
    # the parts add up to the whole, by place and by product
    assert sum(p.benefits_fen for p in r.by_place) == r.benefits_fen
    assert sum(p.income_fen for p in r.by_place) == r.income_fen
    assert sum(p.benefits_fen for p in r.by_product) == r.benefits_fen
    assert sum(p.income_fen for p in r.by_product) == r.income_fen
    places = {p.label: p for p in r.by_place}
    assert places["南宁市总工会"].benefits_fen == 210_000 and places["南宁市总工会"].claims == 2
    assert places["柳州市总工会"].benefits_fen == 140_000 and places["柳州市总工会"].members == 1
    # 北海 is a fund region of its own: not a place of the province's report
    assert "北海市总工会" not in places


def test_a_correction_in_the_period_is_netted_per_claim(report_world):
    """A 追回 of part of 张三's benefit posted against his claim: his case and the totals fall
    by it, still equal to the ledger."""
    w = report_world
    claim = w.claim_zhang
    expense = account_open(org=w.province, kind=AccountKind.BENEFIT_EXPENSE,
                           product_code=claim.product_code[:40], period_code="2026")
    receivable = account_open(org=w.province, kind=AccountKind.RECOVERY_RECEIVABLE,
                              period_code="2026")
    ledger_post(key="claim-recovery:test", legs=[(receivable, 40_000), (expense, -40_000)],
                memo="追回", business_date=end(), source=("claims.claim", str(claim.pk)))
    r = annual_report(org=w.province, start=START, end=end())
    assert r.benefits_fen == ledger_sum(w.province, AccountKind.BENEFIT_EXPENSE) == 310_000
    assert r.largest_fen == 140_000  # 孙七's; 张三's is now 100,000
    assert r.average_fen == 103_333


def test_a_citys_report_holds_only_the_city(report_world):
    w = report_world
    r = annual_report(org=w.city_b, start=START, end=end())
    assert not r.whole_region and r.closing_fen is None
    assert r.benefits_fen == 140_000 and r.claims_paid == 1 and r.members_helped == 1
    invoice_b = w.unit_b.invoices.get()
    assert r.income_fen == invoice_b.total_fen
    assert [p.label for p in r.by_place] == ["城中区总工会"]


def test_a_citys_staff_read_their_city_only(report_world):
    w = report_world
    c = client_for(w.zhaoliu)
    index = c.get(reverse("insights:report_index")).content.decode()
    assert "柳州市总工会" in index and "城中区总工会" in index
    assert "南宁市总工会" not in index and "广西壮族自治区总工会" not in index
    assert c.get(reverse("insights:report_annual", args=[w.province.pk])).status_code == 404
    assert c.get(reverse("insights:report_annual", args=[w.city_a.pk])).status_code == 404
    page = c.get(reverse("insights:report_annual", args=[w.city_b.pk]) + period())
    assert page.status_code == 200
    html = page.content.decode()
    assert "1,400.00" in html and "2,100.00" not in html and "3,500.00" not in html


def test_the_province_page_and_pdf_show_the_ledgers_totals(report_world):
    w = report_world
    c = client_for(w.qianjiu)
    html = c.get(reverse("insights:report_annual", args=[w.province.pk]) + period()
                 ).content.decode()
    assert re.search(r'id="benefits">3,500\.00<', html)
    assert re.search(r'id="average">1,166\.67<', html)
    pdf = c.get(reverse("insights:report_annual_pdf", args=[w.province.pk]) + period())
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF-")
    text = squeeze("".join(pdf_pages_text(pdf.content)))
    assert "广西壮族自治区总工会职工医疗互助基金" in text and "3,500.00" in text
    assert Event.objects.filter(action="data.exported",
                                object_type="insights.annual_report").count() == 1


def test_agents_and_members_have_no_annual_report(report_world):
    w = report_world
    for user in (w.lisi, w.zhangsan_user, w.sysadmin):
        assert client_for(user).get(reverse("insights:report_index")).status_code == 403


# --------------------------------------------------------------------------- unit bulletins


def test_the_bulletin_counts_the_units_members_claims_and_ledger_benefits(report_world):
    w = report_world
    b = unit_bulletin(unit=w.unit_a, start=START, end=end())
    assert len(b.members) == 2 and b.claims_paid == 2 and b.members_helped == 2
    assert b.benefits_fen == 210_000
    assert sorted(c.name for c in b.cases) == ["张*", "陈*"]
    assert all("*" in c.id_number and len(c.id_number) == 18 for c in b.cases)


def test_an_agent_reads_his_units_bulletin_only(report_world):
    w = report_world
    c = client_for(w.lisi)
    page = c.get(reverse("insights:report_bulletin", args=[w.unit_a.pk]) + period())
    assert page.status_code == 200
    html = page.content.decode()
    assert "张*" in html and "2,100.00" in html
    assert w.zhangsan.id_number not in html and "13812341234" not in html
    assert "450103********" in html  # the masked ID, 6 + 4
    for name in ("report_bulletin", "report_bulletin_pdf", "report_bulletin_xlsx"):
        assert c.get(reverse(f"insights:{name}", args=[w.unit_b.pk])).status_code == 404
    assert client_for(w.zhangsan_user).get(
        reverse("insights:report_bulletin", args=[w.unit_a.pk])).status_code == 404
    # the menu leads the agent to it
    assert reverse("insights:report_bulletin", args=[w.unit_a.pk]) in c.get("/").content.decode()


def test_staff_read_bulletins_of_units_in_their_subtree(report_world):
    w = report_world
    assert client_for(w.zhaoliu).get(
        reverse("insights:report_bulletin", args=[w.unit_b.pk])).status_code == 200
    assert client_for(w.zhaoliu).get(
        reverse("insights:report_bulletin", args=[w.unit_a.pk])).status_code == 404
    assert client_for(w.wangwu).get(
        reverse("insights:report_bulletin", args=[w.unit_a.pk])).status_code == 200


def test_bulletin_downloads_are_masked_and_audited(report_world):
    w = report_world
    c = client_for(w.lisi)
    pdf = c.get(reverse("insights:report_bulletin_pdf", args=[w.unit_a.pk]) + period())
    assert pdf.content.startswith(b"%PDF-")
    text = squeeze("".join(pdf_pages_text(pdf.content)))
    assert "南宁示范机械厂职工医疗互助运行通报" in text and "2,100.00" in text
    assert w.zhangsan.id_number not in text and "张三" not in text and "张*" in text
    xlsx = c.get(reverse("insights:report_bulletin_xlsx", args=[w.unit_a.pk]) + period())
    rows = CalamineWorkbook.from_filelike(io.BytesIO(xlsx.content)).get_sheet_by_index(0
                                                                                   ).to_python()
    cells = [str(v) for row in rows for v in row]
    assert "张*" in cells and "张三" not in cells
    assert not any(w.zhangsan.id_number in v or w.chenba.id_number in v for v in cells)
    assert any("导出人：lisi" in v for v in cells)
    events = Event.objects.filter(action="data.exported", object_type="insights.unit_bulletin",
                                  object_id=str(w.unit_a.pk), actor_id=w.lisi.pk)
    assert sorted(e.after["format"] for e in events) == ["Excel", "PDF"]


# --------------------------------------------------------------------------- disclosure


def propose(w):
    return disclosure_propose(region=w.province, start=START, end=end(), title="",
                              actor=w.qianjiu)


FULL_ID = re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)")
PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
CARD = re.compile(r"(?<!\d)\d{16,19}(?!\d)")


def assert_nothing_personal(w, text: str) -> None:
    assert not FULL_ID.search(text) and not PHONE.search(text) and not CARD.search(text)
    for m in (w.zhangsan, w.chenba, w.sunqi):
        assert m.name not in text
    for word in ("急性阑尾炎", "K35", "广西医科大学", "南宁示范机械厂", "柳州钢圈制造公司"):
        assert word not in text


def test_only_the_regions_finance_proposes_and_a_second_one_publishes(report_world):
    w = report_world
    for outsider in (w.finance_b, w.zhaoliu, w.wangwu):
        with pytest.raises(NotAllowed):
            disclosure_propose(region=w.province, start=START, end=end(), title="",
                               actor=outsider)
    d = propose(w)
    with pytest.raises(NotAllowed, match="另一位财务人员"):
        disclosure_publish(disclosure=d, actor=w.qianjiu)
    with pytest.raises(NotAllowed):
        disclosure_publish(disclosure=d, actor=w.finance_b)
    disclosure_publish(disclosure=d, actor=w.checker)
    d.refresh_from_db()
    assert d.status == "published" and d.published_by == w.checker
    assert list(Event.objects.filter(object_type="insights.disclosure")
                .order_by("seq").values_list("action", flat=True)) == [
        "disclosure.proposed", "disclosure.published"]
    with pytest.raises(DomainError, match="已有待复核或已发布"):
        propose(w)


def test_a_period_not_over_or_a_moved_ledger_cannot_be_published(report_world):
    w = report_world
    with pytest.raises(DomainError, match="尚未到来"):
        disclosure_propose(region=w.province, start=START,
                           end=end() + datetime.timedelta(days=1), title="", actor=w.qianjiu)
    d = propose(w)
    bank = account_open(org=w.province, kind=AccountKind.BANK)
    income = account_open(org=w.province, kind=AccountKind.PREMIUM_INCOME, payer_kind="member",
                          product_code="x", period_code="2026")
    ledger_post(key="late", legs=[(bank, 100), (income, -100)], memo="迟到的缴费",
                business_date=end(), source=("enrollment.invoice", "999"))
    with pytest.raises(DomainError, match="账务已有变动"):
        disclosure_publish(disclosure=d, actor=w.checker)
    d.refresh_from_db()
    assert d.status == "proposed"


def test_the_public_page_needs_no_login_and_shows_only_published_periods(report_world):
    w = report_world
    anon = Client()
    d = propose(w)
    # proposed, not yet published: not public
    assert anon.get(reverse("insights:public_detail", args=[d.pk])).status_code == 404
    assert anon.get(reverse("insights:public_pdf", args=[d.pk])).status_code == 404
    assert d.title not in anon.get(reverse("insights:public_list")).content.decode()
    disclosure_publish(disclosure=d, actor=w.checker)
    listing = anon.get(reverse("insights:public_list"))
    assert listing.status_code == 200 and d.title in listing.content.decode()
    page = anon.get(reverse("insights:public_detail", args=[d.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "张*" in html and "陈*" in html and "孙*" in html
    assert "青秀区总工会" in html and "城中区总工会" in html  # the county, not the unit
    assert re.search(r'id="public-benefits">3,500\.00<', html)
    assert "其他基金变动" in html and "1,000,000.00" in html  # the carried-over fund
    assert_nothing_personal(w, html)
    pdf = anon.get(reverse("insights:public_pdf", args=[d.pk]))
    assert pdf.content.startswith(b"%PDF-")
    text = squeeze("".join(pdf_pages_text(pdf.content)))
    assert "广西壮族自治区总工会职工医疗互助基金" in text and "公示" in text
    assert "张*" in text and "3,500.00" in text
    assert_nothing_personal(w, text)
    # withdrawn: gone from the public at once
    disclosure_withdraw(disclosure=d, actor=w.checker, reason="数字有误")
    assert anon.get(reverse("insights:public_detail", args=[d.pk])).status_code == 404
    assert d.title not in anon.get(reverse("insights:public_list")).content.decode()
    assert Event.objects.filter(action="disclosure.withdrawn", object_id=str(d.pk)).exists()


def test_staff_pages_stay_behind_the_login(report_world):
    anon = Client()
    for name in ("insights:report_index", "insights:disclosure_list"):
        r = anon.get(reverse(name))
        assert r.status_code == 302 and "/login" in r["Location"]


def test_the_public_pages_are_rate_limited(report_world, monkeypatch):
    monkeypatch.setattr(reports_disclosure, "PUBLIC_RATE_PER_MINUTE", 3)
    anon = Client()
    codes = [anon.get(reverse("insights:public_list")).status_code for _ in range(5)]
    assert codes == [200, 200, 200, 429, 429]
    other = Client(REMOTE_ADDR="10.0.0.9")
    assert other.get(reverse("insights:public_list")).status_code == 200


def test_the_public_page_is_drawn_once_then_cached(report_world, django_assert_max_num_queries):
    w = report_world
    d = propose(w)
    disclosure_publish(disclosure=d, actor=w.checker)
    anon = Client()
    assert anon.get(reverse("insights:public_detail", args=[d.pk])).status_code == 200
    with django_assert_max_num_queries(1):  # the published row only; the page from the cache
        assert anon.get(reverse("insights:public_detail", args=[d.pk])).status_code == 200


def test_the_disclosure_pages_for_finance(report_world):
    w = report_world
    c = client_for(w.qianjiu)
    r = c.post(reverse("insights:disclosure_propose"),
               {"region": w.province.pk, "start": START.isoformat(), "end": end().isoformat(),
                "title": ""})
    d = Disclosure.objects.get()
    assert r.status_code == 302 and r["Location"] == reverse("insights:disclosure_detail",
                                                             args=[d.pk])
    page = c.get(r["Location"]).content.decode()
    assert "须由另一位财务人员复核发布" in page
    checker = client_for(w.checker)
    checker.post(reverse("insights:disclosure_publish", args=[d.pk]))
    d.refresh_from_db()
    assert d.status == "published"
    # a city's staff follow the province's disclosures but cannot act on them
    city = client_for(w.zhaoliu)
    assert city.get(reverse("insights:disclosure_detail", args=[d.pk])).status_code == 200
    city.post(reverse("insights:disclosure_withdraw", args=[d.pk]), {"reason": "x"})
    d.refresh_from_db()
    assert d.status == "published"
    # 北海's finance does not see the province's
    assert client_for(w.finance_b).get(
        reverse("insights:disclosure_detail", args=[d.pk])).status_code == 404
    bad = c.post(reverse("insights:disclosure_propose"),
                 {"region": w.province.pk, "start": "2025-13-01", "end": end().isoformat()},
                 follow=True)
    assert "请填写期间起" in bad.content.decode()


def test_the_public_cases_come_in_pages(report_world, monkeypatch):
    from huzhu.insights import views_reports

    w = report_world
    monkeypatch.setattr(views_reports, "CASES_PER_PAGE", 2)
    d = propose(w)
    disclosure_publish(disclosure=d, actor=w.checker)
    anon = Client()
    url = reverse("insights:public_detail", args=[d.pk])
    first = anon.get(url).content.decode()
    second = anon.get(url + "?page=2").content.decode()
    beyond = anon.get(url + "?page=99").content.decode()
    assert first.count("<td>青秀区总工会</td>") == 2 and "第 1 / 2 页" in first
    assert "<td>城中区总工会</td>" in second and "第 2 / 2 页" in second
    assert "第 2 / 2 页" in beyond
    assert "赔付案例（3 件）" in first


def test_a_nested_fund_region_keeps_its_own_report(report_world):
    """北海 pools its own fund under the province: its money is in its report, not in the
    province's, and each equals its own books."""
    from huzhu.ledger.models import Account
    from huzhu.ledger.selectors import P_AND_L_KINDS, balance_as_of
    from tests.claims.conftest import fund_opening

    w = report_world
    fund_opening(w.region_b, 5_000_000)
    province = annual_report(org=w.province, start=START, end=end())
    beihai = annual_report(org=w.region_b, start=START, end=end())
    own = -balance_as_of(accounts=Account.objects.filter(fund_region=w.province,
                                                         kind__in=P_AND_L_KINDS), as_of=end())
    assert province.closing_fen == own
    assert beihai.closing_fen == fund_statement(org=w.region_b, start=START,
                                                end=end()).closing_fen == 5_000_000
    assert beihai.benefits_fen == 0 and beihai.claims_paid == 0


def test_leadership_reads_the_report_and_publishes_nothing(report_world):
    from huzhu.accounts.models import User
    from huzhu.accounts.roles import Role
    from tests.conftest import PASSWORD

    w = report_world
    leader = User.objects.create_user(username="lingdao", password=PASSWORD,
                                      role=Role.LEADERSHIP, organisation=w.province)
    c = client_for(leader)
    assert c.get(reverse("insights:report_annual", args=[w.province.pk]) + period()
                 ).status_code == 200
    assert c.get(reverse("insights:disclosure_list")).status_code == 200
    with pytest.raises(NotAllowed):
        disclosure_propose(region=w.province, start=START, end=end(), title="", actor=leader)
    c.post(reverse("insights:disclosure_propose"),
           {"region": w.province.pk, "start": START.isoformat(), "end": end().isoformat()})
    assert not Disclosure.objects.exists()
