"""API tokens (docs/adr/0011): areas, read/write, region, expiry, revocation, who may hold and
issue one, and bad tokens slowed down per client address; the token page."""

from __future__ import annotations

import datetime
import io
import json
import re

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from huzhu.accounts.models import ApiToken, User
from huzhu.accounts.services import token_create
from huzhu.accounts.tokens import MAX_DAYS, READ, WRITE, token_issue, token_revoke
from huzhu.audit.models import Event
from huzhu.errors import DomainError, NotAllowed


def call(plain: str, method: str, path: str, body: dict | None = None, **extra):
    client = Client(**extra.pop("client", {}))
    auth = {"HTTP_AUTHORIZATION": f"Bearer {plain}"}
    if method == "GET":
        return client.get(f"/api{path}", body or {}, **auth, **extra)
    return getattr(client, method.lower())(f"/api{path}", json.dumps(body or {}),
                                           content_type="application/json", **auth, **extra)


def issue(world, user, scopes, region=None, days=30, actor=None):
    return token_issue(actor=actor or world.sysadmin, user=user, name="对接", scopes=scopes,
                       region=region or (user.organisation or user.unit.organisation),
                       expires_at=timezone.now() + datetime.timedelta(days=days))


def names(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {row["name"] for row in response.json()["items"]}


# Areas and read/write.

def test_a_read_only_token_reads_but_cannot_write(world):
    _token, plain = issue(world, world.wangwu, {"members": READ})
    assert call(plain, "GET", "/members").status_code == 200
    assert call(plain, "POST", "/members/search", {"q": "张三"}).status_code == 200
    refused = call(plain, "POST", "/members", {"name": "新会员"})
    assert refused.status_code == 403
    assert refused.json()["code"] == "token_scope" and "只读" in refused.json()["error"]
    patch = call(plain, "PATCH", f"/members/{world.zhangsan.pk}", {"phone": "13800000000"})
    assert patch.status_code == 403
    event = Event.objects.filter(action="token.refused", outcome="denied").latest("seq")
    assert event.actor_id == world.wangwu.pk and event.after["method"] == "PATCH"


def test_a_token_for_one_area_cannot_call_another(world):
    _token, plain = issue(world, world.wangwu, {"members": WRITE})
    assert call(plain, "GET", "/members").status_code == 200
    for path in ("/organisations", "/units", "/claims"):
        response = call(plain, "GET", path)
        assert response.status_code == 403, path
        assert response.json()["code"] == "token_scope"
    assert call(plain, "GET", "/me").status_code == 200  # who am I: open to every token


def test_a_write_token_writes_in_its_area(world):
    _token, plain = issue(world, world.zhaoliu, {"organisations": WRITE})
    response = call(plain, "POST", "/organisations",
                    {"name": "城中区新工会", "kind": "grassroots", "parent": world.county_b.pk})
    assert response.status_code == 201, response.content


def test_areas_the_owners_role_has_no_use_for_are_refused(world):
    with pytest.raises(DomainError, match="用不上|不能使用"):
        issue(world, world.lisi, {"payouts": READ})  # an agent pays nobody
    with pytest.raises(DomainError):
        issue(world, world.wangwu, {})


# Region.

def test_a_token_sees_only_its_region_inside_its_owners_scope(world):
    # 钱九 (finance, province) through a token limited to 南宁.
    _token, plain = issue(world, world.qianjiu, {"members": READ, "organisations": READ},
                          region=world.city_a)
    members = call(plain, "GET", "/members").json()["items"]
    assert {row["id"] for row in members} == {world.zhangsan.pk, world.chenba.pk}
    assert call(plain, "GET", f"/members/{world.sunqi.pk}").status_code == 404
    assert call(plain, "GET", f"/members/{world.zhangsan.pk}").status_code == 200
    orgs = names(call(plain, "GET", "/organisations"))
    assert "南宁市总工会" in orgs and "柳州市总工会" not in orgs
    assert call(plain, "GET", "/me").json()["organisation"]["id"] == world.city_a.pk
    # The same user's own session still sees the whole province: nothing was saved.
    world.qianjiu.refresh_from_db()
    assert world.qianjiu.organisation_id == world.province.pk


def test_a_token_whose_owner_moved_away_from_its_region_is_refused(world):
    _token, plain = issue(world, world.qianjiu, {"members": READ}, region=world.city_a)
    assert call(plain, "GET", "/members").status_code == 200
    User.objects.filter(pk=world.qianjiu.pk).update(organisation=world.city_b)
    response = call(plain, "GET", "/members")
    assert response.status_code == 401  # 南宁 is no longer inside his scope
    assert Event.objects.filter(action="token.refused", outcome="out_of_scope").exists()


def test_a_region_beyond_the_owners_scope_is_refused(world):
    for region in (world.city_b, world.city_a, world.province):  # 王五 sits in 青秀区
        with pytest.raises(DomainError, match="本人的范围"):
            issue(world, world.wangwu, {"members": READ}, region=region)
    assert not ApiToken.objects.exists()


def test_the_issuer_may_not_reach_beyond_his_own_subtree(world):
    from huzhu.accounts.models import User
    from huzhu.accounts.roles import Role

    city_admin = User.objects.create_user(username="sys-nn", role=Role.SYSTEM_ADMIN,
                                          organisation=world.city_a)
    issue(world, world.wangwu, {"members": READ}, actor=city_admin)
    with pytest.raises(NotAllowed, match="管理范围"):
        issue(world, world.zhaoliu, {"members": READ}, actor=city_admin)


# Expiry and revocation.

def test_an_expired_token_gets_401_with_the_error_body(world):
    _token, plain = issue(world, world.wangwu, {"members": READ}, days=30)
    assert call(plain, "GET", "/members").status_code == 200
    with time_machine.travel(timezone.now() + datetime.timedelta(days=30, seconds=1)):
        response = call(plain, "GET", "/members")
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated" and "未认证" in response.json()["error"]
    assert Event.objects.filter(action="token.refused", outcome="expired").count() == 1


def test_expiry_is_required_and_at_most_a_year(world):
    with pytest.raises(DomainError, match="有效期"):
        issue(world, world.wangwu, {"members": READ}, days=MAX_DAYS + 1)
    with pytest.raises(DomainError, match="有效期"):
        issue(world, world.wangwu, {"members": READ}, days=0)
    token, plain = issue(world, world.wangwu, {"members": READ})
    ApiToken.objects.filter(pk=token.pk).update(expires_at=None)  # a token from before expiry
    assert call(plain, "GET", "/members").status_code == 401


def test_a_revoked_token_gets_401_and_the_revocation_is_recorded(world):
    token, plain = issue(world, world.wangwu, {"members": READ})
    assert call(plain, "GET", "/members").status_code == 200
    token_revoke(actor=world.sysadmin, token=token)
    response = call(plain, "GET", "/members")
    assert response.status_code == 401 and response.json()["code"] == "unauthenticated"
    event = Event.objects.get(action="token.revoked")
    assert (event.actor_id, event.object_id) == (world.sysadmin.pk, str(token.pk))
    assert Event.objects.filter(action="token.refused", outcome="revoked").count() == 1


def test_only_token_managers_in_scope_revoke(world):
    token, _plain = issue(world, world.wangwu, {"members": READ})
    with pytest.raises(NotAllowed):
        token_revoke(actor=world.security, token=token)
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None


# Who may hold and who may issue.

def test_members_hold_no_tokens(world):
    with pytest.raises(NotAllowed, match="会员"):
        token_issue(actor=world.sysadmin, user=world.zhangsan_user, name="x",
                    scopes={"members": READ}, region=world.grassroots_a,
                    expires_at=timezone.now() + datetime.timedelta(days=1))
    with pytest.raises(CommandError, match="会员"):
        call_command("token_create", user="zhangsan", name="x", stdout=io.StringIO())
    assert not ApiToken.objects.exists()


def test_agents_may_hold_a_token_for_their_units_systems(world):
    _token, plain = issue(world, world.lisi, {"members": WRITE, "enrollment": WRITE})
    assert call(plain, "GET", "/members").status_code == 200
    assert call(plain, "GET", "/units").status_code == 403  # not in the token's areas


@pytest.mark.parametrize("issuer", ["security", "auditor", "wangwu", "zhaoliu", "qianjiu"])
def test_only_the_system_administrator_issues(world, issuer):
    with pytest.raises(NotAllowed, match="无权管理接口令牌"):
        issue(world, world.lisi, {"members": READ}, actor=getattr(world, issuer))


def test_nobody_issues_a_token_to_himself(world):
    with pytest.raises(NotAllowed, match="自己"):
        issue(world, world.sysadmin, {"organisations": READ}, actor=world.sysadmin)


def test_issuing_is_recorded_without_the_secret(world):
    token, plain = issue(world, world.wangwu, {"members": READ})
    event = Event.objects.get(action="token.created")
    assert event.actor_id == world.sysadmin.pk and event.org_path == world.county_a.path
    assert event.after["scopes"] == {"members": READ} and event.after["prefix"] == token.prefix
    assert plain not in json.dumps(event.after) and token.digest not in json.dumps(event.after)


def test_the_command_line_sets_scope_region_and_days(world):
    out, err = io.StringIO(), io.StringIO()
    call_command("token_create", user="qianjiu", name="报表", scope=["members:read"],
                 region=str(world.city_b.pk), days=10, stdout=out, stderr=err)
    token = ApiToken.objects.get()
    assert token.scopes == {"members": "read"} and token.region_id == world.city_b.pk
    assert 9 <= (token.expires_at - timezone.now()).days <= 10
    assert call(out.getvalue().strip(), "GET", "/members").status_code == 200
    with pytest.raises(CommandError, match="有效期"):
        call_command("token_create", user="qianjiu", name="x", days=400, stdout=io.StringIO())


# Bad tokens from one address.

def test_an_address_sending_bad_tokens_is_refused_429_and_recorded(world, settings):
    settings.ADDRESS_LOCKOUT_FAILURES = 3
    _token, good = issue(world, world.wangwu, {"members": READ})
    attacker = {"client": {"REMOTE_ADDR": "203.0.113.66"}}
    for i in range(3):
        assert call(f"hz_guess{i}", "GET", "/members", **attacker).status_code == 401
    refused = call("hz_guess9", "GET", "/members", **attacker)
    assert refused.status_code == 429 and refused.json()["code"] == "throttled"
    events = list(Event.objects.filter(action="token.refused", ip="203.0.113.66")
                  .values_list("outcome", flat=True))
    assert events.count("failed") == 3 and events.count("address_locked") == 1
    # Another address is untouched, and so is a good token.
    assert call("hz_other", "GET", "/members",
                client={"REMOTE_ADDR": "198.51.100.1"}).status_code == 401
    assert call(good, "GET", "/members", client={"REMOTE_ADDR": "198.51.100.1"}
                ).status_code == 200


def test_the_address_is_let_in_again_after_the_window(world, settings):
    settings.ADDRESS_LOCKOUT_FAILURES = 2
    settings.ADDRESS_LOCKOUT_SECONDS = 600
    attacker = {"client": {"REMOTE_ADDR": "203.0.113.67"}}
    with time_machine.travel("2026-11-23 09:00 +0800", tick=False) as traveller:
        call("hz_a", "GET", "/members", **attacker)
        call("hz_b", "GET", "/members", **attacker)
        assert call("hz_c", "GET", "/members", **attacker).status_code == 429
        traveller.shift(601)
        assert call("hz_d", "GET", "/members", **attacker).status_code == 401


# The page.

def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_token_page_issues_shows_the_secret_once_and_revokes(world):
    admin = logged_in(world.sysadmin)
    form = admin.get("/tokens/new/")
    assert form.status_code == 200
    page = form.content.decode()
    assert "张三" not in page  # a member account is not offered
    owners = re.search(r'<select name="user"[^>]*>(.*?)</select>', page, re.S)
    assert owners is not None and f'value="{world.wangwu.pk}"' in owners[1]
    assert f'value="{world.sysadmin.pk}"' not in owners[1]  # nor the administrator himself
    with time_machine.travel("2026-11-23 23:30 +0000", tick=False):  # 07:30 next day in Beijing
        response = admin.post("/tokens/new/", {
            "user": world.wangwu.pk, "name": "区人社对接", "region": world.county_a.pk,
            "days": 30, "scope_members": "read", "scope_claims": "write"})
    assert response.status_code == 200
    plain = re.search(r'<code id="token-secret">(hz_[^<]+)</code>', response.content.decode())[1]
    token = ApiToken.objects.get()
    assert token.digest == ApiToken.digest_of(plain) and token.created_by_id == world.sysadmin.pk
    assert token.scopes == {"members": "read", "claims": "write"}
    listing = admin.get("/tokens/").content.decode()
    assert plain not in listing and token.prefix in listing
    assert "2026-12-24 07:30" in listing  # the expiry in Beijing time
    assert "会员：只读；理赔：读写" in listing and "青秀区总工会" in listing and "从未使用" in listing
    response = admin.post(f"/tokens/{token.pk}/revoke/")
    assert response.status_code == 302
    assert ApiToken.objects.get().revoked_at is not None
    assert call(plain, "GET", "/members").status_code == 401
    actions = set(Event.objects.filter(actor_id=world.sysadmin.pk)
                  .values_list("action", flat=True))
    assert {"token.created", "token.revoked"} <= actions


def test_the_token_page_refuses_a_bad_form_without_issuing(world):
    admin = logged_in(world.sysadmin)
    response = admin.post("/tokens/new/", {"user": world.wangwu.pk, "name": "x",
                                           "region": world.city_b.pk, "days": 30,
                                           "scope_members": "read"})
    assert response.status_code == 200 and "本人的范围" in response.content.decode()
    assert not ApiToken.objects.exists()


@pytest.mark.parametrize("persona", ["security", "auditor", "wangwu", "lisi", "zhangsan_user"])
def test_the_token_page_is_the_system_administrators(world, persona):
    client = logged_in(getattr(world, persona))
    assert client.get("/tokens/").status_code == 403
    assert client.get("/tokens/new/").status_code == 403


def test_token_create_helper_defaults_cover_the_owners_areas(world):
    token, _plain = token_create(actor=None, user=world.bureau, name="医保")
    assert token.scopes == {"settlements": WRITE} and token.region_id == world.province.pk
