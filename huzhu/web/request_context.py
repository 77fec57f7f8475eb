"""The current request's id and client address, for event rows written deep in services."""

from __future__ import annotations

from contextvars import ContextVar

_meta: ContextVar[dict[str, str] | None] = ContextVar("huzhu_request_meta", default=None)


def current_request_meta() -> dict[str, str]:
    return _meta.get() or {}


def set_request_meta(meta: dict[str, str] | None) -> object:
    return _meta.set(meta)


def reset_request_meta(token: object) -> None:
    _meta.reset(token)  # type: ignore[arg-type]
