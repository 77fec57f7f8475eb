"""Who may call the API: bearer tokens, the browser session with CSRF, and nobody else."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command, get_commands
from django.test import Client
from django.utils import timezone

from huzhu.accounts.models import ApiToken

from ..conftest import PASSWORD

PATHS = ["/api/me", "/api/organisations", "/api/units", "/api/members",
         "/api/members/1", "/api/units/1", "/api/organisations/1"]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("header", [None, "Bearer hz_unknown", "Bearer ", "Basic bGlzaTp4",
                                    "hz_no_scheme"])
def test_without_a_valid_credential_every_endpoint_answers_401(world, path, header):
    extra = {"HTTP_AUTHORIZATION": header} if header is not None else {}
    response = Client().get(path, **extra)
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"
    assert "未认证" in response.json()["error"]
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_an_unknown_token_on_a_write_is_401_not_a_csrf_failure(world):
    response = Client(enforce_csrf_checks=True).post(
        "/api/members", json.dumps({"name": "x"}), content_type="application/json",
        HTTP_AUTHORIZATION="Bearer hz_forged")
    assert response.status_code == 401


def test_a_revoked_token_is_refused(world, api_as):
    client = api_as(world.wangwu)
    assert client.get("/members").status_code == 200
    ApiToken.objects.filter(pk=client.token.pk).update(revoked_at=timezone.now())
    assert client.get("/members").status_code == 401


def test_a_deactivated_users_token_is_refused(world, api_as):
    client = api_as(world.wangwu)
    world.wangwu.is_active = False
    world.wangwu.save(update_fields=["is_active"])
    assert client.get("/members").status_code == 401


def test_a_token_acts_with_its_users_role_and_scope(world, api_as):
    client = api_as(world.lisi)
    me = client.get("/me").json()
    assert me["username"] == "lisi" and me["role"] == "agent" and me["role_label"] == "单位经办人"
    assert me["unit"] == {"id": world.unit_a.pk, "name": "南宁示范机械厂"}
    assert "members.manage_member" in me["permissions"]
    assert "members.reveal_pii" not in me["permissions"]
    ApiToken.objects.filter(pk=client.token.pk).update(last_used_at=None)
    client.get("/members")
    assert ApiToken.objects.get(pk=client.token.pk).last_used_at is not None


def test_only_the_digest_of_a_token_is_stored(world, api_as):
    client = api_as(world.lisi)
    stored = ApiToken.objects.get(pk=client.token.pk)
    assert client.plain.startswith("hz_") and client.plain not in (stored.digest, stored.prefix)
    assert stored.digest == ApiToken.digest_of(client.plain)


def logged_in(user, **kwargs) -> Client:
    client = Client(**kwargs)
    assert client.login(username=user.username, password=PASSWORD)
    return client


def test_the_browser_session_reads_with_the_pages_scope(world):
    client = logged_in(world.zhaoliu)
    assert client.get(f"/api/members/{world.zhangsan.pk}").status_code == 404
    assert client.get(f"/api/members/{world.sunqi.pk}").status_code == 200


def test_session_writes_need_the_csrf_token(world):
    client = logged_in(world.wangwu, enforce_csrf_checks=True)
    body = json.dumps({"bank_name": "中国银行"})
    url = f"/api/members/{world.zhangsan.pk}"
    refused = client.patch(url, body, content_type="application/json")
    assert refused.status_code == 403 and "CSRF" in refused.json()["error"]
    client.get("/api/docs")  # any page sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    accepted = client.patch(url, body, content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert accepted.status_code == 200 and accepted.json()["bank_name"] == "中国银行"


def test_token_create_command_prints_a_working_token_once(world):
    assert "token_create" in get_commands()  # so `huzhu token create` finds it
    out, err = io.StringIO(), io.StringIO()
    call_command("token_create", user="lisi", name="人社局对接", stdout=out, stderr=err)
    plain = out.getvalue().strip()
    assert plain.startswith("hz_") and "不会再次显示" in err.getvalue()
    token = ApiToken.objects.get(digest=ApiToken.digest_of(plain))
    assert (token.user_id, token.name) == (world.lisi.pk, "人社局对接")
    response = Client().get("/api/me", HTTP_AUTHORIZATION=f"Bearer {plain}")
    assert response.json()["username"] == "lisi"


@pytest.mark.parametrize("username", ["nobody", "wangwu"])
def test_token_create_command_refuses_unknown_and_inactive_users(world, username):
    world.wangwu.is_active = False
    world.wangwu.save(update_fields=["is_active"])
    with pytest.raises(CommandError):
        call_command("token_create", user=username, name="x", stdout=io.StringIO())
    assert not ApiToken.objects.exists()


def test_docs_render_from_this_site(world):
    page = Client().get("/api/docs")
    assert page.status_code == 200
    html = page.content.decode()
    assert "/api/docs/assets/swagger-ui-bundle.js" in html and "cdn." not in html
    for asset in ("swagger-ui-bundle.js", "swagger-ui-init.js", "swagger-ui.css"):
        assert Client().get(f"/api/docs/assets/{asset}").status_code == 200
    assert Client().get("/api/docs/assets/..%2Fsettings.py").status_code == 404


def test_openapi_describes_every_endpoint_and_the_name_rule(world):
    schema = Client().get("/api/openapi.json").json()
    paths = schema["paths"]
    for path, methods in {
        "/api/organisations": {"get", "post"}, "/api/organisations/{org_id}": {"get", "patch"},
        "/api/units": {"get", "post"}, "/api/units/{unit_id}": {"get", "patch"},
        "/api/members": {"get", "post"}, "/api/members/{member_id}": {"get", "patch"},
        "/api/members/{member_id}/reveal": {"post"}, "/api/members/search": {"post"},
        "/api/me": {"get"},
    }.items():
        assert methods <= set(paths[path]), path
    assert "张*三" in schema["info"]["description"]
    assert {"BearerToken", "BrowserSession"} <= set(schema["components"]["securitySchemes"])
    assert "422" in paths["/api/members"]["post"]["responses"]
    for path, methods in paths.items():
        for method, operation in methods.items():
            if not path.startswith("/api/enrollment"):
                assert any("\u4e00" <= c <= "\u9fff" for c in operation["summary"]), (path, method)
