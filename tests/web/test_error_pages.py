"""TRUST S-23: errors answer a generic page in Chinese; no stack trace, SQL or secret."""

from __future__ import annotations

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import path, reverse

pytestmark = pytest.mark.django_db

SECRET = "SELECT id_number FROM members_member -- HUZHU_SECRET_KEY=abc"


def broken(request: HttpRequest) -> HttpResponse:
    raise RuntimeError(SECRET)


urlpatterns = [path("broken/", broken)]


@pytest.mark.urls(__name__)
def test_a_server_error_shows_a_generic_chinese_page(settings):
    settings.DEBUG = False
    response = Client(raise_request_exception=False).get("/broken/")
    assert response.status_code == 500
    page = response.content.decode()
    assert "系统出错" in page and "请稍后重试" in page
    for leak in ("Traceback", "RuntimeError", "SELECT", "SECRET", "id_number", "File \""):
        assert leak not in page


def test_not_found_and_forbidden_answer_in_chinese_inside_the_layout(world, settings):
    settings.DEBUG = False
    client = Client()
    client.force_login(world.zhangsan_user)  # a member
    missing = client.get(reverse("web:member_detail", args=[world.sunqi.pk]))  # not theirs
    assert missing.status_code == 404
    assert "页面不存在" in missing.content.decode() and "回到首页" in missing.content.decode()
    forbidden = client.get(reverse("web:member_export"))
    assert forbidden.status_code == 403
    page = forbidden.content.decode()
    assert "无权访问" in page and "Forbidden" not in page and "主菜单" in page
