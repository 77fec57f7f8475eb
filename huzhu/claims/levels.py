"""The review levels of a fund region (stored :class:`ReviewLevel` rows, else
:data:`DEFAULT_LEVELS`)."""

from __future__ import annotations

from dataclasses import dataclass

from huzhu.organisations.models import OrgKind

from .models import ReviewLevel

REGION = "region"  # org_kind of a level held by the fund region itself (the association)


@dataclass(frozen=True)
class Level:
    level: int
    name: str
    org_kind: str
    working_days: int
    final_limit_fen: int | None


DEFAULT_LEVELS = (
    Level(1, "县级初审", OrgKind.COUNTY, 2, None),
    Level(2, "协会终审", REGION, 2, None),
)


LEVEL_KIND_ZH = {REGION: "统筹区（协会）", **dict(OrgKind.choices)}


def levels_of(fund_region_id: int) -> tuple[Level, ...]:
    rows = ReviewLevel.objects.filter(fund_region_id=fund_region_id).order_by("level")
    found = tuple(Level(r.level, r.name, r.org_kind, r.working_days, r.final_limit_fen)
                  for r in rows)
    return found or DEFAULT_LEVELS

