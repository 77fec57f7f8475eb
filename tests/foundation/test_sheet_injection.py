"""Every spreadsheet the platform hands out writes text as text (issue 13, part 5).

A name typed as ``=HYPERLINK("http://x","y")`` must come back from each export as that very
string in a text cell: never a formula, never a link. Each download goes through its real view
(or service) and is read back with openpyxl, which keeps a cell's stored type.
"""

from __future__ import annotations

import datetime
import io
import zipfile
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from huzhu.sheets import Sheet, csv_cell, workbook

PAYLOADS = ['=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1)"]
LINK = PAYLOADS[0]


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def assert_no_formula(content: bytes) -> list:
    """No cell of any sheet is a formula or a link; returns the sheets' cells for lookups."""
    with zipfile.ZipFile(io.BytesIO(content)) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                xml = z.read(name).decode()
                assert "<f>" not in xml and "<f " not in xml, name
                assert "<hyperlink" not in xml, name
    book = load_workbook(io.BytesIO(content))
    cells = []
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                assert cell.hyperlink is None, (ws.title, cell.coordinate)
                cells.append(cell)
    return cells


def assert_text_cells(content: bytes, expected: list[str]) -> None:
    cells = assert_no_formula(content)
    for text in expected:
        found = [c for c in cells if c.value == text]
        assert found, f"{text!r} not in the workbook"
        assert all(c.data_type == "s" for c in found), text


# --- the helper itself ---------------------------------------------------------------------


def test_sheet_writes_each_python_type_as_its_own_kind():
    out = io.BytesIO()
    book = workbook(out)
    sheet = Sheet(book, "s")
    sheet.row(0, 0, [*PAYLOADS, "http://evil.example/", "00123", 7, Decimal("12.50"),
                     datetime.date(2026, 3, 1), True, None])
    sheet.ws.write(1, 0, LINK)  # even xlsxwriter's guessing write() is switched off
    with pytest.raises(TypeError):
        sheet.cell(2, 0, object())
    book.close()
    ws = load_workbook(io.BytesIO(out.getvalue())).worksheets[0]
    row = [c for c in ws[1]]
    assert [(c.value, c.data_type) for c in row[:6]] == [
        (v, "s") for v in [*PAYLOADS, "http://evil.example/", "00123"]]
    assert row[4].hyperlink is None
    assert (row[6].value, row[6].data_type) == (7, "n")
    assert (row[7].value, row[7].data_type) == (12.5, "n")
    assert row[8].value.date() == datetime.date(2026, 3, 1) and row[8].is_date
    assert (row[9].value, row[9].data_type) == (True, "b")
    assert (ws["A2"].value, ws["A2"].data_type) == (LINK, "s")
    assert_no_formula(out.getvalue())


@pytest.mark.parametrize(("value", "expected"), [
    ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
    ("+1+1", "'+1+1"), ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\tcmd", "'\tcmd"), ("\rcmd", "'\rcmd"),
    ("-12.50", "-12.50"), ("+3", "+3"), ("张三", "张三"), ("a=b", "a=b"), ("", ""), (5, 5),
])
def test_csv_cell_neutralises_formula_starts(value, expected):
    assert csv_cell(value) == expected


# --- members export --------------------------------------------------------------------------


def test_members_export_writes_names_as_text(world):
    from huzhu.demo.identities import resident_id
    from huzhu.members.services import MemberInput, member_create
    from huzhu.organisations.models import Organisation, Unit

    for n, name in enumerate(PAYLOADS, start=1):
        member_create(actor=None, data=MemberInput(
            name=name, id_number=resident_id("450103", datetime.date(1986, 4, n), 51),
            phone="13800001111", unit=world.unit_a))
    Unit.objects.filter(pk=world.unit_a.pk).update(name="+1+1")
    Organisation.objects.filter(pk=world.grassroots_a.pk).update(name="@SUM(A1)")
    response = client_for(world.wangwu).get(reverse("web:member_export"))
    assert response.status_code == 200
    assert_text_cells(response.content, [*PAYLOADS, "+1+1", "@SUM(A1)"])
    ws = load_workbook(io.BytesIO(response.content))["会员"]
    names = [ws.cell(r, 1).value for r in range(2, ws.max_row + 1)]
    assert set(PAYLOADS) <= set(names)
    birth = ws.cell(2, 4)
    assert birth.is_date  # dates as dates


# --- roster template pre-filled with last period's members -----------------------------------


def test_roster_template_prefills_names_as_text(world):
    from huzhu.demo.identities import resident_id
    from huzhu.enrollment.models import Enrollment, EnrollmentStatus
    from huzhu.members.services import MemberInput, member_create
    from huzhu.products.models import Period
    from tests.enrollment.conftest import add_period

    w = add_period(world)
    old = Period.objects.create(
        fund_region=w.province, code="2025", name="2025 年度",
        enroll_opens=datetime.date(2024, 11, 1), enroll_closes=datetime.date(2024, 12, 31),
        coverage_start=datetime.date(2025, 1, 1), coverage_end=datetime.date(2025, 12, 31))
    for n, name in enumerate(PAYLOADS, start=1):
        member = member_create(actor=None, data=MemberInput(
            name=name, id_number=resident_id("450103", datetime.date(1987, 5, n), 53),
            phone="13800001111", bank_name=PAYLOADS[-n], unit=w.unit_a))
        Enrollment.objects.create(
            member=member, period=old, product_version=w.medical.product_version,
            offer=w.medical, unit=w.unit_a, status=EnrollmentStatus.ACTIVE, premium_fen=11000,
            org_path=w.unit_a.org_path, fund_region=w.province)
    response = client_for(w.lisi).get(
        reverse("enrollment:template", args=[w.unit_a.pk]) + f"?period={w.period.pk}")
    assert response.status_code == 200
    assert_text_cells(response.content, PAYLOADS)
    ws = load_workbook(io.BytesIO(response.content))["花名册"]
    assert {ws.cell(r, 1).value for r in range(2, ws.max_row + 1)} == set(PAYLOADS)
    assert {ws.cell(r, 5).value for r in range(2, ws.max_row + 1)} == set(PAYLOADS)


# --- roster error workbook -------------------------------------------------------------------


def test_roster_error_workbook_copies_cells_as_text(world):
    from huzhu.enrollment.models import RosterStatus
    from huzhu.enrollment.services import roster_check, roster_upload
    from tests.enrollment.conftest import HEADERS, add_period, person, xlsx

    w = add_period(world)
    product = w.medical.product_version.name
    rows = [{**person(name, "123", product), LINK: name} for name in PAYLOADS]
    roster, _ = roster_upload(unit=w.unit_a, period=w.period, file_name="花名册.xlsx",
                              data=xlsx(rows, headers=[*HEADERS, LINK]), actor=w.lisi)
    roster_check(roster)
    roster.refresh_from_db()
    assert roster.status == RosterStatus.INVALID
    response = client_for(w.lisi).get(reverse("enrollment:roster_errors", args=[roster.pk]))
    assert response.status_code == 200
    assert_text_cells(response.content, PAYLOADS)
    ws = load_workbook(io.BytesIO(response.content))["错误清单"]
    header = [c.value for c in ws[1]]
    assert LINK in header  # an uploaded header is text as well
    col = header.index(LINK) + 1
    assert [ws.cell(r, 1).value for r in range(2, 6)] == PAYLOADS
    assert [ws.cell(r, col).value for r in range(2, 6)] == PAYLOADS


# --- ledger exports --------------------------------------------------------------------------


@pytest.fixture
def poisoned_ledger(world):
    from huzhu.ledger.services import ledger_post
    from huzhu.organisations.models import Organisation
    from tests.ledger.conftest import DAY, open_books

    books = open_books(world)
    ledger_post(key="p:nn", legs=[(books.bank, 120_000_00), (books.nanning_income, -120_000_00)],
                memo=LINK, business_date=DAY, source=("enrollment", "nn"))
    ledger_post(key="p:lz", legs=[(books.bank, 80_000_00), (books.liuzhou_income, -80_000_00)],
                memo="-2+3", business_date=DAY, source=("enrollment", "lz"))
    Organisation.objects.filter(pk=world.city_a.pk).update(name=LINK)
    Organisation.objects.filter(pk=world.city_b.pk).update(name="-2+3")
    Organisation.objects.filter(pk=world.province.pk).update(name="+1+1")
    return books


def test_statement_export_writes_org_names_as_text(world, poisoned_ledger):
    response = client_for(world.qianjiu).get(
        reverse("ledger:statement_export", args=[world.province.pk])
        + "?start=2025-01-01&end=2025-12-31")
    assert response.status_code == 200
    assert_text_cells(response.content, [LINK, "-2+3", "+1+1 基金收支表"])
    ws = load_workbook(io.BytesIO(response.content)).worksheets[0]
    amounts = {r[0].value: r[1] for r in ws.iter_rows() if r[0].value}
    assert amounts["互助金收入"].data_type == "n" and amounts["互助金收入"].value == 200_000


def test_trial_balance_export_writes_org_names_as_text(world, poisoned_ledger):
    response = client_for(world.qianjiu).get(
        reverse("ledger:trial_balance_export", args=[world.province.pk]) + "?as_of=2025-12-31")
    assert response.status_code == 200
    assert_text_cells(response.content, [LINK, "-2+3"])
    ws = load_workbook(io.BytesIO(response.content)).worksheets[0]
    total = next(r for r in ws.iter_rows() if r[0].value == "合计")
    assert total[3].data_type == "n" and total[3].value == total[4].value == 200_000


# --- CSV: the rules calculator's CSV output --------------------------------------------------


def test_rules_csv_output_neutralises_formula_starts(tmp_path):
    import csv
    import json

    from huzhu.rules.cli import main
    from tests.rules.test_cli import GOOD

    path = tmp_path / "claims.jsonl"
    path.write_text("\n".join(json.dumps({**GOOD, "claim_id": p}) for p in PAYLOADS) + "\n",
                    encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    main(["calc", "--product", "yueyang-2014-hospital", "--format", "csv", str(path)], out, err)
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert [r[1] for r in rows[1:]] == ["'" + p for p in PAYLOADS]
    assert all(r[2][0].isdigit() for r in rows[1:])  # amounts stay plain numbers


def test_only_the_helper_touches_xlsxwriter():
    """A new export cannot bypass the helper: no other module imports xlsxwriter."""
    from pathlib import Path

    import huzhu

    root = Path(huzhu.__file__).parent
    users = sorted(str(p.relative_to(root)) for p in root.rglob("*.py")
                   if "xlsxwriter" in p.read_text(encoding="utf-8"))
    assert users == ["sheets.py"]
