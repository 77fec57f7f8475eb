"""The scheme year's API (docs/adr/0021): the same services as the pages, so the same scope,
field errors and audit trail. Periods (list, create, close) and targets (read, set)."""

from __future__ import annotations

import datetime
from typing import Any

from django.http import Http404
from ninja import Router, Schema
from ninja.responses import Status

from huzhu.accounts.api import Day, StrictSchema, error_responses
from huzhu.actors import AuthedRequest
from huzhu.errors import DomainError
from huzhu.organisations.models import Organisation

from .models import Period
from .scheme import (
    OfferInput,
    PeriodInput,
    offer_save,
    period_close,
    period_create,
    scheme_org,
    target_rows,
    targets_set,
)

router = Router(tags=["保障期与参保任务"])


class PeriodOut(Schema):
    id: int
    code: str
    name: str
    enroll_opens: datetime.date
    enroll_closes: datetime.date
    coverage_start: datetime.date
    coverage_end: datetime.date


class PeriodIn(StrictSchema):
    code: str
    name: str
    enroll_opens: Day
    enroll_closes: Day
    coverage_start: Day
    coverage_end: Day
    renew_offers: bool = True


class SplitPart(StrictSchema):
    payer: str
    fen: int | None = None
    rest: bool = False


class OfferIn(StrictSchema):
    organisation: int
    product_version: int
    premium_per_share_fen: int
    split: list[SplitPart]
    gift_flags: list[str] = []
    gift_payer: str = "union_province"


class OfferOut(Schema):
    id: int
    organisation_id: int
    product_version_id: int
    premium_per_share_fen: int
    split: list[dict[str, Any]]
    gift_flags: list[str]
    gift_payer: str


class TargetOut(Schema):
    organisation_id: int
    organisation: str
    target: int | None
    handed_down: int
    enrolled: int


class TargetsIn(StrictSchema):
    parent: int
    targets: dict[str, int | None]


def _out(p: Period) -> dict[str, Any]:
    return {f: getattr(p, f) for f in ("id", "code", "name", "enroll_opens", "enroll_closes",
                                       "coverage_start", "coverage_end")}


def _period(request: AuthedRequest, period_id: int) -> Period:
    place = scheme_org(request.user)
    period = Period.objects.filter(pk=period_id,
                                   fund_region_id=place.fund_region_id or place.pk).first()
    if period is None:
        raise Http404("保障期不存在")
    return period


@router.get("/periods", response={200: list[PeriodOut], **error_responses()},
            summary="本统筹区的保障期")
def period_list_api(request: AuthedRequest) -> list[dict[str, Any]]:
    place = scheme_org(request.user)
    return [_out(p) for p in Period.objects.filter(
        fund_region_id=place.fund_region_id or place.pk).order_by("-coverage_start")]


@router.post("/periods", response={201: PeriodOut, **error_responses(400)},
             summary="设立保障期")
def period_create_api(request: AuthedRequest, payload: PeriodIn) -> Status:
    """Create a period of your fund region (you must work at the region's own union); with
    ``renew_offers`` the last period's offers are carried over."""
    period = period_create(actor=request.user, renew_offers=payload.renew_offers,
                           data=PeriodInput(code=payload.code, name=payload.name,
                                            enroll_opens=payload.enroll_opens,
                                            enroll_closes=payload.enroll_closes,
                                            coverage_start=payload.coverage_start,
                                            coverage_end=payload.coverage_end))
    return Status(201, _out(period))


@router.post("/periods/{period_id}/close", response={200: PeriodOut, **error_responses(400, 404)},
             summary="截止参保")
def period_close_api(request: AuthedRequest, period_id: int) -> dict[str, Any]:
    return _out(period_close(actor=request.user, period=_period(request, period_id)))


@router.post("/periods/{period_id}/offers", response={201: OfferOut, **error_responses(400, 404)},
             summary="提供产品（保费与分担规则）")
def offer_create_api(request: AuthedRequest, period_id: int, payload: OfferIn) -> Status:
    """An organisation of your subtree offers a product version in the period: the premium per
    share in fen, the split (fixed ``fen`` per payer and exactly one ``rest`` payer), gifts."""
    period = _period(request, period_id)
    fen = payload.premium_per_share_fen
    if fen <= 0:
        raise DomainError("每份保费须大于 0", field_errors={"premium_per_share_fen": [
            "每份保费须大于 0"]})
    split: list[dict[str, Any]] = []
    for part in payload.split:
        if part.rest:
            split.append({"payer": part.payer, "rest": True})
        elif part.fen is None or part.fen < 0:
            raise DomainError("分担金额无效", field_errors={"split": [
                f"出资方 {part.payer} 的金额须为 0 或正整数（分）"]})
        else:
            split.append({"payer": part.payer, "fen": part.fen})
    offer = offer_save(actor=request.user, period=period, data=OfferInput(
        organisation_id=payload.organisation, product_version_id=payload.product_version,
        premium_yuan=f"{fen // 100}.{fen % 100:02d}", split=split,
        gift_flags=list(payload.gift_flags), gift_payer=payload.gift_payer))
    return Status(201, {f: getattr(offer, f) for f in (
        "id", "organisation_id", "product_version_id", "premium_per_share_fen", "split",
        "gift_flags", "gift_payer")})


@router.get("/periods/{period_id}/targets", response={200: list[TargetOut],
                                                      **error_responses(404)},
            summary="下级组织的参保任务与完成情况")
def targets_get_api(request: AuthedRequest, period_id: int, parent: int) -> list[dict[str, Any]]:
    period = _period(request, period_id)
    org = _parent(request, parent)
    return [{"organisation_id": r.organisation.pk, "organisation": r.organisation.name,
             "target": r.target, "handed_down": r.handed_down, "enrolled": r.enrolled}
            for r in target_rows(org, period)]


@router.post("/periods/{period_id}/targets", response={200: list[TargetOut],
                                                      **error_responses(400, 404)},
            summary="设置下级组织的参保任务")
def targets_set_api(request: AuthedRequest, period_id: int, payload: TargetsIn
                    ) -> list[dict[str, Any]]:
    """``targets`` maps each child organisation's id to its target (``null`` removes it)."""
    period = _period(request, period_id)
    org = _parent(request, payload.parent)
    values: dict[int, str] = {}
    for key, value in payload.targets.items():
        if not key.isdigit():
            raise Http404("组织不存在")
        values[int(key)] = "" if value is None else str(value)
    targets_set(actor=request.user, period=period, parent=org, values=values)
    return targets_get_api(request, period_id, payload.parent)


def _parent(request: AuthedRequest, pk: int) -> Organisation:
    place = scheme_org(request.user)
    org = Organisation.objects.filter(pk=pk, path__startswith=place.path).first()
    if org is None:
        raise Http404("组织不存在")
    return org
