"""Per fund region payout settings (付款账户, bank, file format, balance floor): edited only by
finance at the province for the fund regions under it, each change audited with before and
after; bad input names the field and changes nothing. And the bank list (银行名录): lookup of
the roster's free-text 开户行, and updates from a CSV."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from huzhu.audit.models import Event
from huzhu.errors import DomainError, NotAllowed
from huzhu.payouts import banklist
from huzhu.payouts.models import BankNameMatch, PayeeBank, PayoutRegionSetting
from huzhu.payouts.regions import region_setting_save, regions_editable_by

pytestmark = pytest.mark.django_db

ICBC = "102100099996"


def save(w, region, actor, **change):
    values = {"adapter": "icbc-xlsx", "payer_account": "2102110009001234567",
              "payer_name": "广西职工互助保障协会", "payer_bank_cnaps": ICBC,
              "balance_floor": "5000.00"}
    values.update(change)
    return region_setting_save(region=region, actor=actor, **values)


def test_province_finance_edits_each_region_under_it_and_each_change_is_audited(world):
    w = world
    assert set(regions_editable_by(w.qianjiu)) == {w.province, w.region_b}
    s = save(w, w.region_b, w.qianjiu)
    assert (s.adapter, s.payer_account, s.payer_bank.cnaps, s.balance_floor_fen) == (
        "icbc-xlsx", "2102110009001234567", ICBC, 500_000)
    first = Event.objects.filter(action="payout.region_setting_changed").latest("seq")
    assert first.before == {} and first.after["balance_floor_fen"] == 500_000
    assert first.org_path == w.region_b.path and first.actor_id == w.qianjiu.pk
    save(w, w.region_b, w.qianjiu, adapter="cnaps-txt", balance_floor="0")
    second = Event.objects.filter(action="payout.region_setting_changed").latest("seq")
    assert second.before["adapter"] == "icbc-xlsx" and second.after["adapter"] == "cnaps-txt"
    assert second.before["balance_floor_fen"] == 500_000 and second.after["balance_floor_fen"] == 0
    n = Event.objects.count()
    save(w, w.region_b, w.qianjiu, adapter="cnaps-txt", balance_floor="0")  # nothing changed
    assert Event.objects.count() == n


def test_finance_of_a_city_region_may_not_edit_even_its_own(world, client):
    w = world
    assert not regions_editable_by(w.finance_b).exists()
    with pytest.raises(NotAllowed):
        save(w, w.region_b, w.finance_b)
    assert not PayoutRegionSetting.objects.filter(fund_region=w.region_b).exists()
    client.force_login(w.finance_b)
    assert client.get("/payouts/settings/").status_code == 404
    assert client.get(f"/payouts/settings/{w.region_b.pk}/").status_code == 404
    assert client.post(f"/payouts/settings/{w.region_b.pk}/",
                       {"adapter": "generic-csv"}).status_code == 404
    assert not PayoutRegionSetting.objects.filter(fund_region=w.region_b).exists()


@pytest.mark.parametrize("change,field,words", [
    ({"payer_account": "6222-02ab"}, "payer_account", "付款账号应为 6–32 位数字"),
    ({"payer_bank_cnaps": "999999999999"}, "payer_bank", "请从银行名录中选择"),
    ({"balance_floor": "12.345"}, "balance_floor", "最多两位小数"),
    ({"balance_floor": "-1"}, "balance_floor", "不能为负数"),
    ({"adapter": "swift-mt101"}, "adapter", "请选择银行文件格式"),
    ({"payer_account": ""}, "payer_account", "须填写付款账号、户名和开户行"),
])
def test_bad_input_names_the_field_and_changes_nothing(world, change, field, words):
    w = world
    save(w, w.province, w.qianjiu)
    before = list(PayoutRegionSetting.objects.values())
    with pytest.raises(DomainError) as e:
        save(w, w.province, w.qianjiu, **change)
    assert words in " ".join(e.value.field_errors[field]) and w.province.name in e.value.message
    assert list(PayoutRegionSetting.objects.values()) == before


def test_the_settings_page_saves_the_floor_the_balance_guard_reads(world, client):
    w = world
    client.force_login(w.qianjiu)
    page = client.get(f"/payouts/settings/{w.province.pk}/").content.decode()
    assert "基金专户余额下限" in page and "工商银行 企业网银批量支付模板" in page
    r = client.post(f"/payouts/settings/{w.province.pk}/", {
        "adapter": "cnaps-txt", "payer_account": "２１０２１１０００９００１２３４５６７",
        "payer_name": "广西职工互助保障协会", "payer_bank": ICBC, "balance_floor": "12,000.50"})
    assert r.status_code == 302
    s = PayoutRegionSetting.objects.get(fund_region=w.province)
    assert (s.payer_account, s.balance_floor_fen, s.adapter) == (
        "2102110009001234567", 1_200_050, "cnaps-txt")
    listing = client.get("/payouts/settings/").content.decode()
    assert "联行号定长文本（GBK）" in listing and "2102110009001234567" in listing
    r = client.post(f"/payouts/settings/{w.province.pk}/", {
        "adapter": "cnaps-txt", "payer_account": "x", "payer_name": "协会",
        "payer_bank": ICBC, "balance_floor": "1"})
    assert r.status_code == 200 and "付款账号应为 6–32 位数字" in r.content.decode()
    assert PayoutRegionSetting.objects.get(fund_region=w.province).balance_floor_fen == 1_200_050


@pytest.mark.parametrize("text,cnaps", [
    ("中国工商银行南宁分行", ICBC),
    ("工行 南宁 民主路支行", ICBC),
    ("中国银行南宁分行", "104100000004"),
    ("中国农业银行", "103100000026"),
    ("ＣＣＢ南宁分行", "105100000017"),
    ("邮储银行青秀支行", "403100000004"),
    ("招商银行", "308584000013"),
    ("广西农村信用社", None),
    ("", None),
    ("某某银行", None),
])
def test_the_roster_text_is_matched_to_the_bank_list(db, text, cnaps):
    found = banklist.match(text)
    assert (found.cnaps if found else None) == cnaps


def test_a_branch_loaded_from_a_csv_is_matched_by_its_city_and_staff_choices_are_kept(db, tmp_path):
    path = tmp_path / "banks.csv"
    path.write_bytes("联行号,银行名称,简称,省份,城市\r\n"
                     "102611000019,中国工商银行股份有限公司南宁分行,,广西,南宁\r\n".encode("gbk"))
    call_command("payouts_banks_load", str(path))
    assert banklist.match("工行南宁分行").cnaps == "102611000019"
    assert banklist.match("工行桂林分行").cnaps == ICBC  # no branch there: the head office
    assert Event.objects.filter(action="payout.banks_loaded").latest("seq").after["added"] == 1
    rural = PayeeBank.objects.create(cnaps="402611099974", bank_code="402",
                                     name="广西壮族自治区农村信用社联合社")
    BankNameMatch.objects.create(text="广西农村信用社", bank=rural)
    assert banklist.match(" 广西农村信用社 ") == rural


def test_a_bad_bank_list_changes_nothing_and_names_the_row(db, tmp_path):
    banklist.ensure_shipped()
    n = PayeeBank.objects.count()
    path = tmp_path / "banks.csv"
    path.write_text("联行号,银行名称\n102611000019,工行南宁\n10261100001X,坏行\n"
                    "102611000019,重复\n", encoding="utf-8")
    with pytest.raises(CommandError) as e:
        call_command("payouts_banks_load", str(path))
    assert "第 3 行“联行号”应为 12 位数字" in str(e.value) and "第 4 行“联行号” 102611000019 与第 2 行重复" in str(e.value)
    assert PayeeBank.objects.count() == n
