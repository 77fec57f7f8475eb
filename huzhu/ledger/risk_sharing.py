"""Period-end risk sharing in a city-level pool (市级统筹: 资金统筹、风险共担).

A county whose incurred benefits (paid + change in the pending reserve) exceed its net premium
income for the period has a deficit; the city bears ``city_share_bp`` of it (ROUND_HALF_UP to
the fen) and the county keeps the rest. The city's share is posted as a transaction between the
two risk-sharing accounts, so the statement shows it and the pool as a whole stays balanced.
Counties in surplus share nothing. Settling a period again is a no-op (the key is per pool,
period and county); if the period's figures changed since, the replay is refused as a conflict:
reverse the settlement first.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from huzhu.actors import Actor
from huzhu.errors import DomainError
from huzhu.organisations.models import Organisation, OrgKind
from huzhu.rules.money import BP_ONE, apply_ratio

from .models import AccountKind, DailyBalance, RiskSharingRatio, RiskSharingRun, Transaction
from .services import Source, account_open, ledger_post
from .statement import Figures

SOURCE_TYPE = "ledger.risk_sharing"


@dataclass(frozen=True)
class SettlementLine:
    county: Organisation
    net_income_fen: int
    incurred_fen: int
    deficit_fen: int
    city_share_bp: int
    city_share_fen: int
    county_share_fen: int
    transaction: Transaction | None


@transaction.atomic
def risk_sharing_configure(
    *, pool: Organisation, city_share_bp: int, county: Organisation | None = None
) -> RiskSharingRatio:
    """Set the city's share of county losses for the pool (or for one county of it)."""
    if not pool.is_fund_region:
        raise DomainError(f"{pool.name} 不是统筹区")
    if county is not None and county.parent_id != pool.pk:
        raise DomainError(f"{county.name} 不是 {pool.name} 的下级县（区）")
    if not 0 <= city_share_bp <= BP_ONE:
        raise DomainError("分担比例必须在 0% 到 100% 之间")
    ratio, _ = RiskSharingRatio.objects.update_or_create(
        pool=pool, county=county, defaults={"city_share_bp": city_share_bp}
    )
    return ratio


def _ratio(pool: Organisation, county: Organisation) -> int:
    ratios = {r.county_id: r.city_share_bp for r in RiskSharingRatio.objects.filter(pool=pool)}
    if county.pk in ratios:
        return ratios[county.pk]
    if None in ratios:
        return ratios[None]
    raise DomainError(f"{pool.name} 未配置 {county.name} 的风险共担比例")


def _county_figures(county: Organisation, start: datetime.date, end: datetime.date) -> Figures:
    figures = Figures()
    rows = (DailyBalance.objects.filter(account__org_path__startswith=county.path,
                                        day__gte=start, day__lte=end)
            .exclude(account__kind=AccountKind.RISK_SHARING)
            .values_list("account__kind", "delta_fen"))
    for kind, delta in rows:
        figures.add(kind, int(delta))
    return figures


def risk_sharing_settle(
    *, pool: Organisation, period_code: str, start: datetime.date, end: datetime.date,
    business_date: datetime.date | None = None, actor: Actor = None,
) -> list[SettlementLine]:
    """Post the city's share of every county deficit for the period; return one line a county."""
    if not (pool.is_fund_region and pool.kind == OrgKind.CITY):
        raise DomainError(f"{pool.name} 不是市级统筹区")
    if not period_code or start > end:
        raise DomainError("请给出期别和有效的起止日期")
    lines = []
    with transaction.atomic():
        city_account = account_open(org=pool, kind=AccountKind.RISK_SHARING,
                                    period_code=period_code)
        for county in Organisation.objects.filter(parent=pool, kind=OrgKind.COUNTY):
            lines.append(_settle_county(pool, county, city_account, period_code, start, end,
                                        business_date or end, actor))
    return lines


def _settle_county(
    pool: Organisation, county: Organisation, city_account: Any, period_code: str,
    start: datetime.date, end: datetime.date, business_date: datetime.date, actor: Actor,
    post: bool = True,
) -> SettlementLine:
    figures = _county_figures(county, start, end)
    deficit = max(figures.incurred_fen - figures.net_income_fen, 0)
    bp = _ratio(pool, county) if deficit else 0
    share = apply_ratio(deficit, bp) if deficit else 0
    txn = None
    if share and post:
        county_account = account_open(org=county, kind=AccountKind.RISK_SHARING,
                                      period_code=period_code)
        txn = ledger_post(
            key=f"risk-sharing:{pool.pk}:{period_code}:{county.pk}",
            legs=[(city_account, share), (county_account, -share)],
            memo=f"{period_code} 风险共担：{pool.name}分担{county.name}超支"[:200],
            business_date=business_date,
            source=Source(SOURCE_TYPE, f"{pool.pk}:{period_code}:{county.pk}"), actor=actor,
        )
    return SettlementLine(
        county=county, net_income_fen=figures.net_income_fen, incurred_fen=figures.incurred_fen,
        deficit_fen=deficit, city_share_bp=bp, city_share_fen=share,
        county_share_fen=deficit - share, transaction=txn,
    )



# --------------------------------------------------------------------------- the finance page


def _check_pool(pool: Organisation, period_code: str, start: datetime.date,
                end: datetime.date) -> None:
    if not (pool.is_fund_region and pool.kind == OrgKind.CITY):
        raise DomainError(f"{pool.name} 不是市级统筹区", field_errors={"pool": ["不是市级统筹区"]})
    if not period_code:
        raise DomainError("请填写期别", field_errors={"period_code": ["请填写期别"]})
    if start > end:
        raise DomainError("起始日期晚于截止日期", field_errors={"start": ["起始日期晚于截止日期"]})


def line_doc(ln: SettlementLine) -> dict[str, Any]:
    return {"county": ln.county.pk, "name": ln.county.name,
            "net_income_fen": ln.net_income_fen, "incurred_fen": ln.incurred_fen,
            "deficit_fen": ln.deficit_fen, "city_share_bp": ln.city_share_bp,
            "city_share_fen": ln.city_share_fen, "county_share_fen": ln.county_share_fen}


def risk_sharing_preview(*, pool: Organisation, period_code: str, start: datetime.date,
                         end: datetime.date) -> list[dict[str, Any]]:
    """What :func:`risk_sharing_settle` would post, one line a county; posts nothing."""
    _check_pool(pool, period_code, start, end)
    return [line_doc(_settle_county(pool, county, None, period_code, start, end, end, None,
                                    post=False))
            for county in Organisation.objects.filter(parent=pool, kind=OrgKind.COUNTY)
            .order_by("path")]


def _finance(actor: Actor) -> Any:
    from huzhu.accounts.roles import Perm
    from huzhu.errors import NotAllowed

    if actor is None or not getattr(actor, "is_authenticated", False) \
            or not actor.can(Perm.POST_LEDGER):
        raise NotAllowed("只有协会财务可以办理风险共担结算")
    return actor


def risk_sharing_propose(*, pool: Organisation, period_code: str, start: datetime.date,
                         end: datetime.date, actor: Actor) -> RiskSharingRun:
    """The first finance officer's step: the preview kept, to be confirmed by another."""
    from huzhu.audit.services import atomic_events, event_record

    user = _finance(actor)
    lines = risk_sharing_preview(pool=pool, period_code=period_code, start=start, end=end)
    with atomic_events():
        run = RiskSharingRun.objects.create(pool=pool, period_code=period_code, start=start,
                                            end=end, preview=lines, proposed_by=user)
        event_record(action="ledger.risk_sharing_proposed", actor=user, obj=run,
                     org_path=pool.path,
                     after={"period": period_code, "share_fen": sum(x["city_share_fen"]
                                                                    for x in lines)})
    return run


def risk_sharing_confirm(*, run: RiskSharingRun, actor: Actor) -> list[SettlementLine]:
    """The second finance officer's step: the figures of now must be the preview's (else
    refused: preview again); then posted by :func:`risk_sharing_settle`, whose keys make a
    second confirmation (or a second run of the same period) post nothing new."""
    from django.utils import timezone

    from huzhu.audit.services import atomic_events, event_record
    from huzhu.errors import NotAllowed

    user = _finance(actor)
    with atomic_events():
        locked = RiskSharingRun.objects.select_for_update().select_related("pool").get(
            pk=run.pk)
        if locked.proposed_by_id == user.pk:
            raise NotAllowed("提请人不能确认自己提请的风险共担结算（须由另一位财务人员确认）")
        now_lines = risk_sharing_preview(pool=locked.pool, period_code=locked.period_code,
                                         start=locked.start, end=locked.end)
        if now_lines != locked.preview:
            raise DomainError("预览后账务数据已变化，确认的金额与预览不一致：请重新预览后提请",
                              code="preview_stale")
        lines = risk_sharing_settle(pool=locked.pool, period_code=locked.period_code,
                                    start=locked.start, end=locked.end, actor=user)
        if locked.confirmed_by_id is None:
            RiskSharingRun.objects.filter(pk=locked.pk).update(confirmed_by=user,
                                                               confirmed_at=timezone.now())
        event_record(action="ledger.risk_sharing_confirmed", actor=user, obj=locked,
                     org_path=locked.pool.path,
                     after={"period": locked.period_code,
                            "share_fen": sum(x.city_share_fen for x in lines)})
    return lines
