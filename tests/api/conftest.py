"""An API client per persona, authenticated with a real bearer token."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client


def wide_token(user: Any) -> tuple[Any, str]:
    """A token in every area, with write access, over the user's whole scope: the tests of the
    API's own role and scope checks call through it, so that those checks, not a token's
    narrower areas (tests/api/test_tokens.py), are what answers."""
    import datetime
    import secrets

    from django.utils import timezone

    from huzhu.accounts.models import ApiToken
    from huzhu.accounts.tokens import AREAS, WRITE

    plain = "hz_" + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name="测试", prefix=plain[:8], digest=ApiToken.digest_of(plain),
        scopes=dict.fromkeys(AREAS, WRITE),
        expires_at=timezone.now() + datetime.timedelta(days=1))
    return token, plain


class ApiClient:
    """Call /api/... as one user through a bearer token (``wide_token``); a member, who may
    hold no token, through his login session."""

    def __init__(self, user: Any):
        from huzhu.accounts.roles import Role

        self.user = user
        self.client = Client()
        if user.role == Role.MEMBER:
            self.token, self.plain = None, ""
            self.client.force_login(user)
        else:
            self.token, self.plain = wide_token(user)

    def _auth(self) -> dict[str, str]:
        return {"HTTP_AUTHORIZATION": f"Bearer {self.plain}"} if self.plain else {}

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(f"/api{path}", params, **self._auth())

    def post(self, path: str, body: Any = None, **headers: Any) -> Any:
        return self.client.post(f"/api{path}", json.dumps(body or {}),
                                content_type="application/json", **self._auth(), **headers)

    def patch(self, path: str, body: Any, **headers: Any) -> Any:
        return self.client.patch(f"/api{path}", json.dumps(body),
                                 content_type="application/json", **self._auth(), **headers)


@pytest.fixture
def api_as(world: Any) -> Any:
    clients: dict[int, ApiClient] = {}

    def make(user: Any) -> ApiClient:
        if user.pk not in clients:
            clients[user.pk] = ApiClient(user)
        return clients[user.pk]

    return make
