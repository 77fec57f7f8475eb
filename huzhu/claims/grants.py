"""What a grant owes, for one approved claim or many: the member-period usage added, the
members told (SMS), the payables posted and the payouts created (:func:`grant_many`)."""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable
from typing import Any, NamedTuple

from django.db import connection

from huzhu.actors import Actor
from huzhu.bulk import insert_rows, pg_array
from huzhu.ledger.bulk import Posting, ledger_post_many
from huzhu.ledger.services import Source
from huzhu.notices.services import notices_enqueue_many
from huzhu.notices.templates import TEMPLATES
from huzhu.organisations.models import Organisation

from .models import Claim
from .notify import card_tail, routed, yuan_text
from .postings import payable_accounts, payable_key

PAYOUT_COLS = ("claim_id", "kind", "member_id", "amount_fen", "status", "org_path",
               "fund_region_id", "created_at", "paid_at")


def _usage_add(deltas: dict[int, list[int]]) -> None:
    """granted_fen and claims up by what this chunk granted, per usage row."""
    if not deltas:
        return
    rows = sorted((pk, fen, n) for pk, (fen, n) in deltas.items())
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "UPDATE claims_memberperiodusage u SET granted_fen = u.granted_fen + d.fen,"
                " claims = u.claims + d.n FROM unnest(%s::bigint[], %s::bigint[], %s::int[])"
                " AS d(id, fen, n) WHERE u.id = d.id",
                [pg_array(r[0] for r in rows), pg_array(r[1] for r in rows),
                 pg_array(r[2] for r in rows)])
        else:
            cursor.executemany(
                "UPDATE claims_memberperiodusage SET granted_fen = granted_fen + %s,"
                " claims = claims + %s WHERE id = %s", [(f, n, pk) for pk, f, n in rows])


def notice_params(template: str, base: dict[str, Any]) -> dict[str, str]:
    """The parameters :func:`huzhu.claims.notify.claim_notice` gives ``template``."""
    names = TEMPLATES[template][1]
    return {k: str(v) for k, v in base.items() if k in names}


class Granted(NamedTuple):
    """An approved claim's money to owe: see :func:`grant_many`."""

    claim_id: int
    member_id: int
    fen: int
    org_path: str
    fund_region_id: int
    product_code: str
    period: Any
    usage_row: int | None
    notice: dict[str, Any]


def approved_notice(base: dict[str, Any], member_id: int, phone: str | None, org_path: str,
                    fen: int, card: str | None, kind: str = "hospital") -> dict[str, Any]:
    """The SMS telling a member their claim ``base["claim"]`` is approved (a claim of another
    ``kind`` in its own words; ``phone`` and ``card`` are then the payee's)."""
    template = routed("CLAIM_APPROVED", kind)
    return {"key": f"claim-approved:{base['claim']}", "template": template,
            "phone": phone or "", "member_id": member_id, "org_path": org_path,
            "params": notice_params(template, {
                **base, "amount": yuan_text(fen), "card": card_tail(card)})}


def grant_many(granted: list[Granted], *, today: datetime.date, actor: Actor,
               now: datetime.datetime) -> None:
    """What approving claims owes, for any number of them: the usage rows up by what was
    granted, the members told (SMS), and the money (:func:`_grant_money`: payables in the
    ledger, payouts). The one grant of every path: a part of a delivery, a claim filed and
    approved at once, a reviewer's approval (:func:`huzhu.claims.approval.claim_grant`). The
    caller holds the members' and usage rows' locks and has moved the claims to approved."""
    if not granted:
        return
    deltas: dict[int, list[int]] = {}
    for g in granted:
        if g.usage_row is not None:
            acc = deltas.setdefault(g.usage_row, [0, 0])
            acc[0] += g.fen
            acc[1] += 1
    _usage_add(deltas)
    notices_enqueue_many([g.notice for g in granted])
    checked = _Checked()
    checked()
    _grant_money(granted, today=today, actor=actor, now=now, before_balances=checked)
    checked()


class _Checked:
    """Called before each shared lock is taken: checks what is deferred so far (PostgreSQL
    checks the part's own foreign keys, and the ledger its batch's balance, now, while a part
    beside it may hold the shared rows, rather than at commit while this part holds them)."""

    def __call__(self) -> None:
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:  # every deferrable check is initially deferred
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE; SET CONSTRAINTS ALL DEFERRED")


_ENCODER = json.JSONEncoder(ensure_ascii=False)  # built once: six texts a bulk claim


def dumps(value: Any) -> str:
    """``json.dumps(value, ensure_ascii=False)``."""
    return _ENCODER.encode(value)


def _grant_money(granted: list[Granted], *, today: datetime.date, actor: Actor,
                 now: datetime.datetime, before_balances: Callable[[], None]) -> None:
    """The payables and payouts of the chunk's approved claims, as
    :func:`huzhu.claims.postings.post_claim_payable` and
    :func:`huzhu.payouts.services.payout_create` make them one by one; each account opened
    once per chunk."""
    if not granted:
        return
    from huzhu.payouts.models import Payout, PayoutKind, PayoutStatus

    accounts: dict[tuple[int, str, int], tuple[int, int]] = {}
    regions = {o.pk: o for o in Organisation.objects.filter(pk__in={g[4] for g in granted})}
    postings = []
    for cid, _mid, fen, _path, region_id, code, period, _row, _notice in granted:
        dims = (region_id, code, getattr(period, "pk", 0))
        if dims not in accounts:
            claim = Claim(fund_region=regions[region_id], product_code=code, period=period)
            if None in payable_accounts(claim, create=False):
                before_balances()  # its foreign keys checked before the shared account rows
            expense, payable = payable_accounts(claim)
            accounts[dims] = (expense.pk, payable.pk)
        expense_id, payable_id = accounts[dims]
        postings.append(Posting(key=payable_key(cid), legs=[(expense_id, fen), (payable_id, -fen)],
                                memo=f"理赔 {cid} 核准给付", business_date=today,
                                source=Source("claims.claim", str(cid))))
    insert_rows(Payout, PAYOUT_COLS, [
        (cid, PayoutKind.BENEFIT, mid, fen, PayoutStatus.PAYABLE, path, region_id, now, None)
        for cid, mid, fen, path, region_id, _code, _period, _row, _notice in granted])
    ledger_post_many(postings=postings, actor=actor, before_balances=before_balances)

