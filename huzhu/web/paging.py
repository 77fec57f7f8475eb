"""Offset pagination that costs one COUNT (optional) and one page query."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest

PAGE_SIZES = (20, 50, 100, 200)


@dataclass
class Page:
    rows: list[Any]
    number: int
    per_page: int
    total: int | None
    has_next: bool
    query: str = ""

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def pages(self) -> int | None:
        if self.total is None:
            return None
        return max(1, -(-self.total // self.per_page))


def paginate(request: HttpRequest, queryset: Any, *, per_page: int = 50, count: bool = True
             ) -> Page:
    try:
        number = max(1, int(request.GET.get("page", 1)))
    except ValueError:
        number = 1
    try:
        size = int(request.GET.get("size", per_page))
    except ValueError:
        size = per_page
    size = size if size in PAGE_SIZES else per_page
    start = (number - 1) * size
    rows = list(queryset[start:start + size + 1])
    total = queryset.count() if count else None
    keep = {k: v for k, v in request.GET.items() if k != "page"}
    if size != per_page:
        keep["size"] = str(size)
    return Page(rows=rows[:size], number=number, per_page=size, total=total,
                has_next=len(rows) > size, query=urlencode(keep))
