"""The roster's 开户行 column is tied to the bank list at import: a matched row stores the
entry's 联行号, a text the list does not know is kept (rosters come from units) and named as a
warning for the row and field, never a refusal."""

from __future__ import annotations

import datetime
import io

from django.test import Client
from django.urls import reverse
from python_calamine import CalamineWorkbook

from huzhu.demo.identities import resident_id
from huzhu.enrollment.models import RosterStatus
from huzhu.enrollment.services import roster_check, roster_confirm, roster_upload
from huzhu.enrollment.template import roster_template
from huzhu.members.models import Member

from .conftest import person, xlsx

CCB, ICBC = "105100000017", "102100099996"


def new_id(day: int) -> str:
    return resident_id("450103", datetime.date(1986, 4, day), 21)


def upload(w, data: bytes):
    roster, _ = roster_upload(unit=w.unit_a, period=w.period, file_name="花名册.xlsx",
                              data=data, actor=w.lisi)
    roster_check(roster)
    roster.refresh_from_db()
    return roster


def test_matched_rows_store_the_code_and_an_unknown_bank_is_a_warning_not_a_refusal(
        period_world):
    w = period_world
    product = w.medical.product_version.name
    card = "6225881414207430"
    rows = [person("银一", new_id(1), product, 银行卡号=card, 开户行="中国建设银行"),
            person("银二", new_id(2), product, 银行卡号=card, 开户行="工行南宁分行"),
            person("银三", new_id(3), product, 银行卡号=card, 开户行="广西农村信用社"),
            person("银四", new_id(4), product)]
    roster = upload(w, xlsx(rows))
    assert roster.status == RosterStatus.VALID and roster.error_count == 0
    assert roster.warnings == [{
        "row": 4, "field": "开户行",
        "message": "第 4 行 开户行“广西农村信用社”不在银行名录中，发放前须由工作人员选定"}]
    counts = roster_confirm(roster=roster, actor=w.lisi)
    assert counts["members_created"] == 4
    got = {m.name: (m.bank_name, m.bank_cnaps) for m in Member.objects.filter(name__startswith="银")}
    assert got == {"银一": ("中国建设银行", CCB), "银二": ("中国工商银行", ICBC),
                   "银三": ("广西农村信用社", ""), "银四": ("", "")}


def test_the_roster_page_and_api_show_the_warning(period_world):
    w = period_world
    product = w.medical.product_version.name
    roster = upload(w, xlsx([person("银五", new_id(5), product, 银行卡号="6225881414207430",
                                    开户行="某某村镇银行")]))
    client = Client()
    client.force_login(w.lisi)
    html = client.get(reverse("enrollment:roster_detail", args=[roster.pk])).content.decode()
    assert 'id="roster-warnings"' in html
    assert "第 2 行 开户行“某某村镇银行”不在银行名录中，发放前须由工作人员选定" in html
    assert "确认提交参保" in html  # a warning does not stop the commit


def test_a_bad_row_elsewhere_is_still_refused_and_its_bank_warning_not_listed(period_world):
    w = period_world
    product = w.medical.product_version.name
    roster = upload(w, xlsx([person("银六", "110105194913310020", product,
                                    开户行="某某村镇银行")]))
    assert roster.status == RosterStatus.INVALID
    assert roster.warnings == []  # the row is not written: the error is what it needs
    assert not Member.objects.filter(name="银六").exists()


def test_the_template_carries_the_bank_list_and_is_taken_back(period_world):
    w = period_world
    data = roster_template(w.unit_a, w.period)
    book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    assert "银行名录" in book.sheet_names
    banks = book.get_sheet_by_name("银行名录").to_python()
    assert banks[0] == ["银行名称", "省份", "城市", "联行号"]
    assert ["中国建设银行", "北京", "北京", CCB] in banks
    # The template as downloaded (with its bank sheet) uploads without a sheet complaint.
    roster = upload(w, data)
    assert not any("多余的工作表" in e["message"] for e in roster.errors), roster.errors
