"""An API client per persona, authenticated with a real bearer token."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client


class ApiClient:
    """Call /api/... as one user through a bearer token from token_create."""

    def __init__(self, user: Any):
        from huzhu.accounts.services import token_create

        self.user = user
        self.token, self.plain = token_create(actor=None, user=user, name="测试")
        self.client = Client()

    def _auth(self) -> dict[str, str]:
        return {"HTTP_AUTHORIZATION": f"Bearer {self.plain}"}

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
