"""Settlement records in: validation record by record, idempotency, versions, matching."""

from __future__ import annotations

import pytest

from huzhu.claims.ingest import settlement_import_file, settlement_ingest, settlement_match_retry
from huzhu.pii.crypto import blind_index
from huzhu.settlements.format import CSV_HEADERS, SettlementError
from huzhu.settlements.models import Settlement
from tests.enrollment.test_roster import new_id

from .conftest import jsonl, record


def test_good_record_is_stored_in_fen_encrypted_and_matched(world):
    r = settlement_ingest(record=record("S1", world.zhangsan.id_number), actor=world.bureau)
    s = Settlement.objects.get(pk=r.settlement.pk)
    assert r.outcome == "created" and s.version == 1 and s.is_current
    assert s.medfee_sumamt_fen == 1_200_000 and s.inscp_scp_amt_fen == 1_000_000
    assert s.hifp_pay_fen == 700_000 and s.psn_selfpay_fen is None
    assert s.member_id == world.zhangsan.pk and s.org_path == world.zhangsan.org_path
    assert s.certno_bidx == world.zhangsan.id_number_bidx
    assert s.certno == world.zhangsan.id_number and s.diag_code == "K35.800"
    from django.db import connection
    with connection.cursor() as c:
        c.execute("SELECT certno, diag_name, raw FROM claims_settlement")
        row = c.fetchone()
    assert all(world.zhangsan.id_number.encode() not in bytes(v) for v in row)
    assert "急性阑尾炎".encode() not in bytes(row[1])
    assert s.fund_region_id == world.province.pk


@pytest.mark.parametrize("change, field, words", [
    ({"medfee_sumamt": "12000.01"}, "medfee_sumamt", "全自费"),
    ({"fund_pay_sumamt": "6999.00", "hifp_pay": "6999.00"}, "medfee_sumamt", "基金支付总额"),
    ({"acct_pay": "-1.00"}, "acct_pay", "不能为负"),
    ({"enddate": "2026-02-28"}, "enddate", "早于入院日期"),
    ({"insutype": "999"}, "insutype", "未知的险种类型"),
    ({"hifp_pay": "7000.005"}, "hifp_pay", "两位小数"),
    ({"certno": "45010319800517"}, "certno", "身份证号"),
    ({"setl_id": ""}, "setl_id", "必填"),
    ({"medfee_amt": "1.00"}, "medfee_amt", "未知字段"),
])
def test_bad_record_names_field_and_writes_nothing(world, change, field, words):
    rec = {**record("S1", world.zhangsan.id_number), **change}
    with pytest.raises(SettlementError) as exc:
        settlement_ingest(record=rec, actor=world.bureau)
    assert exc.value.field == field and words in exc.value.message
    assert not Settlement.objects.exists()


@pytest.fixture(params=["one_by_one", "bulk"])
def import_path(request, monkeypatch):
    """A file goes through the one road in one part, or in parts of two records (forked
    processes on PostgreSQL): both must report and store the same."""
    import huzhu.settlements.intake as intake

    monkeypatch.setattr(intake, "PART", 10**9 if request.param == "one_by_one" else 2)
    return request.param


def test_file_reports_each_bad_record_and_keeps_the_good_ones(world, import_path):
    data = b"\n".join([
        jsonl(record("S1", world.zhangsan.id_number)),
        b'{"setl_id": "S2", ',  # malformed line
        jsonl(record("S3", world.chenba.id_number, hifp_pay="1.001")),
        jsonl(record("S4", world.chenba.id_number, begndate="2026-04-01",
                     enddate="2026-03-01")),
        jsonl(record("S5", world.sunqi.id_number)),
    ])
    report = settlement_import_file(path_or_bytes=data, file_name="s.jsonl", actor=world.bureau)
    assert report.records == 5 and report.created == 2
    assert [(e.record, e.field) for e in report.errors] == [(2, ""), (3, "hifp_pay"),
                                                            (4, "enddate")]
    assert "第 2 条记录" in report.errors[0].text() and "JSON" in report.errors[0].text()
    assert "第 3 条记录（setl_id S3） 字段 hifp_pay" in report.errors[1].text()
    assert set(Settlement.objects.values_list("setl_id", flat=True)) == {"S1", "S5"}
    assert report.batch.error_count == 3 or report.batch.pk
    lines = report.lines_zh()
    assert "新增 2 条" in lines[0] and "错误 3 条" in lines[0]


def test_json_array_and_csv(world, import_path):
    import csv
    import io
    import json

    arr = json.dumps([record("A1", world.zhangsan.id_number)]).encode()
    assert settlement_import_file(path_or_bytes=arr, file_name="a.json", actor=world.bureau).created == 1
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(CSV_HEADERS))
    writer.writeheader()
    writer.writerow(record("C1", world.chenba.id_number))
    writer.writerow(record("C2", world.chenba.id_number, overlmt_selfpay="-5.00"))
    report = settlement_import_file(path_or_bytes=out.getvalue().encode(), file_name="c.csv",
                                    actor=world.bureau)
    assert report.created == 1 and [(e.record, e.field) for e in report.errors] == [
        (2, "overlmt_selfpay")]


def test_csv_with_wrong_headers_is_refused_whole(world):
    data = "结算ID,身份证号\nS1,x\n".encode()
    report = settlement_import_file(path_or_bytes=data, file_name="c.csv", actor=world.bureau)
    assert not report.ok and report.errors[0].record == 0 and "未知的列" in report.errors[0].text()
    data = b"setl_id,certno\nS1,x\n"
    report = settlement_import_file(path_or_bytes=data, file_name="c.csv", actor=world.bureau)
    assert "缺少必需的列" in report.errors[0].message and "insutype" in report.errors[0].message
    assert not Settlement.objects.exists()


def test_malformed_json_array_is_a_file_error(world):
    report = settlement_import_file(path_or_bytes=b'[{"setl_id": 1,]', file_name="a.json",
                                    actor=world.bureau)
    assert report.errors[0].record == 0 and "JSON" in report.errors[0].message


def test_a_file_with_repeats_and_corrections_means_the_same_on_both_paths(claims_world, import_path):
    world = claims_world
    from django.db.models import Count

    from huzhu.claims.models import Claim, ClaimPolicy

    ClaimPolicy.objects.create(product_code="chongqing-2015-medical", auto_claim=True)
    s1 = record("S1", world.zhangsan.id_number)
    # another stay of 张三 (a copy of S1 under a new setl_id would be S1's stay settled again)
    s3 = record("S3", world.zhangsan.id_number, begin="2026-04-01", end="2026-04-10")
    data = b"\n".join([
        jsonl(s1),
        jsonl({**s1, "hifp_pay": "7000", "acct_pay": "0"}),  # the same content, spelt otherwise
        jsonl(record("S1", world.zhangsan.id_number, inscp=900_000)),  # corrected
        jsonl(record("S2", world.sunqi.id_number, hifp_pay="1.001")),  # refused
        jsonl({**s3, "setl_id": " S3 "}),  # the same setl_id as the next once stripped
        jsonl(s3),
        jsonl(record("S4", new_id(8))),  # nobody we know: waits unmatched
    ])
    report = settlement_import_file(path_or_bytes=data, file_name="r.jsonl", actor=world.bureau)
    assert (report.records, report.created, report.versions, report.unchanged,
            report.matched) == (7, 3, 1, 2, 3)
    assert [(e.record, e.field) for e in report.errors] == [(4, "hifp_pay")]
    rows = Settlement.objects.order_by("setl_id", "version").values_list(
        "setl_id", "version", "is_current", "inscp_scp_amt_fen", "batch_id", "member_id")
    z, b = world.zhangsan.pk, report.batch.pk
    assert list(rows) == [("S1", 1, False, 1_000_000, b, z), ("S1", 2, True, 900_000, b, z),
                          ("S3", 1, True, 1_000_000, b, z), ("S4", 1, True, 1_000_000, b, None)]
    claims = Claim.objects.order_by("setl_id").values_list("setl_id", "settlement__version")
    assert list(claims) == [("S1", 2), ("S3", 1)]  # automatic claims on what is current
    assert report.claims == dict(Claim.objects.values_list("status").annotate(n=Count("id"))
                                 .order_by()) and sum(report.claims.values()) == 2
    assert "免申即享理赔 2 件" in report.lines_zh()[1]


def test_same_content_is_a_no_op_and_a_correction_is_a_new_version(world):
    rec = record("S1", world.zhangsan.id_number)
    first = settlement_ingest(record=rec, actor=world.bureau)
    same = settlement_ingest(record={**rec, "hifp_pay": "7000", "acct_pay": "0"},
                             actor=world.bureau)
    assert same.outcome == "unchanged" and same.settlement.pk == first.settlement.pk
    corrected = settlement_ingest(record=record("S1", world.zhangsan.id_number, inscp=900_000),
                                  actor=world.bureau)
    assert corrected.outcome == "version" and corrected.settlement.version == 2
    rows = list(Settlement.objects.filter(setl_id="S1").order_by("version"))
    assert [(s.version, s.is_current, s.inscp_scp_amt_fen) for s in rows] == [
        (1, False, 1_000_000), (2, True, 900_000)]
    again = settlement_ingest(record=rec, actor=world.bureau)  # the old content once more
    assert again.outcome == "unchanged" and Settlement.objects.count() == 2
    with pytest.raises(ValueError):
        rows[0].save()


def test_unmatched_waits_until_the_member_registers(world):
    from huzhu.members.services import MemberInput, member_create

    number = new_id(7)
    r = settlement_ingest(record=record("U1", number), actor=world.bureau)
    assert r.settlement.member_id is None
    assert settlement_match_retry(settlements=Settlement.objects.all(), actor=world.wangwu) == 0
    member = member_create(actor=None, data=MemberInput(name="新会员", id_number=number,
                                                        phone="13800000007", unit=world.unit_a))
    assert settlement_match_retry(settlements=Settlement.objects.all(), actor=world.wangwu) == 1
    s = Settlement.objects.get(setl_id="U1")
    assert s.member_id == member.pk and s.certno_bidx == blind_index(number, field="id_number")


def test_command_prints_a_chinese_report(world, tmp_path, capsys):
    from django.core.management import call_command

    path = tmp_path / "s.jsonl"
    path.write_bytes(jsonl(record("S1", world.zhangsan.id_number),
                           record("S2", world.zhangsan.id_number, insutype="123")))
    with pytest.raises(SystemExit):
        call_command("claims_import", str(path), "--region", str(world.province.pk))
    out = capsys.readouterr().out
    assert "新增 1 条" in out and "第 2 条记录（setl_id S2） 字段 insutype：未知的险种类型" in out
