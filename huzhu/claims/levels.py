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



def levels_replace(*, fund_region_id: int, levels: list[Level], actor: object) -> None:
    """Set a fund region's review levels (issue 14 part 5). They apply to what happens next:
    a claim already in review keeps its level and its deadline; a level that still holds
    claims in review cannot be removed. Checked first, all refused in one Chinese message,
    nothing changed; each row's change is recorded by the settings trail (before/after)."""
    from django.db import transaction

    from huzhu.errors import DomainError
    from huzhu.organisations.models import Organisation

    from .models import Claim
    from .status import ClaimStatus

    problems: list[str] = []
    if not levels:
        problems.append("至少要有一级审核")
    if len(levels) > 5:
        problems.append("审核级次最多 5 级")
    for n, lv in enumerate(levels, start=1):
        if lv.level != n:
            problems.append("审核级次须从第 1 级起连续编号")
            break
    for lv in levels:
        if not lv.name.strip():
            problems.append(f"第 {lv.level} 级：请填写名称")
        if lv.org_kind not in LEVEL_KIND_ZH:
            problems.append(f"第 {lv.level} 级：审核组织层级不正确")
        if not 1 <= lv.working_days <= 30:
            problems.append(f"第 {lv.level} 级：时限应为 1–30 个工作日")
        if lv.final_limit_fen is not None and lv.final_limit_fen < 0:
            problems.append(f"第 {lv.level} 级：可终审金额不能为负")
    with transaction.atomic():
        Organisation.objects.select_for_update().filter(pk=fund_region_id).first()
        held = (Claim.objects.filter(fund_region_id=fund_region_id,
                                     status=ClaimStatus.IN_REVIEW,
                                     review_level__gt=len(levels))
                .values_list("review_level").distinct())
        for (level,) in held:
            count = Claim.objects.filter(fund_region_id=fund_region_id,
                                         status=ClaimStatus.IN_REVIEW,
                                         review_level=level).count()
            problems.append(f"第 {level} 级还有 {count} 件审核中的理赔，不能删除该级")
        if problems:
            raise DomainError("；".join(problems), code="levels_invalid")
        ReviewLevel.objects.filter(fund_region_id=fund_region_id, level__gt=len(levels)).delete()
        for lv in levels:
            ReviewLevel.objects.update_or_create(
                fund_region_id=fund_region_id, level=lv.level,
                defaults={"name": lv.name.strip(), "org_kind": lv.org_kind,
                          "working_days": lv.working_days, "final_limit_fen": lv.final_limit_fen})
