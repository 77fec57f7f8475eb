"""Period-end risk sharing run from the finance page: a preview, a second finance officer's
confirmation posting exactly the preview, shown in the statement; a second run changes
nothing, and figures changed since the preview are refused (ADR 0016)."""

from __future__ import annotations

import pytest

from huzhu.accounts.models import User
from huzhu.accounts.roles import Role
from huzhu.errors import DomainError, NotAllowed
from huzhu.ledger.models import RiskSharingRun, Transaction
from huzhu.ledger.risk_sharing import (
    risk_sharing_confirm,
    risk_sharing_preview,
    risk_sharing_propose,
)
from huzhu.ledger.statement import fund_statement
from tests.conftest import PASSWORD

from .test_risk_sharing import END, START, pool, yuan  # noqa: F401 - the pool fixture


def finance(name: str, org) -> User:
    return User.objects.create_user(username=name, password=PASSWORD, role=Role.FINANCE,
                                    organisation=org, display_name=name)


@pytest.fixture
def officers(pool):  # noqa: F811
    return finance("maker", pool.city), finance("checker", pool.city)


def test_preview_equals_confirm_and_a_second_run_changes_nothing(pool, officers):  # noqa: F811
    maker, checker = officers
    preview = risk_sharing_preview(pool=pool.city, period_code="2025", start=START, end=END)
    assert Transaction.objects.filter(source_type="ledger.risk_sharing").count() == 0
    longxu = next(x for x in preview if x["name"] == "龙圩区总工会")
    assert longxu["city_share_fen"] == yuan("78641.96")
    run = risk_sharing_propose(pool=pool.city, period_code="2025", start=START, end=END,
                               actor=maker)
    assert run.preview == preview
    with pytest.raises(NotAllowed, match="提请人不能确认"):
        risk_sharing_confirm(run=run, actor=maker)
    lines = risk_sharing_confirm(run=run, actor=checker)
    posted = [(ln.county.name, ln.city_share_fen) for ln in lines]
    assert posted == [(x["name"], x["city_share_fen"]) for x in preview]
    n = Transaction.objects.count()
    assert Transaction.objects.filter(source_type="ledger.risk_sharing").count() == 1
    st = fund_statement(org=pool.longxu, start=START, end=END)
    assert st.figures.risk_sharing_fen == yuan("78641.96")  # shown in the county's statement
    # A second run of the same period: previewed the same, confirmed, nothing new posted.
    again = risk_sharing_propose(pool=pool.city, period_code="2025", start=START, end=END,
                                 actor=checker)
    assert again.preview == preview
    risk_sharing_confirm(run=again, actor=maker)
    risk_sharing_confirm(run=run, actor=checker)
    assert Transaction.objects.count() == n
    assert fund_statement(org=pool.longxu, start=START, end=END).figures.risk_sharing_fen \
        == yuan("78641.96")


def test_figures_changed_since_the_preview_are_refused(pool, officers):  # noqa: F811
    maker, checker = officers
    run = risk_sharing_propose(pool=pool.city, period_code="2025", start=START, end=END,
                               actor=maker)
    pool.benefit(pool.longxu, "100.00")
    with pytest.raises(DomainError, match="重新预览"):
        risk_sharing_confirm(run=run, actor=checker)
    assert Transaction.objects.filter(source_type="ledger.risk_sharing").count() == 0
    assert RiskSharingRun.objects.get(pk=run.pk).confirmed_by is None


def test_the_finance_page_previews_proposes_and_a_second_officer_confirms(
        pool, officers, client):  # noqa: F811
    maker, checker = officers
    client.force_login(maker)
    q = {"pool": pool.city.pk, "period_code": "2025", "start": "2025-01-01", "end": "2025-12-31"}
    page = client.get("/ledger/risk-sharing/", q).content.decode()
    assert "龙圩区总工会" in page and "78,641.96" in page
    bad = client.get("/ledger/risk-sharing/", {**q, "start": "2026-01-01"}).content.decode()
    assert "起始日期晚于截止日期" in bad
    assert client.post("/ledger/risk-sharing/", q).status_code == 302
    run = RiskSharingRun.objects.get()
    client.post("/ledger/risk-sharing/", {"run": run.pk})
    assert Transaction.objects.filter(source_type="ledger.risk_sharing").count() == 0
    client.force_login(checker)
    client.post("/ledger/risk-sharing/", {"run": run.pk})
    assert Transaction.objects.filter(source_type="ledger.risk_sharing").count() == 1
    assert RiskSharingRun.objects.get().confirmed_by == checker
