"""Files with personal data at rest (TRUST S-13): uploaded rosters, accepted and rejected, and
bank files are sealed like claim documents, read back transparently, and deleted by
``huzhu files purge`` when their retention period is over (one event a run)."""

from __future__ import annotations

import datetime
import io
import os
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command, get_commands
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from huzhu.audit.models import Action, Event
from huzhu.enrollment.models import Roster, RosterStatus
from huzhu.enrollment.services import (
    roster_check,
    roster_file_path,
    roster_file_read,
    roster_upload,
)
from huzhu.errors import DomainError
from huzhu.payouts.channels import FileDropChannel
from huzhu.payouts.models import BatchStatus, PayoutBatch
from huzhu.pii.crypto import DecryptionError
from tests.enrollment.conftest import period_world, person, xlsx  # noqa: F401
from tests.enrollment.test_roster import new_id

OLD = timezone.now() - datetime.timedelta(days=200)


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def var_dir(settings, tmp_path) -> Path:
    settings.VAR_DIR = tmp_path
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.FILE_RETENTION_DAYS = 180
    return tmp_path


def page_upload(w, data: bytes, name: str) -> Roster:
    response = client_for(w.lisi).post(
        reverse("enrollment:upload", args=[w.unit_a.pk]),
        {"file": SimpleUploadedFile(name, data), "period": w.period.pk})
    assert response.status_code == 302
    return Roster.objects.order_by("-id").first()


def test_uploaded_rosters_are_sealed_and_read_back(period_world, var_dir):  # noqa: F811
    w = period_world
    product = w.medical.product_version.name
    csv = f"姓名,身份证号,手机号,医保类型,保障产品\n刘一,{new_id(1)},13600001111,职工医保,{product}\n"
    accepted = page_upload(w, ("\ufeff" + csv).encode(), "名单.csv")
    rejected = page_upload(w, xlsx([person("刘二", new_id(2), product),
                                    person("坏人", "123", product)]), "花名册.xlsx")
    assert accepted.status == RosterStatus.VALID and rejected.status == RosterStatus.INVALID
    files = sorted((var_dir / "media" / "rosters").iterdir())
    assert [p.name for p in files] == sorted(p.name for p in (roster_file_path(accepted),
                                                            roster_file_path(rejected)))
    for path in files:
        raw = path.read_bytes()
        assert raw[:1] == b"\x01" and not raw.startswith(b"PK")  # the cipher's format
        for plain in (new_id(1), new_id(2), "13600001111", "刘一"):
            assert plain.encode() not in raw
    # Everything that reads them unseals: the commit, and the error workbook.
    client = client_for(w.lisi)
    client.post(reverse("enrollment:roster_commit", args=[accepted.pk]))
    accepted.refresh_from_db()
    assert accepted.status == RosterStatus.COMMITTED
    errors = client.get(reverse("enrollment:roster_errors", args=[rejected.pk]))
    assert errors.status_code == 200
    from openpyxl import load_workbook

    ws = load_workbook(io.BytesIO(errors.content))["错误清单"]
    assert ws.cell(2, 1).value == "刘二"


def test_a_tampered_or_swapped_roster_file_does_not_open(period_world, var_dir):  # noqa: F811
    w = period_world
    product = w.medical.product_version.name
    one, _ = roster_upload(unit=w.unit_a, period=w.period, file_name="a.xlsx",
                           data=xlsx([person("刘一", new_id(1), product)]), actor=w.lisi)
    two, _ = roster_upload(unit=w.unit_a, period=w.period, file_name="b.xlsx",
                           data=xlsx([person("刘二", new_id(2), product)]), actor=w.lisi)
    path = roster_file_path(one)
    sealed = path.read_bytes()
    raw = bytearray(sealed)
    raw[40] ^= 1
    path.write_bytes(bytes(raw))
    with pytest.raises(DomainError, match="已损坏或被改动"):
        roster_file_read(one)
    assert roster_check(one) is None  # recorded on the roster, not a crash of the worker
    one.refresh_from_db()
    assert one.status == RosterStatus.INVALID and "已损坏或被改动" in one.errors[0]["message"]
    assert roster_check(two) is not None  # untouched: opens
    path.write_bytes(roster_file_path(two).read_bytes())  # another roster's sealed file
    with pytest.raises(DomainError, match="已损坏或被改动"):
        roster_file_read(one)
    path.write_bytes(sealed)
    assert roster_file_read(one)[:2] == b"PK"


def test_bank_files_are_sealed_and_read_back(tmp_path):
    from huzhu.payouts import bankfile

    content = bankfile.render_batch("PB20260320000001", [bankfile.OutLine(
        "PB20260320000001-000001", "6222020200112233445", "张三", "中国工商银行南宁分行",
        140_000, "理赔 1")])
    channel = FileDropChannel(tmp_path)
    channel.submit("PB20260320000001", content)
    raw = (tmp_path / "PB20260320000001.csv").read_bytes()
    assert b"6222020200112233445" not in raw and "张三".encode() not in raw
    assert channel.read("PB20260320000001") == content
    assert channel.query("PB20260320000001").state == "accepted"
    (tmp_path / "PB20260320000002.csv").write_bytes(raw)  # renamed: does not open
    with pytest.raises(DecryptionError):
        channel.read("PB20260320000002")


def test_files_written_in_plaintext_before_are_sealed_once(period_world, var_dir):  # noqa: F811
    from huzhu.payouts.channels import outgoing_dir

    w = period_world
    data = xlsx([person("刘一", new_id(1), w.medical.product_version.name)])
    roster, _ = roster_upload(unit=w.unit_a, period=w.period, file_name="a.xlsx", data=data,
                              actor=w.lisi)
    roster_file_path(roster).write_bytes(data)  # as an older version left it
    outgoing_dir().mkdir(parents=True)
    (outgoing_dir() / "PB1.csv").write_bytes(b"\xef\xbb\xbf6222020200112233445")
    with pytest.raises(DomainError, match="尚待系统管理员加密处理"):
        roster_file_read(roster)
    out = io.StringIO()
    call_command("files_seal", stdout=out)
    assert "2 个" in out.getvalue()
    assert roster_file_path(roster).read_bytes()[:1] == b"\x01"
    assert roster_check(roster) is not None
    assert FileDropChannel().read("PB1") == b"\xef\xbb\xbf6222020200112233445"
    out = io.StringIO()
    call_command("files_seal", stdout=out)
    assert "0 个" in out.getvalue()


def aged(path: Path) -> None:
    os.utime(path, (OLD.timestamp(), OLD.timestamp()))


def test_purge_deletes_expired_files_and_records_it(period_world, var_dir):  # noqa: F811
    w = period_world
    assert "files_purge" in get_commands()  # `huzhu files purge`
    product = w.medical.product_version.name

    def roster(rows, unit=w.unit_a, old=True):
        r, _ = roster_upload(unit=unit, period=w.period, file_name="r.xlsx", data=xlsx(rows),
                             actor=w.lisi)
        roster_check(r)
        if old:
            Roster.objects.filter(pk=r.pk).update(created_at=OLD)
        return Roster.objects.get(pk=r.pk)

    rejected_old = roster([person("坏人", "123", product)])
    accepted_old = roster([person("刘一", new_id(1), product)])
    young = roster([person("刘二", new_id(2), product)], old=False)
    shared = [person("刘三", new_id(3), product)]  # the same bytes, old in A, young in B
    shared_old = roster(shared)
    roster_upload(unit=w.unit_b, period=w.period, file_name="r.xlsx", data=xlsx(shared),
                  actor=w.zhaoliu)
    rosters_dir = var_dir / "media" / "rosters"
    orphan = rosters_dir / ("0" * 64 + ".xlsx")
    orphan.write_bytes(b"half an upload")
    aged(orphan)

    channel = FileDropChannel()

    def batch(number, status, closed=None):
        PayoutBatch.objects.create(number=number, fund_region=w.province, made_by=w.qianjiu,
                                   status=status, closed_at=closed)
        channel.submit(number, b"card numbers")
        aged(channel.path(number))

    batch("PB-DONE-OLD", BatchStatus.DONE, OLD)
    batch("PB-DONE-NEW", BatchStatus.DONE, timezone.now())
    batch("PB-UNKNOWN", BatchStatus.UNKNOWN)  # still with the bank: never removed
    channel.submit("PB-NO-ROW", b"x")
    aged(channel.path("PB-NO-ROW"))

    out = io.StringIO()
    call_command("files_purge", "--dry-run", stdout=out)
    assert "可删除花名册文件 3 个，银行代付文件 2 个" in out.getvalue()
    assert "暂不删除的银行代付文件：1 个" in out.getvalue()
    assert orphan.exists() and not Event.objects.filter(action=Action.FILES_PURGED).exists()

    call_command("files_purge", stdout=io.StringIO())
    gone = [rejected_old, accepted_old]
    assert [roster_file_path(r).exists() for r in gone] == [False, False]
    assert not orphan.exists()
    assert roster_file_path(young).exists() and roster_file_path(shared_old).exists()
    assert sorted(p.stem for p in channel.root.iterdir()) == ["PB-DONE-NEW", "PB-UNKNOWN"]
    event = Event.objects.get(action=Action.FILES_PURGED)
    assert event.after["rosters"] == 3 and event.after["bank_files"] == 2
    assert event.after["before"] == (timezone.now() - datetime.timedelta(days=180)).date(
        ).isoformat()
    # A purged roster says so; its rows stay in the database.
    agent = client_for(w.lisi)
    response = agent.get(reverse("enrollment:roster_errors", args=[rejected_old.pk]))
    assert response.status_code == 302
    page = agent.get(response["Location"]).content.decode()
    assert "已超过保存期限" in page
    assert Roster.objects.filter(pk=rejected_old.pk, status=RosterStatus.INVALID).exists()
    # Nothing left to delete: no second event.
    call_command("files_purge", stdout=io.StringIO())
    assert Event.objects.filter(action=Action.FILES_PURGED).count() == 1
