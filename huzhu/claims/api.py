"""Claims API: the bureau's settlement push, claim filing, and a claim's status.

Authentication is the API default (token or session); the data scope is the pages' own
(``claims/access.py``): staff their subtree, an agent their unit, a member themself. A claim's
``status`` is the state a person sees (``huzhu/payouts/shown.py``): its own status until it is
approved, then its benefit payout's — ``approved`` 已核准待支付, ``paying`` 支付中, ``paid``
已支付, ``pay_failed`` 支付失败; ``decision`` is the claim's own status.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from ninja import Body, Router, Schema
from ninja.errors import HttpError
from ninja.responses import Status

from huzhu.accounts.api import StrictSchema, error_responses
from huzhu.accounts.roles import Perm, Role
from huzhu.actors import AuthedRequest
from huzhu.errors import DomainError
from huzhu.members.access import member_get_for_user
from huzhu.payouts.shown import claim_state, claims_in_state, claims_shown, state_label
from huzhu.settlements.format import SettlementError
from huzhu.settlements.intake import CREATED
from huzhu.settlements.models import Settlement

from .access import claim_get_for_user, claims_visible_to
from .ingest import settlement_ingest
from .models import Claim, ClaimSource

router = Router(tags=["理赔"])


class PushOut(Schema):
    setl_id: str
    version: int
    outcome: str  # created | version | unchanged
    member_matched: bool
    claims: list[int]


@router.post("/settlements", response={200: PushOut, 201: PushOut,
                                       **error_responses(400, 500)},
             summary="推送一条医保结算记录")
def settlement_push_api(request: AuthedRequest, record: dict[str, Any] = Body(...)) -> Status:  # noqa: B008
    """Push one settlement record (the national platform's ``setlinfo`` field names, amounts
    in yuan). The same record again answers 200 and changes nothing; a corrected record (same
    ``setl_id``) becomes the next version and its claims are assessed again. Products paid
    without an application (免申即享) get their claims at once.

    Only the bureau interface's account of a fund region may push, and only for its region:
    the member is looked for among that region's members (one of another region answers as
    an unknown ID number does), and a ``setl_id`` another region sent is refused."""
    try:
        result = settlement_ingest(record=record, actor=request.user)
    except SettlementError as exc:
        fields = {exc.field or "record": [exc.message]}
        raise DomainError(f"结算记录有误：{exc.text()}", field_errors=fields,
                          code="settlement_invalid") from exc
    s = result.settlement
    claims = list(Claim.objects.filter(setl_id=s.setl_id).values_list("pk", flat=True))
    return Status(201 if result.outcome == CREATED else 200, {
        "setl_id": s.setl_id, "version": s.version, "outcome": result.outcome,
        "member_matched": s.member_id is not None, "claims": claims})


class FileIn(StrictSchema):
    member_id: int
    setl_id: str
    product_code: str


class LineOut(Schema):
    benefit_id: str
    name: str
    payable_fen: int
    reasons: list[str]


class ReviewOut(Schema):
    level: int
    action: str
    reason_code: str
    note: str
    at: datetime.datetime


class ClaimOut(Schema):
    id: int
    member_id: int
    setl_id: str
    product_code: str
    source: str
    status: str
    status_zh: str
    decision: str
    payable_fen: int
    event_date: datetime.date
    review_level: int
    due_on: datetime.date | None
    risk: list[dict[str, str]]
    lines: list[LineOut]
    trace: list[str]
    reviews: list[ReviewOut]
    payout_status: str | None


def claim_out(c: Claim) -> dict[str, Any]:
    a = c.assessment
    payout = c.payouts.filter(kind="benefit").first()
    state = claim_state(c)
    return {
        "id": c.pk, "member_id": c.member_id, "setl_id": c.setl_id,
        "product_code": c.product_code, "source": c.source, "status": state,
        "status_zh": state_label(state), "decision": c.status, "payable_fen": c.payable_fen,
        "event_date": c.event_date, "review_level": c.review_level, "due_on": c.due_on,
        "risk": c.risk or [],
        "lines": [{"benefit_id": ln["benefit_id"], "name": ln["name"],
                   "payable_fen": ln["payable_fen"],
                   "reasons": [r["code"] for r in ln["reasons"]]} for ln in (a.lines if a else [])],
        "trace": [step["zh"] for step in (a.trace if a else [])],
        "reviews": [{"level": r.level, "action": r.action, "reason_code": r.reason_code,
                     "note": r.note, "at": r.created_at} for r in c.reviews.order_by("id")],
        "payout_status": payout.status if payout else None,
    }


@router.post("", response={201: ClaimOut, **error_responses(400, 404, 409)},
             summary="申请理赔")
def claim_file_api(request: AuthedRequest, body: FileIn) -> Status:
    """File a claim on a member's settlement for one product; it is assessed and screened at
    once (approved straight through when clean, else sent to review)."""
    from .services import claim_file

    if not request.user.can(Perm.FILE_CLAIMS):
        raise HttpError(403, "无权申请理赔")
    member, _ = member_get_for_user(request.user, body.member_id)
    s = Settlement.objects.filter(setl_id=body.setl_id, is_current=True, member=member).first()
    if s is None:
        raise HttpError(404, "该会员没有这条结算记录")
    sources: dict[str, str] = {Role.MEMBER: ClaimSource.MEMBER, Role.AGENT: ClaimSource.AGENT}
    source = sources.get(request.user.role, ClaimSource.AGENCY)
    claim = claim_file(member=member, settlement=s, product_code=body.product_code,
                       actor=request.user, source=source)
    return Status(201, claim_out(claim_get_for_user(request.user, claim.pk)))


@router.get("/{claim_id}", response={200: ClaimOut, **error_responses(404)},
            summary="理赔详情与进度")
def claim_status_api(request: AuthedRequest, claim_id: int) -> dict[str, Any]:
    """A claim: status, the calculation line by line, the reviews so far, the payment."""
    return claim_out(claim_get_for_user(request.user, claim_id))


class ClaimRow(Schema):
    id: int
    member_id: int
    product_code: str
    status: str
    payable_fen: int
    event_date: datetime.date


@router.get("", response={200: list[ClaimRow], **error_responses()}, summary="理赔列表")
def claim_list_api(request: AuthedRequest, member_id: int | None = None, status: str = "",
                   limit: int = 50) -> list[Mapping[str, Any]]:
    """Claims in the caller's scope, newest first (a member: their own); ``status`` is the
    state shown, and filters by it (``paid``, ``pay_failed``…)."""
    qs = claims_shown(claims_visible_to(request.user))
    if member_id is not None:
        qs = qs.filter(member_id=member_id)
    if status:
        qs = claims_in_state(qs, status)
    rows = qs.order_by("-id").only("id", "member_id", "product_code", "status", "payable_fen",
                                   "event_date")[:max(1, min(limit, 200))]
    return [{"id": c.pk, "member_id": c.member_id, "product_code": c.product_code,
             "status": c.shown_status, "payable_fen": c.payable_fen, "event_date": c.event_date}
            for c in rows]

