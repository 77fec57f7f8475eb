"""Roster files a person downloads carry personal values the way that person may see them
(TRUST S-11, S-12): an agent's renewal template is masked and uploaded again keeps the stored
values; a forged member number is refused naming row and field and changes nothing; a download
with full numbers (a role that may reveal) is one audited reveal naming the file and counts."""

from __future__ import annotations

import datetime
import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from huzhu.audit.models import Action, Event
from huzhu.enrollment.models import Enrollment, EnrollmentStatus, Roster, RosterStatus
from huzhu.members.models import Member
from huzhu.pii.masking import mask_bank_card, mask_id_number, mask_phone

from .test_roster import new_id

COL = {"name": 1, "id": 2, "phone": 3, "card": 4, "product": 11, "key": 13}


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def renewal_world(period_world, settings, tmp_path):
    """Last period (2025) 张三 (with a bank card) and 陈八 were active in unit A."""
    from huzhu.products.models import Period

    settings.MEDIA_ROOT = tmp_path / "media"
    w = period_world
    w.old = Period.objects.create(
        fund_region=w.province, code="2025", name="2025 年度",
        enroll_opens=datetime.date(2024, 11, 1), enroll_closes=datetime.date(2024, 12, 31),
        coverage_start=datetime.date(2025, 1, 1), coverage_end=datetime.date(2025, 12, 31))
    for member in (w.zhangsan, w.chenba):
        Enrollment.objects.create(
            member=member, period=w.old, product_version=w.medical.product_version,
            offer=w.medical, unit=w.unit_a, status=EnrollmentStatus.ACTIVE, premium_fen=11000,
            org_path=w.unit_a.org_path, fund_region=w.province)
    return w


def template(client, w) -> bytes:
    response = client.get(reverse("enrollment:template", args=[w.unit_a.pk])
                          + f"?period={w.period.pk}")
    assert response.status_code == 200
    return response.content


def sheet_rows(data: bytes, sheet: str = "花名册") -> list[list[str]]:
    ws = load_workbook(io.BytesIO(data))[sheet]
    return [["" if c.value is None else str(c.value) for c in row] for row in ws.iter_rows()]


def edited(data: bytes, changes: dict[tuple[int, int], str]) -> bytes:
    """The downloaded workbook with some cells changed, as an agent's Excel would save it."""
    book = load_workbook(io.BytesIO(data))
    ws = book["花名册"]
    for (row, col), value in changes.items():
        ws.cell(row, col).value = value
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload(client, w, data: bytes) -> Roster:
    response = client.post(reverse("enrollment:upload", args=[w.unit_a.pk]),
                           {"file": SimpleUploadedFile("花名册.xlsx", data), "period": w.period.pk})
    assert response.status_code == 302
    return Roster.objects.order_by("-id").first()


def all_text(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return "".join(z.read(n).decode("utf-8", "replace") for n in z.namelist())


def reveals():
    return Event.objects.filter(action=Action.PII_REVEALED)


def stored(member) -> tuple:
    m = Member.objects.get(pk=member.pk)
    return m.name, m.id_number, m.phone, m.bank_card, m.unit_id


def test_agent_downloads_a_masked_template(renewal_world):
    w = renewal_world
    data = template(client_for(w.lisi), w)
    rows = sheet_rows(data)
    assert rows[0][COL["key"] - 1] == "会员编号"
    zs = next(r for r in rows if r[0] == "张三")  # an agent manages members: names in full
    assert zs[COL["id"] - 1] == mask_id_number(w.zhangsan.id_number) == \
        w.zhangsan.id_number[:6] + "********" + w.zhangsan.id_number[-4:]
    assert zs[COL["phone"] - 1] == mask_phone(w.zhangsan.phone) == "138****1234"
    assert zs[COL["card"] - 1] == mask_bank_card(w.zhangsan.bank_card)
    assert zs[COL["key"] - 1] == str(w.zhangsan.pk)
    text = all_text(data)
    for full in (w.zhangsan.id_number, w.zhangsan.phone, w.zhangsan.bank_card,
                 w.chenba.id_number, w.chenba.phone):
        assert full not in text
    assert not reveals().exists()  # nothing full was shown


def test_the_masked_template_uploaded_again_keeps_the_stored_values(renewal_world):
    w = renewal_world
    agent = client_for(w.lisi)
    before = stored(w.zhangsan)
    data = template(agent, w)
    rows = sheet_rows(data)
    chenba_row = next(i for i, r in enumerate(rows, start=1) if r[0] == "陈八")
    # The agent types one new full phone for 陈八 and leaves every mask as it is.
    roster = upload(agent, w, edited(data, {(chenba_row, COL["phone"]): "13700009999"}))
    assert roster.status == RosterStatus.VALID, roster.errors
    agent.post(reverse("enrollment:roster_commit", args=[roster.pk]))
    roster.refresh_from_db()
    assert roster.status == RosterStatus.COMMITTED
    assert stored(w.zhangsan) == before  # masked cells kept the stored values
    chenba = Member.objects.get(pk=w.chenba.pk)
    assert chenba.id_number == w.chenba.id_number and chenba.phone == "13700009999"
    assert set(Enrollment.objects.filter(period=w.period).values_list("member_id", flat=True)) \
        == {w.zhangsan.pk, w.chenba.pk}
    assert Member.objects.count() == 4  # nobody new was made from a masked row


def masks_of(member, row: int) -> dict[tuple[int, int], str]:
    return {(row, COL["key"]): str(member.pk), (row, COL["name"]): member.name,
            (row, COL["id"]): mask_id_number(member.id_number),
            (row, COL["phone"]): mask_phone(member.phone),
            (row, COL["card"]): mask_bank_card(member.bank_card)}


def test_a_forged_member_number_is_refused_and_changes_nothing(renewal_world):
    w = renewal_world
    agent = client_for(w.lisi)
    data = template(agent, w)
    rows = sheet_rows(data)
    zs = next(i for i, r in enumerate(rows, start=1) if r[0] == "张三")
    cb = next(i for i, r in enumerate(rows, start=1) if r[0] == "陈八")
    people = Member.objects.count(), Enrollment.objects.count()
    watched = [stored(m) for m in (w.zhangsan, w.chenba, w.sunqi, w.zhoushi)]
    cases = [
        # a row made to look like 孙七 of unit B (his masks, his member number): enrolling it
        # would move him into unit A with numbers the agent never saw
        (masks_of(w.sunqi, zs), zs, "身份证号", "不是本单位的会员"),
        # ... like 周十 of the other fund region
        (masks_of(w.zhoushi, zs), zs, "身份证号", "不是本单位的会员"),
        # 张三's masked row pointed at 孙七
        ({(zs, COL["key"]): str(w.sunqi.pk)}, zs, "身份证号", "不是本单位的会员"),
        # 陈八's masked row pointed at 张三 (same unit), under 张三's name: the masks are not his
        ({(cb, COL["key"]): str(w.zhangsan.pk), (cb, COL["name"]): "张三"}, cb, "身份证号",
         "登记的不符"),
        # ... and under 陈八's own name
        ({(cb, COL["key"]): str(w.zhangsan.pk)}, cb, "姓名", "姓名与会员编号"),
        # a masked row with its member number removed
        ({(zs, COL["key"]): ""}, zs, "身份证号", "没有会员编号"),
        # 陈八's name on 张三's masked row (two members' masks may coincide)
        ({(zs, COL["name"]): "陈八"}, zs, "姓名", "姓名与会员编号"),
        # a new person's full ID with 张三's number, keeping his masked phone and card
        ({(zs, COL["id"]): new_id(5), (zs, COL["name"]): "刘五"}, zs, "身份证号", "不是同一人"),
    ]
    for changes, row, field, words in cases:
        roster = upload(agent, w, edited(data, changes))
        assert roster.status == RosterStatus.INVALID
        mine = [e for e in roster.errors if e["row"] == row]
        assert any(e["field"] == field and words in e["message"] for e in mine), roster.errors
        assert "填写完整" in "".join(e["message"] for e in mine)
        page = agent.get(reverse("enrollment:roster_detail", args=[roster.pk])).content.decode()
        assert words in page
        response = agent.post(reverse("enrollment:roster_commit", args=[roster.pk]))
        assert response.status_code == 302
        assert (Member.objects.count(), Enrollment.objects.count()) == people
        assert [stored(m) for m in (w.zhangsan, w.chenba, w.sunqi, w.zhoushi)] == watched


def test_the_error_workbook_is_masked_for_city_staff(renewal_world):
    from huzhu.accounts.models import User
    from huzhu.accounts.roles import Role

    w = renewal_world
    city = User.objects.create_user(username="nanning-city", password="x", role=Role.CITY_STAFF,
                                    organisation=w.city_a, display_name="南宁经办")
    product = w.medical.product_version.name
    from .conftest import person, xlsx

    roster = upload(client_for(w.lisi), w, xlsx([
        person("张三", w.zhangsan.id_number, product, 手机号=w.zhangsan.phone,
               银行卡号=w.zhangsan.bank_card),
        person("刘一", new_id(1), product, 手机号="13600001111"),
        person("坏人", "123", product)]))
    assert roster.status == RosterStatus.INVALID
    response = client_for(city).get(reverse("enrollment:roster_errors", args=[roster.pk]))
    assert response.status_code == 200
    text = all_text(response.content)
    for full in (w.zhangsan.id_number, w.zhangsan.phone, w.zhangsan.bank_card, new_id(1),
                 "13600001111"):
        assert full not in text
    rows = sheet_rows(response.content, "错误清单")
    assert rows[0][-3:] == ["会员编号", "银行卡号已核对", "错误原因"]
    assert rows[1][1] == mask_id_number(w.zhangsan.id_number)
    assert rows[1][-3] == str(w.zhangsan.pk) and rows[2][-3] == ""  # 刘一 is not registered
    assert not reveals().exists()
    # The masked error workbook, corrected and uploaded again: 张三 keeps his stored values;
    # 刘一's masked row cannot be matched and says so.
    book = load_workbook(io.BytesIO(response.content))
    ws = book["错误清单"]
    ws.cell(4, 2).value = new_id(3)  # 坏人's ID corrected, his phone typed in full again
    ws.cell(4, 3).value = "13800001111"
    out = io.BytesIO()
    book.save(out)
    again = upload(client_for(w.lisi), w, out.getvalue())
    assert [(e["row"], e["field"]) for e in again.errors] == [(3, "身份证号"), (3, "手机号")]


def test_a_full_number_download_is_one_audited_reveal(renewal_world):
    w = renewal_world  # 王五 reviews for 青秀区: he may reveal, and sees unit A
    data = template(client_for(w.wangwu), w)
    rows = sheet_rows(data)
    zs = next(r for r in rows if r[0] == "张三")
    assert zs[COL["id"] - 1] == w.zhangsan.id_number and zs[COL["card"] - 1] == w.zhangsan.bank_card
    event = reveals().get()
    assert event.actor_id == w.wangwu.pk and event.object_type == "organisations.unit"
    assert event.object_id == str(w.unit_a.pk)
    assert event.after == {"file": "花名册模板（2026 年度）", "rows": 2, "id_number": 2,
                           "phone": 2, "bank_card": 1}
    # The full template uploaded again is a valid roster too.
    roster = upload(client_for(w.lisi), w, data)
    assert roster.status == RosterStatus.VALID, roster.errors
    # An error workbook with full numbers is a reveal as well.
    from .conftest import person, xlsx

    bad = upload(client_for(w.lisi), w, xlsx([
        person("刘一", new_id(1), w.medical.product_version.name, 手机号="13600001111"),
        person("坏人", "123", "")]))
    response = client_for(w.wangwu).get(reverse("enrollment:roster_errors", args=[bad.pk]))
    assert new_id(1) in all_text(response.content)
    event = reveals().order_by("-seq").first()
    assert event.object_type == "enrollment.roster" and event.object_id == str(bad.pk)
    assert event.after == {"file": "花名册错误清单（花名册.xlsx）", "rows": 2, "id_number": 2,
                           "phone": 2, "bank_card": 0}
    assert reveals().count() == 2
