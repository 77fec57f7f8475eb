"""Idempotency-Key on API writes (TRUST R-05, ADR 0006): one effect per key, the first answer
replayed, a reused key refused, the key kept or lost together with the effect."""

from __future__ import annotations

import datetime
import json
import time
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection  # noqa: F401 - the PostgreSQL skipif reads it
from django.test import Client
from django.test.client import encode_multipart
from django.utils import timezone

from huzhu.accounts.models import ApiToken, User
from huzhu.accounts.roles import Role
from huzhu.audit.models import Event
from huzhu.claims.models import Claim, ClaimPolicy
from huzhu.demo.identities import bank_card
from huzhu.enrollment.models import Roster
from huzhu.idempotency.models import IdempotencyKey
from huzhu.members.models import Member
from huzhu.settlements.models import Settlement
from tests.claims.conftest import (  # noqa: F401
    MEDICAL,
    claims_world,
    money_world,
    period_world,
    record,
)
from tests.concurrency import run_together
from tests.enrollment.conftest import person, xlsx
from tests.enrollment.test_roster import new_id

from .test_writes import new_member


def key(value: str) -> dict[str, str]:
    return {"HTTP_IDEMPOTENCY_KEY": value}


def effects() -> tuple[int, int, int, int, int]:
    return (Member.objects.count(), Settlement.objects.count(), Claim.objects.count(),
            Event.objects.exclude(action="token.created").count(),
            IdempotencyKey.objects.count())


def assert_replayed(first: Any, again: Any) -> None:
    assert again.status_code == first.status_code
    assert again.content == first.content
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first


def test_a_member_created_twice_with_one_key_is_created_once(world, api_as):
    api = api_as(world.lisi)
    first = api.post("/members", new_member(world), **key("member-1"))
    assert first.status_code == 201, first.content
    after_first = effects()
    again = api.post("/members", new_member(world), **key("member-1"))
    assert_replayed(first, again)
    assert effects() == after_first
    assert Member.objects.filter(id_number_bidx=Member.objects.get(
        pk=first.json()["id"]).id_number_bidx).count() == 1
    stored = IdempotencyKey.objects.get()
    assert (stored.user_id, stored.method, stored.path, stored.status) == (
        world.lisi.pk, "POST", "/api/members", 201)
    assert bytes(stored.body) == first.content and len(stored.request_sha256) == 64


def test_without_a_key_nothing_changes(world, api_as):
    api = api_as(world.lisi)
    assert api.post("/members", new_member(world)).status_code == 201
    again = api.post("/members", new_member(world))
    assert again.status_code == 400 and again.json()["code"] == "duplicate"
    assert "Idempotent-Replayed" not in again
    assert not IdempotencyKey.objects.exists()


def test_a_settlement_pushed_twice_with_one_key_is_stored_once(money_world, api_as):  # noqa: F811
    w = money_world
    ClaimPolicy.objects.create(product_code=MEDICAL, auto_claim=True)
    api = api_as(w.bureau)
    rec = record("S1", w.zhangsan.id_number)
    first = api.post("/claims/settlements", rec, **key("push-S1"))
    assert first.status_code == 201, first.content
    assert first.json()["outcome"] == "created" and len(first.json()["claims"]) == 1
    after_first = effects()
    again = api.post("/claims/settlements", rec, **key("push-S1"))
    assert_replayed(first, again)  # the first answer, not today's "unchanged"
    assert effects() == after_first
    assert (Settlement.objects.count(), Claim.objects.count()) == (1, 1)


def test_a_claim_filed_twice_with_one_key_is_filed_once(money_world, api_as):  # noqa: F811
    w = money_world
    api_as(w.bureau).post("/claims/settlements", record("S1", w.zhangsan.id_number))
    agent = api_as(w.lisi)
    body = {"member_id": w.zhangsan.pk, "setl_id": "S1", "product_code": MEDICAL}
    first = agent.post("/claims", body, **key("file-S1"))
    assert first.status_code == 201, first.content
    after_first = effects()
    again = agent.post("/claims", body, **key("file-S1"))
    assert_replayed(first, again)
    assert effects() == after_first and Claim.objects.count() == 1


def test_a_member_changed_twice_with_one_key_is_changed_once(world, api_as):
    api = api_as(world.lisi)
    path = f"/members/{world.chenba.pk}"
    first = api.patch(path, {"bank_name": "中国建设银行"}, **key("patch-1"))
    assert first.status_code == 200, first.content
    after_first = effects()
    Member.objects.filter(pk=world.chenba.pk).update(bank_name="改回")
    again = api.patch(path, {"bank_name": "中国建设银行"}, **key("patch-1"))
    assert_replayed(first, again)
    assert effects() == after_first
    assert Member.objects.get(pk=world.chenba.pk).bank_name == "改回"


def test_the_same_key_with_another_body_is_refused_and_changes_nothing(world, api_as):
    api = api_as(world.lisi)
    first = api.post("/members", new_member(world), **key("member-1"))
    assert first.status_code == 201
    before = effects()
    other = api.post("/members", new_member(world, name="刘二",
                                             id_number=new_id(2)), **key("member-1"))
    assert other.status_code == 422
    assert other.json() == {
        "error": "该 Idempotency-Key 已用于内容不同的请求", "code": "idempotency_key_reused",
        "fields": {"Idempotency-Key": ["该 Idempotency-Key 已用于内容不同的请求"]},
        "warnings": {}}
    assert effects() == before
    assert bytes(IdempotencyKey.objects.get().body) == first.content


@pytest.mark.parametrize("bad", ["k" * 101, "", "   ", "键-1", "tab\there", "é"])
def test_a_malformed_key_is_refused_in_chinese_and_changes_nothing(world, api_as, bad):
    before = effects()
    response = api_as(world.lisi).post("/members", new_member(world), **key(bad))
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "idempotency_key_invalid"
    assert body["error"] == "Idempotency-Key 应为 1–100 个可打印的 ASCII 字符（建议用 UUID）"
    assert list(body["fields"]) == ["Idempotency-Key"]
    assert effects() == before


def test_a_key_of_100_printable_characters_is_accepted(world, api_as):
    response = api_as(world.lisi).post("/members", new_member(world),
                                       **key("a-Z_0.9:~ !" + "x" * 89))
    assert response.status_code == 201, response.content
    assert len(IdempotencyKey.objects.get().key) == 100


def test_a_business_error_is_stored_and_replayed(money_world, api_as):  # noqa: F811
    w = money_world
    api = api_as(w.bureau)
    rec = record("S1", w.zhangsan.id_number)
    rec["medfee_sumamt"] = "1.00"
    first = api.post("/claims/settlements", rec, **key("bad-S1"))
    assert first.status_code == 400 and first.json()["code"] == "settlement_invalid"
    again = api.post("/claims/settlements", rec, **key("bad-S1"))
    assert_replayed(first, again)
    assert not Settlement.objects.exists()
    assert IdempotencyKey.objects.get().status == 400


def test_a_request_needing_confirmation_is_stored_and_the_confirmed_one_needs_a_new_key(
        world, api_as):
    api = api_as(world.lisi)
    card = bank_card(77)
    luhn_fails = card[:-1] + str((int(card[-1]) + 1) % 10)
    first = api.post("/members", new_member(world, bank_card=luhn_fails), **key("luhn"))
    assert first.status_code == 409, first.content
    confirmed = new_member(world, bank_card=luhn_fails, confirm_warnings=True)
    assert api.post("/members", confirmed, **key("luhn")).status_code == 422
    assert api.post("/members", confirmed, **key("luhn-confirmed")).status_code == 201


@pytest.mark.parametrize("failure", ["exception", "503"])
def test_a_failed_effect_loses_its_key_too_so_a_retry_runs(world, api_as, monkeypatch, failure):
    from ninja.errors import HttpError

    from huzhu.members import api as members_api

    real_create = members_api.member_create

    def create_then_fail(**kwargs: Any) -> Any:
        real_create(**kwargs)  # the member and its event are written, then the request fails
        if failure == "exception":
            raise RuntimeError("磁盘已满")
        raise HttpError(503, "暂时无法处理")

    monkeypatch.setattr(members_api, "member_create", create_then_fail)
    before = effects()
    api = api_as(world.lisi)
    if failure == "exception":  # the documented error body, never a page
        failed = api.post("/members", new_member(world), **key("retry-me"))
        assert failed.status_code == 500 and failed.json()["code"] == "server_error"
        assert "请求编号" in failed.json()["error"] and "磁盘已满" not in failed.content.decode()
    else:
        assert api.post("/members", new_member(world), **key("retry-me")).status_code == 503
    assert effects() == before

    monkeypatch.setattr(members_api, "member_create", real_create)
    retry = api.post("/members", new_member(world), **key("retry-me"))
    assert retry.status_code == 201 and "Idempotent-Replayed" not in retry
    assert Member.objects.count() == before[0] + 1


def test_a_refused_role_is_not_stored_so_the_key_works_once_granted(money_world, api_as):  # noqa: F811
    w = money_world
    api = api_as(w.qianjiu)  # finance may not push settlement data
    rec = record("S1", w.zhangsan.id_number)
    assert api.post("/claims/settlements", rec, **key("push")).status_code == 403
    assert not IdempotencyKey.objects.exists()
    User.objects.filter(pk=w.qianjiu.pk).update(role=Role.BUREAU_INTERFACE)
    # The token's areas were fixed when it was issued (docs/adr/0011): grant it the area too.
    ApiToken.objects.filter(pk=api.token.pk).update(scopes={"settlements": "write"})
    granted = api.post("/claims/settlements", rec, **key("push"))
    assert granted.status_code == 201 and "Idempotent-Replayed" not in granted


def test_an_unauthenticated_request_is_answered_401_before_its_key_is_read(world):
    response = Client().post("/api/members", json.dumps(new_member(world)),
                             content_type="application/json", **key("键"))
    assert response.status_code == 401
    assert not IdempotencyKey.objects.exists()


def test_another_users_key_and_another_path_are_other_keys(world, api_as):
    lisi, wangwu = api_as(world.lisi), api_as(world.wangwu)
    assert lisi.post("/members", new_member(world), **key("k")).status_code == 201
    theirs = wangwu.post("/members", new_member(world, name="刘二", id_number=new_id(2)),
                         **key("k"))
    assert theirs.status_code == 201 and "Idempotent-Replayed" not in theirs
    patched = lisi.patch(f"/members/{world.chenba.pk}", {"bank_name": "中国银行"}, **key("k"))
    assert patched.status_code == 200 and "Idempotent-Replayed" not in patched
    assert Member.objects.filter(name__in=["刘一", "刘二"]).count() == 2
    assert IdempotencyKey.objects.count() == 3


def test_reads_sent_by_post_ignore_the_key(world, api_as):
    api = api_as(world.wangwu)
    reveal = f"/members/{world.zhangsan.pk}/reveal"
    for _ in range(2):
        response = api.post(reveal, {"field": "id_number"}, **key("reveal"))
        assert response.json()["value"] == world.zhangsan.id_number
        assert "Idempotent-Replayed" not in response
        found = api.post("/members/search", {"q": "张"}, **key("search"))
        assert found.status_code == 200 and "Idempotent-Replayed" not in found
    assert Event.objects.filter(action="pii.revealed").count() == 2
    assert not IdempotencyKey.objects.exists()  # a full ID number is never stored


def test_an_upload_sent_again_with_a_new_boundary_is_replayed(period_world):  # noqa: F811
    from huzhu.accounts.services import token_create

    w = period_world
    _, plain = token_create(actor=None, user=w.lisi, name="集成测试")
    data = xlsx([person("刘一", new_id(1), w.medical.product_version.name)])
    path = f"/api/enrollment/units/{w.unit_a.pk}/rosters"

    def upload(boundary: str, content: bytes) -> Any:
        from django.core.files.uploadedfile import SimpleUploadedFile

        form = {"period_id": w.period.pk, "file": SimpleUploadedFile("r.xlsx", content)}
        return Client().post(path, encode_multipart(boundary, form),
                             content_type=f"multipart/form-data; boundary={boundary}",
                             HTTP_AUTHORIZATION=f"Bearer {plain}", **key("roster-1"))

    first = upload("first-boundary", data)
    assert first.status_code == 201, first.content
    assert_replayed(first, upload("second-boundary", data))
    other = upload("first-boundary", xlsx([person("刘二", new_id(2),
                                                  w.medical.product_version.name)]))
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    assert Roster.objects.count() == 1


def test_purge_deletes_keys_older_than_a_day(world, api_as):
    api = api_as(world.lisi)
    api.post("/members", new_member(world), **key("old"))
    api.post("/members", new_member(world, name="刘二", id_number=new_id(2)), **key("new"))
    IdempotencyKey.objects.filter(key="old").update(
        created_at=timezone.now() - datetime.timedelta(hours=25))
    call_command("idempotency_purge")
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["new"]
    with pytest.raises(CommandError, match="24"):
        call_command("idempotency_purge", "--hours", "1")


@pytest.mark.postgres
@pytest.mark.skipif("connection.vendor != 'postgresql'",
                    reason="SQLite serialises every writer; the race needs PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_the_same_key_sent_at_once_from_threads_runs_once(world, monkeypatch):
    from huzhu.accounts.services import token_create
    from huzhu.members import api as members_api

    real_create = members_api.member_create

    def slow_create(**kwargs: Any) -> Any:
        member = real_create(**kwargs)
        time.sleep(0.3)  # hold the transaction open while the others arrive
        return member

    monkeypatch.setattr(members_api, "member_create", slow_create)
    _, plain = token_create(actor=None, user=world.lisi, name="并发")
    body = json.dumps(new_member(world))
    before = Member.objects.count()

    def send() -> Any:
        return Client().post("/api/members", body, content_type="application/json",
                             HTTP_AUTHORIZATION=f"Bearer {plain}", **key("race"))

    responses = run_together([send] * 4)
    assert all(not isinstance(r, Exception) for r in responses), responses
    assert {r.status_code for r in responses} == {201}
    assert len({r.content for r in responses}) == 1
    assert sum(r.get("Idempotent-Replayed") == "true" for r in responses) == 3
    assert Member.objects.count() == before + 1
    assert Event.objects.filter(action="member.created", actor_id=world.lisi.pk).count() == 1
    assert IdempotencyKey.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.skipif("connection.vendor != 'postgresql'",
                    reason="SQLite serialises every writer; the race needs PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_a_keyed_write_in_flight_does_not_hold_up_its_tokens_other_requests(world, monkeypatch):
    """The key's transaction opens after authentication, which updates the token's row."""
    from huzhu.accounts.services import token_create
    from huzhu.members import api as members_api

    real_create = members_api.member_create

    def slow_create(**kwargs: Any) -> Any:
        member = real_create(**kwargs)
        time.sleep(1.5)
        return member

    monkeypatch.setattr(members_api, "member_create", slow_create)
    _, plain = token_create(actor=None, user=world.lisi, name="并发")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {plain}"}
    finished: dict[str, float] = {}

    def write() -> int:
        status = Client().post("/api/members", json.dumps(new_member(world)),
                               content_type="application/json", **auth, **key("slow")
                               ).status_code
        finished["write"] = time.monotonic()
        return status

    def read() -> int:
        time.sleep(0.2)
        status = Client().get("/api/me", **auth).status_code
        finished["read"] = time.monotonic()
        return status

    assert run_together([write, read]) == [201, 200]
    assert finished["read"] < finished["write"]
