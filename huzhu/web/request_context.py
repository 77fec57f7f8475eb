"""The current request's id and client address, for event rows written deep in services."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

_meta: ContextVar[dict[str, str] | None] = ContextVar("huzhu_request_meta", default=None)


def current_request_meta() -> dict[str, str]:
    return _meta.get() or {}


def set_request_meta(meta: dict[str, str] | None) -> object:
    return _meta.set(meta)


def reset_request_meta(token: object) -> None:
    _meta.reset(token)  # type: ignore[arg-type]


# Who is acting, for changes recorded by model signals (huzhu/accounts/trail.py): the request's
# user (set lazily by ActingUserMiddleware, so a token's user counts too), or whoever a command
# or service names with ``acting_as``.
_acting: ContextVar[tuple[Callable[[], Any], str] | None] = ContextVar("huzhu_acting",
                                                                        default=None)


def current_acting() -> tuple[Any, str]:
    """The acting user (or ``None``) and a label for when there is none."""
    found = _acting.get()
    if found is None:
        return None, ""
    user = found[0]()
    return (user if getattr(user, "is_authenticated", False) else None), found[1]


@contextmanager
def acting_as(user: Any = None, label: str = "") -> Iterator[None]:
    """Changes made inside the block are recorded as ``user``'s (or ``label``'s: a command)."""
    token = _acting.set((lambda: user, label))
    try:
        yield
    finally:
        _acting.reset(token)


def set_acting(getter: Callable[[], Any]) -> object:
    return _acting.set((getter, ""))


def reset_acting(token: object) -> None:
    _acting.reset(token)  # type: ignore[arg-type]
