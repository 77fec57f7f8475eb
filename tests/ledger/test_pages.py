"""Ledger pages and exports: finance staff see their subtree's books only; exports carry totals."""

from __future__ import annotations

import io

import pytest
from django.test import Client
from django.urls import reverse
from python_calamine import CalamineWorkbook

from huzhu.accounts.models import User
from huzhu.accounts.roles import Role
from huzhu.audit.models import Event
from huzhu.ledger.services import ledger_post

from ..conftest import PASSWORD
from .conftest import DAY

PERIOD = "?start=2025-01-01&end=2025-12-31"


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def ledger(world, books):
    """Premiums from 南宁 and 柳州 into the province's 专户, and one benefit approved."""
    nanning = ledger_post(key="p:nn", legs=[(books.bank, 120_000_00),
                                           (books.nanning_income, -120_000_00)],
                          memo="南宁缴费", business_date=DAY, source=("enrollment", "nn"))
    liuzhou = ledger_post(key="p:lz", legs=[(books.bank, 80_000_00),
                                           (books.liuzhou_income, -80_000_00)],
                          memo="柳州缴费", business_date=DAY, source=("enrollment", "lz"))
    ledger_post(key="c:1", legs=[(books.benefit_expense, 50_000_00),
                                 (books.benefit_payable, -50_000_00)],
                memo="核定互助金", business_date=DAY, source=("claims.claim", "1"))
    finance = {
        "nanning": User.objects.create_user(username="nn_fin", password=PASSWORD,
                                            role=Role.FINANCE, organisation=world.city_a),
        "liuzhou": User.objects.create_user(username="lz_fin", password=PASSWORD,
                                            role=Role.FINANCE, organisation=world.city_b),
    }
    return {"nanning": nanning, "liuzhou": liuzhou, "finance": finance, "books": books}


def test_province_finance_sees_the_whole_fund(world, ledger):
    client = client_for(world.qianjiu)
    body = client.get(reverse("ledger:statement", args=[world.province.pk]) + PERIOD
                      ).content.decode()
    assert "200,000.00" in body  # premium income of both cities
    assert "50,000.00" in body and "25.00%" in body  # benefits and the loss ratio
    assert "150,000.00" in body  # closing fund balance
    tb = client.get(reverse("ledger:trial_balance", args=[world.province.pk])
                    + "?as_of=2025-12-31").content.decode()
    assert "借贷平衡" in tb and "250,000.00" in tb
    index = client.get(reverse("ledger:index")).content.decode()
    assert "南宁市总工会" in index and "柳州市总工会" in index


def test_city_finance_sees_only_its_own_city(world, ledger):
    client = client_for(ledger["finance"]["nanning"])
    books = ledger["books"]
    own = client.get(reverse("ledger:statement", args=[world.city_a.pk]) + PERIOD)
    assert own.status_code == 200 and "120,000.00" in own.content.decode()
    assert "80,000.00" not in own.content.decode()
    for url in [
        reverse("ledger:statement", args=[world.city_b.pk]),
        reverse("ledger:statement_export", args=[world.city_b.pk]),
        reverse("ledger:trial_balance", args=[world.city_b.pk]),
        reverse("ledger:trial_balance_export", args=[world.city_b.pk]),
        reverse("ledger:statement", args=[world.province.pk]),
        reverse("ledger:account_detail", args=[books.liuzhou_income.pk]),
        reverse("ledger:account_detail", args=[books.bank.pk]),
        reverse("ledger:transaction_detail", args=[ledger["liuzhou"].pk]),
    ]:
        assert client.get(url).status_code == 404, url
    index = client.get(reverse("ledger:index")).content.decode()
    assert "柳州" not in index


def test_drill_down_from_account_to_transaction_and_source(world, ledger):
    client = client_for(ledger["finance"]["nanning"])
    books = ledger["books"]
    body = client.get(reverse("ledger:account_detail", args=[books.nanning_income.pk])
                      ).content.decode()
    assert "南宁缴费" in body and "enrollment nn" in body and "120,000.00" in body
    txn = client.get(reverse("ledger:transaction_detail", args=[ledger["nanning"].pk])
                     ).content.decode()
    assert "管辖范围外的科目" in txn  # the province's 专户 leg is not the city's to see
    assert "基金专户存款" not in txn


def test_staff_without_the_ledger_right_are_refused(world, ledger):
    assert client_for(world.zhaoliu).get(reverse("ledger:index")).status_code == 403
    assert client_for(world.wangwu).get(
        reverse("ledger:statement", args=[world.county_a.pk])).status_code == 403
    anonymous = Client().get(reverse("ledger:statement", args=[world.province.pk]))
    assert anonymous.status_code == 302


def _sheet(content: bytes) -> list[list]:
    book = CalamineWorkbook.from_filelike(io.BytesIO(content))
    return book.get_sheet_by_index(0).to_python()


def test_statement_export_carries_the_statement_totals(world, ledger):
    client = client_for(world.qianjiu)
    response = client.get(reverse("ledger:statement_export", args=[world.province.pk]) + PERIOD)
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    rows = {row[0]: row[1] for row in _sheet(response.content) if row and row[0]}
    assert rows["互助金收入"] == 200_000
    assert rows["互助金支出（已赔付）"] == 50_000
    assert rows["期末基金结余"] == 150_000 and rows["赔付率"] == "25.00%"
    assert any("qianjiu" in str(k) for k in rows)
    event = Event.objects.filter(object_type="ledger.statement").get()
    assert event.after["closing_fen"] == 150_000_00


def test_trial_balance_export_totals_agree(world, ledger):
    client = client_for(world.qianjiu)
    response = client.get(reverse("ledger:trial_balance_export", args=[world.province.pk])
                          + "?as_of=2025-12-31")
    total = next(row for row in _sheet(response.content) if row and row[0] == "合计")
    assert total[3] == total[4] == 250_000
