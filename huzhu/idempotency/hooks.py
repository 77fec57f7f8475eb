"""``Idempotency-Key`` on the JSON API's writes (TRUST R-05, ADR 0006).

Two ninja hooks, added once for every operation in ``huzhu/api.py``:

* ``key_claim`` wraps the view, so it runs after authentication and parsing: it checks the
  key, replays a stored answer, refuses a key reused for another body, or opens a transaction
  and inserts the key row in it; the view then runs inside that transaction.
* ``key_settle`` wraps the whole operation, so it sees the rendered answer (the error handlers
  included): it stores the answer on the key row and commits, or drops the row (401/403), or
  rolls the key and the effect back together (5xx, an exception).

The transaction opens after authentication on purpose: authenticating a token updates its row,
and holding that row locked until the write commits would queue every request of the token.

A concurrent request with the same key blocks on the row's unique index (PostgreSQL) or on the
write lock (SQLite, ``BEGIN IMMEDIATE``) until the first commits, then finds its answer and
replays it; if the first rolled back, it runs as the first.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase

from .models import IdempotencyKey

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEY_MAX = 100
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Not kept: the same request may succeed once the caller is authenticated or given the role.
NOT_STORED = frozenset({401, 403})
JSON = "application/json; charset=utf-8"

INVALID_KEY = f"{HEADER} 应为 1–{KEY_MAX} 个可打印的 ASCII 字符（建议用 UUID）"
REUSED_KEY = f"该 {HEADER} 已用于内容不同的请求"

_CLAIM = "idempotency_claim"


class KeyRefused(Exception):
    """The header is malformed, or the key already answered another request (422)."""

    status = 422

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.message = message
        self.code = code


def idempotency_exempt(view_func: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a POST that reads rather than writes: the header is ignored. A search answer goes
    stale, and a reveal must be recorded each time and its full value never stored."""
    view_func.idempotency_exempt = True  # type: ignore[attr-defined]
    return view_func


def _keyed(request: HttpRequest) -> bool:
    return request.method in WRITE_METHODS and HEADER in request.headers


def _valid_key(raw: str) -> str:
    key = raw.strip()
    if not 1 <= len(key) <= KEY_MAX or not all(" " <= c <= "~" for c in key):
        raise KeyRefused(INVALID_KEY, "idempotency_key_invalid")
    return key


def request_digest(request: HttpRequest) -> str:
    """SHA-256 of the body. A multipart form is hashed by its fields and its files' contents,
    not its bytes: a client sending the same upload again picks a new boundary."""
    if request.content_type != "multipart/form-data":
        return hashlib.sha256(request.body).hexdigest()
    files = []
    for name in sorted(request.FILES):
        for upload in request.FILES.getlist(name):
            content = hashlib.sha256()
            for chunk in upload.chunks():
                content.update(chunk)
            upload.seek(0)
            files.append([name, upload.name, content.hexdigest()])
    fields = [[name, request.POST.getlist(name)] for name in sorted(request.POST)]
    form = json.dumps({"fields": fields, "files": files}, ensure_ascii=False)
    return hashlib.sha256(form.encode()).hexdigest()


def _replay(row: IdempotencyKey) -> HttpResponse:
    response = HttpResponse(bytes(row.body), status=row.status, content_type=JSON)
    response[REPLAYED_HEADER] = "true"
    return response


class _Claim:
    """The key row inserted for this request and the transaction it shares with the effect."""

    def __init__(self, atomic: Any, row: IdempotencyKey):
        self.atomic = atomic
        self.row = row

    def finish(self, response: HttpResponseBase) -> None:
        """Store the answer and commit, or roll back a failure with its key."""
        try:
            if response.status_code >= 500 or transaction.get_rollback():
                transaction.set_rollback(True)
            elif (response.status_code in NOT_STORED or not isinstance(response, HttpResponse)
                  or not response.get("Content-Type", "").startswith("application/json")):
                self.row.delete()
            else:
                self.row.status = response.status_code
                self.row.body = response.content
                self.row.save(update_fields=["status", "body"])
        except BaseException:
            self.atomic.__exit__(*sys.exc_info())
            raise
        self.atomic.__exit__(None, None, None)


def key_claim(view_func: Callable[..., Any]) -> Callable[..., Any]:
    """Ninja ``operation`` hook: claim the key before the view runs (see the module docstring)."""
    if getattr(view_func, "idempotency_exempt", False):
        return view_func

    @wraps(view_func)
    def claimed(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        user = getattr(request, "auth", None)
        if not _keyed(request) or getattr(user, "pk", None) is None:
            return view_func(request, *args, **kwargs)
        key = _valid_key(request.headers[HEADER])
        digest = request_digest(request)
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            row, created = IdempotencyKey.objects.get_or_create(
                user=user, key=key, method=request.method, path=request.path,
                defaults={"request_sha256": digest})
        except BaseException:
            atomic.__exit__(*sys.exc_info())
            raise
        if not created:
            atomic.__exit__(None, None, None)
            if row.request_sha256 != digest:
                raise KeyRefused(REUSED_KEY, "idempotency_key_reused")
            return _replay(row)
        setattr(request, _CLAIM, _Claim(atomic, row))
        return view_func(request, *args, **kwargs)

    return claimed


def key_settle(run: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Ninja ``view`` hook: settle the claimed key once the answer is rendered."""

    @wraps(run)
    def settled(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not _keyed(request):
            return run(request, *args, **kwargs)
        try:
            response = run(request, *args, **kwargs)
        except BaseException:
            claim = getattr(request, _CLAIM, None)
            if claim is not None:
                claim.atomic.__exit__(*sys.exc_info())
            raise
        claim = getattr(request, _CLAIM, None)
        if claim is not None:
            claim.finish(response)
        return response

    return settled
