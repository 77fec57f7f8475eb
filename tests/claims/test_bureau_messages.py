"""The bureau's messages as they are (issue 15 part 1): the 2207/2304 envelope, 5203 and 4101
records, from files and from the push API; the platform's dictionaries; refusals in Chinese
naming the record and field (part 7)."""

from __future__ import annotations

import json

import pytest

from huzhu.claims.ingest import settlement_import_file, settlement_ingest
from huzhu.settlements.format import SettlementError, parse_record, unwrap
from huzhu.settlements.models import Settlement
from tests.api.conftest import api_as  # noqa: F401

from .bureau_samples import envelope_2304, list_4101, one_line, pretty, record_5203, refund_2305
from .conftest import record


def test_a_pretty_printed_2304_envelope_file_is_one_settlement(world):
    rec = record("S1", world.zhangsan.id_number)
    report = settlement_import_file(path_or_bytes=pretty(envelope_2304(rec)),
                                    file_name="2304.json", actor=world.bureau)
    assert report.ok and report.records == 1 and report.created == 1 and report.matched == 1
    s = Settlement.objects.get(setl_id="S1")
    assert s.hosp_lv == 3  # 02 三级甲等
    assert s.medfee_sumamt_fen == 1_200_000 and s.psn_cash_pay_fen == 500_000
    raw = json.loads(s.raw)
    assert raw["naty"] == "01" and raw["setldetail"][0]["fund_pay_type"] == "310100"
    assert raw["_envelope"]["inf_refmsgid"].startswith("5000002026")


def test_one_line_envelopes_and_the_push_api_take_the_same_message(world):
    a = envelope_2304(record("S1", world.zhangsan.id_number))
    b = envelope_2304(record("S2", world.chenba.id_number), gend="0")
    report = settlement_import_file(path_or_bytes=one_line(a, b), file_name="d.jsonl",
                                    actor=world.bureau)
    assert report.ok and report.created == 2
    assert Settlement.objects.get(setl_id="S2").gend == ""  # 0 未知的性别
    again = settlement_ingest(record=a, actor=world.bureau)
    assert again.outcome == "unchanged"  # the file's message and the pushed one are the same


def test_the_push_api_takes_the_envelope(money_world, api_as):  # noqa: F811
    rec = record("P1", money_world.zhangsan.id_number)
    client = api_as(money_world.bureau)
    r = client.post("/claims/settlements", envelope_2304(rec))
    assert r.status_code == 201, r.content
    assert r.json()["setl_id"] == "P1" and r.json()["member_matched"]
    failed = {"infcode": -1, "err_msg": "未查询到结算信息", "output": None}
    r = client.post("/claims/settlements", failed)
    assert r.status_code == 400 and "未查询到结算信息" in r.json()["error"]
    assert r.json()["fields"] == {"infcode": ["医保平台返回交易失败（infcode -1）：未查询到结算信息"]}
    assert Settlement.objects.count() == 1


def test_5203_takes_dates_hospital_and_level_where_the_platform_puts_them(world):
    rec = record("Q1", world.zhangsan.id_number, begin="2026-04-02", end="2026-04-09")
    msg = record_5203(rec, hosp_lv="06", insutype="391")
    r = settlement_ingest(record=msg, actor=world.bureau)
    s = r.settlement
    assert (s.begndate.isoformat(), s.enddate.isoformat()) == ("2026-04-02", "2026-04-09")
    assert s.fixmedins_code == "H45010300001" and s.hosp_lv == 2 and s.insutype == "391"
    assert s.psn_part_amt_fen == 500_000 and s.psn_cash_pay_fen == 500_000
    assert s.diag_code is None  # 5203 has no diagnosis (dise_codg is a 病种 code)


def test_4101_takes_dates_from_admission_and_the_main_diagnosis(world):
    rec = record("L1", world.zhangsan.id_number)
    s = settlement_ingest(record=list_4101(rec), actor=world.bureau).settlement
    assert s.begndate.isoformat() == "2026-03-01" and s.enddate.isoformat() == "2026-03-10"
    assert s.diag_code == "K35.800" and s.diag_name == "急性阑尾炎"
    assert s.psn_cash_pay_fen == 500_000
    assert json.loads(s.raw)["payinfo"][0]["fund_pay_type"] == "310100"


def test_4101_without_insutype_is_refused_naming_hi_type(world):
    msg = list_4101(record("L2", world.zhangsan.id_number))
    del msg["setlinfo"]["insutype"]
    with pytest.raises(SettlementError) as exc:
        settlement_ingest(record=msg, actor=world.bureau)
    assert exc.value.field == "insutype" and "hi_type" in exc.value.message
    assert not Settlement.objects.exists()


@pytest.mark.parametrize("code, level", [("01", 3), ("04", 3), ("05", 2), ("07", 2), ("08", 1),
                                         ("10", 1), ("11", None), ("3", 3)])
def test_hospital_levels_map_to_the_rules_level(world, code, level):
    clean = parse_record(unwrap(envelope_2304(record("H", world.zhangsan.id_number),
                                              hosp_lv=code)))
    assert clean["hosp_lv"] == level


@pytest.mark.parametrize("insutype", ["350", "360", "370", "380", "391", "399", "410"])
def test_every_national_insurance_type_is_known(world, insutype):
    rec = record("I", world.zhangsan.id_number, insutype=insutype)
    assert parse_record(unwrap(envelope_2304(rec)))["insutype"] == insutype


@pytest.mark.parametrize("cert_type, certno, kept", [
    ("04", "H12345678", "H12345678"),  # 港澳居民来往内地通行证
    ("05", "m1234567801", "M1234567801"),
    ("06", "12345678", "12345678"),  # 台湾居民来往大陆通行证
    ("07", "USA110079123456", "USA110079123456"),  # 外国人永久居留身份证 (old card)
    ("08", "E12345678", "E12345678"),
])
def test_other_documents_are_checked_by_their_type_and_stored_unmatched(world, cert_type,
                                                                         certno, kept):
    rec = record("D1", certno)
    s = settlement_ingest(record=envelope_2304(rec, psn_cert_type=cert_type),
                          actor=world.bureau).settlement
    assert s.certno == kept and s.member_id is None


@pytest.mark.parametrize("change, field, words", [
    ({"psn_cert_type": "04", "certno": "X1234"}, "certno", "港澳居民来往内地通行证"),
    ({"psn_cert_type": "77"}, "psn_cert_type", "未知的人员证件类型"),
    ({"hosp_lv": "12"}, "hosp_lv", "01–11"),
    ({"gend": "3"}, "gend", "性别"),
    ({"insutype": "311"}, "insutype", "未知的险种类型"),
    ({"refd_setl_flag": "2"}, "refd_setl_flag", "退费结算标志"),
    ({"refd_setl_flag": "1"}, "medfee_sumamt", "应为负数"),
    ({"hifp_pay": "-7000.00"}, "hifp_pay", "不能为负"),
    ({"medfee_amt": "1.00"}, "medfee_amt", "未知字段"),
])
def test_what_is_really_wrong_is_still_refused_naming_record_and_field(world, change, field,
                                                                       words):
    good = envelope_2304(record("W1", world.zhangsan.id_number))
    bad = envelope_2304(record("W2", world.zhangsan.id_number), **change)
    report = settlement_import_file(path_or_bytes=one_line(good, bad), file_name="w.jsonl",
                                    actor=world.bureau)
    assert report.created == 1 and len(report.errors) == 1
    err = report.errors[0]
    assert err.record == 2 and err.field == field and words in err.message
    assert err.text().startswith("第 2 条记录（setl_id W2） 字段 ")
    assert list(Settlement.objects.values_list("setl_id", flat=True)) == ["W1"]


@pytest.mark.parametrize("message, field, words", [
    ({"infcode": -1, "err_msg": "参保人信息不存在", "output": {}}, "infcode", "参保人信息不存在"),
    ({"infcode": "0", "err_msg": "结算信息不完整", "output": {}}, "err_msg", "结算信息不完整"),
    ({"infcode": 0, "err_msg": None, "output": {"setldetail": []}}, "setlinfo", "setlinfo"),
    ({"infcode": 0, "output": "x"}, "output", "output"),
])
def test_a_failed_or_empty_envelope_is_refused_with_the_platforms_message(world, message, field,
                                                                          words):
    report = settlement_import_file(path_or_bytes=one_line(message), file_name="e.jsonl",
                                    actor=world.bureau)
    assert report.errors[0].field == field and words in report.errors[0].message
    assert "第 1 条记录" in report.errors[0].text() and not Settlement.objects.exists()


def test_a_refund_without_person_fields_before_its_original_is_refused(world):
    rec = record("S1", world.zhangsan.id_number)
    with pytest.raises(SettlementError) as exc:
        settlement_ingest(record=refund_2305(rec, "R1"), actor=world.bureau)
    assert exc.value.field == "mdtrt_id" and "原结算记录" in exc.value.message
    settlement_ingest(record=envelope_2304(rec), actor=world.bureau)
    r = settlement_ingest(record=refund_2305(rec, "R1"), actor=world.bureau).settlement
    assert r.medfee_sumamt_fen == -1_200_000 and r.member_id == world.zhangsan.pk
    assert r.begndate.isoformat() == "2026-03-01" and r.certno == world.zhangsan.id_number
