"""TRUST S-27: the breach runbook lists the affected members and writes the PIPL art. 57 notice."""

from __future__ import annotations

import datetime

import openpyxl
import pytest
from django.core.management import CommandError, call_command

from huzhu.audit.models import Event
from huzhu.clock import today
from huzhu.members.services import member_reveal

pytestmark = pytest.mark.django_db

ARGS = ["--kinds", "姓名,身份证号,银行卡号", "--cause", "工作人员电脑失窃，内存有导出的会员名单",
        "--measures", "已报警，已停用该账号并更换密码", "--contact", "0771-1234567（工作日 9:00–17:00）",
        "--occurred", "2026年12月5日"]


def cells(path) -> list[str]:
    sheet = openpyxl.load_workbook(path).active
    return [str(c.value) for row in sheet.iter_rows() for c in row if c.value is not None]


def test_an_organisation_incident_lists_its_members_masked_and_writes_the_notice(world, tmp_path):
    world.city_b.code = "LZ"
    world.city_b.save()
    call_command("privacy_breach_notice", "--org", "LZ", *ARGS, "--out", str(tmp_path))
    notice = (tmp_path / "告知书.txt").read_text(encoding="utf-8")
    for part in ("涉及人数：1 人", "居民身份证号码、银行账号", "工作人员电脑失窃", "可能造成的危害",
                 "已报警", "发卡银行挂失", "0771-1234567", "第五十七条"):
        assert part in notice
    listed = cells(tmp_path / "涉及人员.xlsx")
    assert "孙*" in listed  # 孙七 of 柳州, masked
    assert world.sunqi.id_number not in listed and "孙七" not in listed
    assert "张*" not in listed  # 南宁's members are not affected
    event = Event.objects.get(action="privacy.breach_notice")
    assert event.after["affected"] == 1


def test_a_stolen_login_affects_the_members_it_revealed(world, tmp_path):
    member_reveal(actor=world.wangwu, member=world.zhangsan, field_name="id_number")
    day = today()
    call_command("privacy_breach_notice", "--user", "wangwu", "--since", str(day),
                 "--until", str(day), *ARGS, "--out", str(tmp_path))
    listed = cells(tmp_path / "涉及人员.xlsx")
    assert "张*" in listed and "陈*" not in listed
    # Outside the window nobody is affected.
    earlier = day - datetime.timedelta(days=3)
    call_command("privacy_breach_notice", "--user", "wangwu", "--since", str(earlier),
                 "--until", str(earlier), *ARGS, "--out", str(tmp_path / "b"))
    assert "涉及人数：0 人" in (tmp_path / "b" / "告知书.txt").read_text(encoding="utf-8")


@pytest.mark.parametrize("extra, message", [
    ([], "--org"),
    (["--org", "NOPE"], "找不到组织代码"),
    (["--user", "wangwu"], "--since"),
])
def test_an_incident_described_badly_is_refused_in_chinese(world, tmp_path, extra, message):
    with pytest.raises(CommandError, match=message):
        call_command("privacy_breach_notice", *extra, *ARGS, "--out", str(tmp_path))
    assert not Event.objects.filter(action="privacy.breach_notice").exists()


def test_unknown_kinds_are_refused(world, tmp_path):
    args = list(ARGS)
    args[1] = "姓名,血型"
    with pytest.raises(CommandError, match="血型"):
        call_command("privacy_breach_notice", "--org", "X", *args, "--out", str(tmp_path))
