"""Unit rosters: the whole file is validated first; bad input gets a clear error naming the
row and field and changes nothing; a clean file commits once."""

from __future__ import annotations

import datetime
import io
import zipfile

from python_calamine import CalamineWorkbook

from huzhu.demo.identities import resident_id
from huzhu.enrollment.masks import Sight
from huzhu.enrollment.models import Enrollment, Roster, RosterStatus
from huzhu.enrollment.services import error_workbook, roster_check, roster_confirm, roster_upload
from huzhu.members.models import Member

from .conftest import person, xlsx

MEDICAL = "重庆市在职职工住院医疗互助保障（统筹后自付部分）"


def medical_name(world) -> str:
    return world.medical.product_version.name


def upload(world, data: bytes, name: str = "花名册.xlsx", unit=None):
    roster, created = roster_upload(unit=unit or world.unit_a, period=world.period,
                                    file_name=name, data=data, actor=world.lisi)
    roster_check(roster)
    roster.refresh_from_db()
    return roster


def new_id(day: int, order: int = 11, year: int = 1985) -> str:
    return resident_id("450103", datetime.date(year, 3, day), order)


def snapshot() -> tuple[int, int]:
    return Member.objects.count(), Enrollment.objects.count()


def test_a_clean_roster_commits_once(period_world):
    w = period_world
    rows = [person("刘一", new_id(1), medical_name(w)), person("刘二", new_id(2), medical_name(w)),
            person("张三", w.zhangsan.id_number, medical_name(w))]
    data = xlsx(rows)
    roster = upload(w, data)
    assert roster.status == RosterStatus.VALID and roster.error_count == 0
    counts = roster_confirm(roster=roster, actor=w.lisi)
    assert counts == {"members_created": 2, "members_updated": 1, "enrollments": 3}
    e = Enrollment.objects.get(member__name="刘一")
    assert e.premium_fen == 11000 and e.status == "pending"
    assert e.split == [{"payer": "employer", "fen": 5000}, {"payer": "member", "fen": 6000}]
    before = snapshot()
    again, created = roster_upload(unit=w.unit_a, period=w.period, file_name="again.xlsx",
                                   data=data, actor=w.lisi)
    assert created is False and again.pk == roster.pk
    assert roster_confirm(roster=again, actor=w.lisi)["enrollments"] == 0
    assert snapshot() == before


def test_model_worker_is_gifted(period_world):
    w = period_world
    upload_rows = [person("劳模甲", new_id(3), medical_name(w), 劳模工匠="是")]
    roster = upload(w, xlsx(upload_rows))
    roster_confirm(roster=roster, actor=w.lisi)
    e = Enrollment.objects.get(member__name="劳模甲")
    assert e.gifted is True and e.split == [{"payer": "union_province", "fen": 11000}]


def errors_of(roster) -> list[tuple[int, str, str]]:
    return [(e["row"], e["field"], e["message"]) for e in roster.errors]


def assert_refused(world, roster, row: int, field: str, words: str) -> None:
    before = snapshot()
    assert roster.status == RosterStatus.INVALID
    assert any(r == row and f == field and words in m for r, f, m in errors_of(roster)), \
        errors_of(roster)
    try:
        roster_confirm(roster=roster, actor=world.lisi)
    except Exception as exc:  # noqa: BLE001
        assert "未提交任何数据" in str(exc) or "文件本身有错误" in str(exc)
    else:
        raise AssertionError("an invalid roster committed")
    assert snapshot() == before


def test_excel_number_id_is_refused(period_world):
    w = period_world
    rows = [person("刘一", new_id(1), medical_name(w)),
            person("刘二", 1.10105199001e17, medical_name(w))]
    assert_refused(w, upload(w, xlsx(rows)), 3, "身份证号", "Excel")


def test_merged_header_cells_are_refused(period_world):
    w = period_world
    roster = upload(w, xlsx([person("刘一", new_id(1), medical_name(w))], merge_header=True))
    assert_refused(w, roster, 0, "文件", "合并单元格")


def test_missing_or_renamed_column_is_refused(period_world):
    w = period_world
    headers = [h if h != "身份证号" else "证件号码" for h in
               [t for t in person("x", "y").keys()]]
    row = {("证件号码" if k == "身份证号" else k): v
           for k, v in person("刘一", new_id(1), medical_name(w)).items()}
    roster = upload(w, xlsx([row], headers=headers))
    assert_refused(w, roster, 0, "文件", "缺少必填列：身份证号")
    assert "证件号码" in roster.errors[0]["message"]


def test_extra_sheets_are_refused(period_world):
    w = period_world
    roster = upload(w, xlsx([person("刘一", new_id(1), medical_name(w))],
                            extra_sheets=("Sheet2",)))
    assert_refused(w, roster, 0, "文件", "多余的工作表：Sheet2")


def test_blank_rows_between_data_are_refused(period_world):
    w = period_world
    rows = [person("刘一", new_id(1), medical_name(w)), {},
            person("刘二", new_id(2), medical_name(w))]
    assert_refused(w, upload(w, xlsx(rows)), 3, "姓名", "空行")


def test_duplicate_members_in_the_file_are_refused(period_world):
    w = period_world
    rows = [person("刘一", new_id(1), medical_name(w)), person("刘一", new_id(1), medical_name(w))]
    roster = upload(w, xlsx(rows))
    assert_refused(w, roster, 3, "身份证号", "与第 2 行重复")
    assert any(r == 2 and "与第 3 行重复" in m for r, _, m in errors_of(roster))


def test_member_enrolled_by_another_unit_is_refused(period_world):
    w = period_world
    first = upload(w, xlsx([person("孙七", w.sunqi.id_number, medical_name(w))]), unit=w.unit_b)
    roster_confirm(roster=first, actor=w.wangwu)
    roster = upload(w, xlsx([person("孙七", w.sunqi.id_number, medical_name(w))]))
    assert_refused(w, roster, 2, "身份证号", "已由其他单位（柳州钢圈制造公司）参保")


def test_ineligible_members_are_refused(period_world):
    w = period_world
    allowance = w.allowance.product_version.name
    too_old = resident_id("450103", datetime.date(1960, 5, 1), 13)  # 65 at coverage start
    woman_56 = resident_id("450103", datetime.date(1969, 6, 1), 24)  # a woman of 56
    rows = [person("老刘", too_old, medical_name(w)), person("王女士", woman_56, allowance),
            person("李四", new_id(9), medical_name(w), 份数="2")]
    roster = upload(w, xlsx(rows))
    assert_refused(w, roster, 2, "身份证号", "参保年龄范围")
    assert any(r == 3 and "参保年龄范围" in m for r, _, m in errors_of(roster))
    assert any(r == 4 and f == "份数" and "最多 1 份" in m for r, f, m in errors_of(roster))


def test_unknown_product_and_bad_fields_name_row_and_field(period_world):
    w = period_world
    rows = [person("刘一", new_id(1), "不存在的产品", 手机号="1234", 医保类型="商业保险",
                   工会会员="可能")]
    roster = upload(w, xlsx(rows))
    found = {(f, m.split("，")[0][:6]) for _, f, m in errors_of(roster)}
    fields = {f for f, _ in found}
    assert {"保障产品", "手机号", "医保类型", "工会会员"} <= fields


def test_zip_bomb_is_refused(period_world):
    w = period_world
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/worksheets/sheet1.xml", b"\0" * (8 * 1024 * 1024))
    assert_refused(w, upload(w, out.getvalue()), 0, "文件", "压缩炸弹")


def test_renamed_zip_is_refused(period_world):
    w = period_world
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("readme.txt", "hello")
    assert_refused(w, upload(w, out.getvalue()), 0, "文件", "不是 Excel 工作簿")


def test_oversize_file_is_refused(period_world, monkeypatch):
    from huzhu.enrollment import roster_file

    w = period_world
    monkeypatch.setattr(roster_file, "MAX_BYTES", 1000)
    data = xlsx([person(f"刘{i}", new_id(1 + i % 28, i), medical_name(w)) for i in range(40)])
    assert len(data) > 1000
    assert_refused(w, upload(w, data), 0, "文件", "上限")


def test_gbk_csv_is_refused_with_advice(period_world):
    w = period_world
    text = f"姓名,身份证号,医保类型,保障产品\n刘一,{new_id(1)},职工医保,{medical_name(w)}\n"
    roster = upload(w, text.encode("gbk"), name="名单.csv")
    assert_refused(w, roster, 0, "文件", "不是 UTF-8 编码（看起来是 GBK/GB18030）")


def test_utf8_csv_is_accepted(period_world):
    w = period_world
    text = f"姓名,身份证号,医保类型,保障产品\n刘一,{new_id(1)},职工医保,{medical_name(w)}\n"
    roster = upload(w, ("\ufeff" + text).encode("utf-8"), name="名单.csv")
    assert roster.status == RosterStatus.VALID
    assert roster_confirm(roster=roster, actor=w.lisi)["enrollments"] == 1


def test_skipping_the_listed_rows_commits_the_rest(period_world):
    w = period_world
    rows = [person("刘一", new_id(1), medical_name(w)), person("坏人", "123", medical_name(w)),
            person("刘二", new_id(2), medical_name(w))]
    roster = upload(w, xlsx(rows))
    assert roster.status == RosterStatus.INVALID
    counts = roster_confirm(roster=roster, actor=w.lisi, skip_listed=True)
    assert counts["enrollments"] == 2
    roster.refresh_from_db()
    assert roster.status == RosterStatus.COMMITTED and roster.skipped_rows == [3]


def test_error_workbook_marks_rows_and_reasons(period_world):
    w = period_world
    rows = [person("刘一", new_id(1), medical_name(w)), person("坏人", "123", medical_name(w))]
    roster = upload(w, xlsx(rows))
    book = CalamineWorkbook.from_filelike(io.BytesIO(error_workbook(roster)))
    sheet = book.get_sheet_by_name("错误清单").to_python()
    assert sheet[0][-1] == "错误原因"
    assert sheet[1][-1] == ""
    assert "身份证号" in sheet[2][-1] and "18 位" in sheet[2][-1]
    assert sheet[2][1] == "***"  # masked for a mask-only role (the default)
    full = Sight(numbers=True, names=True)
    sheet = CalamineWorkbook.from_filelike(io.BytesIO(error_workbook(roster, full))
                                           ).get_sheet_by_name("错误清单").to_python()
    assert sheet[2][1] == "123"  # the original value, as text, for a role that may see it
    assert sheet[1][1] == new_id(1) and full.shown["id_number"] == 2
    assert Roster.objects.count() == 1


def test_template_has_dropdowns_text_ids_and_renewals(period_world):
    from huzhu.enrollment.models import EnrollmentStatus
    from huzhu.enrollment.template import roster_template
    from huzhu.products.models import Period

    w = period_world
    # Last period: 张三 was enrolled and active in unit A.
    old = Period.objects.create(
        fund_region=w.province, code="2025", name="2025 年度",
        enroll_opens=datetime.date(2024, 11, 1), enroll_closes=datetime.date(2024, 12, 31),
        coverage_start=datetime.date(2025, 1, 1), coverage_end=datetime.date(2025, 12, 31))
    Enrollment.objects.create(
        member=w.zhangsan, period=old, product_version=w.medical.product_version,
        offer=w.medical, unit=w.unit_a, status=EnrollmentStatus.ACTIVE, premium_fen=11000,
        org_path=w.unit_a.org_path, fund_region=w.province)
    data = roster_template(w.unit_a, w.period, Sight(numbers=True, names=True))
    book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    assert book.sheet_names == ["花名册", "选项", "银行名录"]
    rows = book.get_sheet_by_name("花名册").to_python()
    assert rows[0][:3] == ["姓名", "身份证号", "手机号"]
    assert rows[1][0] == "张三" and rows[1][1] == w.zhangsan.id_number  # text, all 18 digits
    assert rows[1][10] == medical_name(w)
    options = book.get_sheet_by_name("选项").to_python()
    assert {r[0] for r in options if r[0]} == {medical_name(w), w.allowance.product_version.name}
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        sheet_xml = z.read("xl/worksheets/sheet1.xml").decode()
    assert 'type="list"' in sheet_xml and "选项!$A$1:$A$2" in sheet_xml
    # The filled-in template is itself a valid roster.
    roster = upload(w, data)
    assert roster.status == RosterStatus.VALID, roster.errors


def test_concurrent_stores_of_the_same_file_do_not_collide(tmp_path):
    # CI once lost a test to two workers renaming one shared "<hash>.part" file.
    from concurrent.futures import ThreadPoolExecutor

    from huzhu.pii.files import write_atomic as store_file

    target = tmp_path / "same.xlsx"
    data = b"x" * 200_000
    with ThreadPoolExecutor(8) as pool:
        for future in [pool.submit(store_file, target, data) for _ in range(32)]:
            future.result()
    assert target.read_bytes() == data
    assert sorted(p.name for p in tmp_path.iterdir()) == ["same.xlsx"]
