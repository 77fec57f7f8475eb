"""The policy simulator (issue 18 part 3, ADR 0020): a draft of a product version replayed over a
past period's real claims, against the version it starts from.

Both sides go down the one replay road of rule corrections (:func:`huzhu.claims.reassess.
replay_read` and :func:`~huzhu.claims.reassess.replay_assess`, vector engine): the same facts,
usage starting from nothing per member and period, so an unchanged product gives zero change by
construction and a difference is the rules' difference only. "Before" is the starting version
replayed (not what was paid, which carries usage from earlier periods and manual decisions; the
recorded figure is shown beside it).

A draft is a TOML document (:mod:`huzhu.insights.simulator_levers` writes the usual levers into
it), read exactly as ``huzhu rules check`` reads a file; it can be handed to the product-version
page as a draft to approve and activate (:mod:`huzhu.products.drafts`).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db.models import Count, Max, Sum

from huzhu.claims.models import Claim
from huzhu.claims.reassess import Replay, replay_assess, replay_read
from huzhu.claims.status import GRANTED, OPEN
from huzhu.enrollment.models import Enrollment, EnrollmentStatus
from huzhu.errors import DomainError
from huzhu.organisations.models import Organisation
from huzhu.products.models import Period, ProductVersion
from huzhu.products.services import product_from_document, product_rules
from huzhu.rules.model import Product

# Members by their period's total medical cost (medfee_sumamt), in fen: [lo, hi).
COST_BANDS: tuple[tuple[int, int | None, str], ...] = (
    (0, 1_000_000, "1 万元以下"),
    (1_000_000, 3_000_000, "1–3 万元"),
    (3_000_000, 5_000_000, "3–5 万元"),
    (5_000_000, 10_000_000, "5–10 万元"),
    (10_000_000, 20_000_000, "10–20 万元"),
    (20_000_000, None, "20 万元及以上"),
)
# How much a member gains or loses, in fen: (lo, hi] on the absolute change.
CHANGE_STEPS: tuple[tuple[int, int | None, str], ...] = (
    (0, 10_000, "100 元以内"),
    (10_000, 100_000, "100–1,000 元"),
    (100_000, 1_000_000, "1,000–10,000 元"),
    (1_000_000, None, "10,000 元以上"),
)


def draft_product(base: ProductVersion, document: str) -> Product:
    """The draft's rules, read as ``rules check`` reads a file; bad TOML is a DomainError
    naming each problem."""
    product, issues = product_from_document(base.code, document, base.lists_document)
    if product is None:
        raise DomainError("草稿规则有误：" + "；".join(str(i.key or "文件") + "：" + i.problem
                                                   for i in issues[:5]), code="draft_invalid")
    return product


# ------------------------------------------------------------------ reading, with a memo


@dataclass
class _Memo:
    stamp: tuple
    replay: Replay


_memo: dict[tuple[int, str, str], _Memo] = {}
_memo_lock = threading.Lock()
MEMO_SIZE = 4


def _stamp(code: str, period: Period, org_path: str) -> tuple:
    qs = Claim.objects.filter(product_code=code, period=period, status__in=[*GRANTED, *OPEN])
    if org_path:
        qs = qs.filter(org_path__startswith=org_path)
    a = qs.aggregate(n=Count("id"), top=Max("id"), assessed=Max("assessment_id"),
                     fen=Sum("payable_fen"))
    return (a["n"], a["top"], a["assessed"], a["fen"])


def replay_for(code: str, period: Period, org_path: str) -> Replay:
    """The period's claims as replayed, kept in memory while nothing about them changed (count,
    newest claim, newest assessment and total payable are checked on every call)."""
    key = (period.pk, code, org_path)
    stamp = _stamp(code, period, org_path)
    with _memo_lock:
        hit = _memo.get(key)
        if hit is not None and hit.stamp == stamp:
            return hit.replay
    replay = replay_read(code=code, period=period, org_path=org_path)
    with _memo_lock:
        if len(_memo) >= MEMO_SIZE:
            _memo.pop(next(iter(_memo)))
        _memo[key] = _Memo(stamp, replay)
    return replay


def memo_clear() -> None:
    with _memo_lock:
        _memo.clear()


# ------------------------------------------------------------------ the summary


@dataclass(frozen=True)
class Premiums:
    billed_fen: int
    shares: int


def premiums_of(code: str, period: Period, org_path: str) -> Premiums:
    """What the period's active enrollments in the product were billed, and their shares."""
    qs = Enrollment.objects.filter(period=period, product_version__code=code,
                                   status=EnrollmentStatus.ACTIVE)
    if org_path:
        qs = qs.filter(org_path__startswith=org_path)
    a = qs.aggregate(fen=Sum("premium_fen"), shares=Sum("shares"))
    return Premiums(int(a["fen"] or 0), int(a["shares"] or 0))


def _ratio_bp(benefits: int, premium: int) -> int | None:
    """Loss ratio in basis points (1/100 of a per cent), rounded half up; None without premium."""
    return (benefits * 10_000 * 2 + premium) // (2 * premium) if premium > 0 else None


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b) if b > 0 else 0


def _regions(paths: list[str], scope_path: str) -> tuple[np.ndarray, list[str]]:
    """Each claim's region one level below the caller's organisation (its own when the claim
    sits there), as an index and the regions' names."""
    depth = scope_path.count("/") - 1 if scope_path else 0
    keys = []
    for p in paths:
        parts = p.strip("/").split("/")
        keys.append("/" + "/".join(parts[:depth + 1]) + "/")
    uniq = sorted(set(keys))
    index = {k: i for i, k in enumerate(uniq)}
    names = dict(Organisation.objects.filter(path__in=uniq).values_list("path", "name"))
    return np.array([index[k] for k in keys], np.int64), [names.get(k, "其他") for k in uniq]


def summarise(*, before: np.ndarray, after: np.ndarray, member_ids: np.ndarray,
              cost_fen: np.ndarray, region_index: np.ndarray, region_names: list[str],
              recorded_fen: np.ndarray, premiums: Premiums, premium_after_fen: int
              ) -> dict[str, Any]:
    """The figures of a run, in fen (JSON-ready): totals, loss ratio, break-even premium, and
    winners and losers by size of change, cost band and region."""
    n = len(before)
    total_before, total_after = int(before.sum()), int(after.sum())
    uniq, member = np.unique(member_ids, return_inverse=True)
    m = len(uniq)
    mb = _sum_by(member, before, m)
    ma = _sum_by(member, after, m)
    mcost = _sum_by(member, cost_fen, m)
    delta = ma - mb
    # a member's region: the region of their first claim in the period
    first = np.full(m, -1, np.int64)
    if n:
        order = np.arange(n)[::-1]
        first[member[order]] = region_index[order]
    gain, lose = delta > 0, delta < 0

    def group(mask: np.ndarray) -> dict[str, int]:
        return {"members": int(mask.sum()), "gainers": int((gain & mask).sum()),
                "losers": int((lose & mask).sum()), "same": int((~gain & ~lose & mask).sum()),
                "before_fen": int(mb[mask].sum()), "after_fen": int(ma[mask].sum()),
                "change_fen": int(delta[mask].sum()),
                "gained_fen": int(delta[gain & mask].sum()),
                "lost_fen": int(-delta[lose & mask].sum())}

    bands = []
    for lo, hi, label in COST_BANDS:
        mask = (mcost >= lo) & (mcost < hi if hi is not None else True)
        bands.append({"label": label, **group(np.asarray(mask, bool))})
    regions = [{"label": name, **group(first == i)} for i, name in enumerate(region_names)]
    steps = []
    for lo, hi, label in CHANGE_STEPS:
        size = np.abs(delta)
        mask = (size > lo) & (size <= hi if hi is not None else True)
        steps.append({"label": label, "gainers": int((gain & mask).sum()),
                      "losers": int((lose & mask).sum())})
    premium_before = premiums.billed_fen
    return {
        "claims": n, "members": m,
        "before_fen": total_before, "after_fen": total_after,
        "change_fen": total_after - total_before,
        "recorded_fen": int(recorded_fen.sum()),
        "claims_changed": int((before != after).sum()),
        "premium_before_fen": premium_before, "premium_after_fen": premium_after_fen,
        "shares": premiums.shares,
        "loss_ratio_before_bp": _ratio_bp(total_before, premium_before),
        "loss_ratio_after_bp": _ratio_bp(total_after, premium_after_fen),
        "break_even_per_share_fen": _ceil_div(total_after, premiums.shares),
        "break_even_before_per_share_fen": _ceil_div(total_before, premiums.shares),
        "all": group(np.ones(m, bool)),
        "gainers": int(gain.sum()), "losers": int(lose.sum()),
        "same": int(m - gain.sum() - lose.sum()),
        "gained_fen": int(delta[gain].sum()), "lost_fen": int(-delta[lose].sum()),
        "largest_gain_fen": int(delta.max()) if m and delta.max() > 0 else 0,
        "largest_loss_fen": int(-delta.min()) if m and delta.min() < 0 else 0,
        "steps": steps, "bands": bands, "regions": regions,
    }


def _sum_by(index: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    out = np.zeros(size, np.int64)
    np.add.at(out, index, values.astype(np.int64))
    return out


@dataclass
class Run:
    base: ProductVersion
    period: Period
    org_path: str
    summary: dict[str, Any]
    seconds: float


def simulate(*, base: ProductVersion, period: Period, document: str, org_path: str) -> Run:
    """Replay ``period``'s claims of ``base``'s product (those under ``org_path``) under ``base``
    and under the draft ``document``; return the summary."""
    t0 = time.perf_counter()
    draft = draft_product(base, document)
    if draft.id != base.code:
        raise DomainError(f"草稿的产品编号 {draft.id} 与起点版本 {base.code} 不同", code="draft_code")
    start = product_rules(base)
    replay = replay_for(base.code, period, org_path)
    before = replay_assess(replay, start)
    after = before if document == base.document else replay_assess(replay, draft)
    region_index, region_names = _regions(replay.org_paths, org_path)
    premiums = premiums_of(base.code, period, org_path)
    if draft.premium.per_share_fen != start.premium.per_share_fen and premiums.shares:
        premium_after = premiums.shares * draft.premium.per_share_fen
    else:
        premium_after = premiums.billed_fen
    summary = summarise(before=before, after=after, member_ids=replay.member_ids,
                        cost_fen=replay.cost_fen, region_index=region_index,
                        region_names=region_names, recorded_fen=replay.recorded_fen,
                        premiums=premiums, premium_after_fen=premium_after)
    summary["per_share_before_fen"] = start.premium.per_share_fen
    summary["per_share_after_fen"] = draft.premium.per_share_fen
    return Run(base, period, org_path, summary, time.perf_counter() - t0)


# ------------------------------------------------------------------ scenarios


def scenario_save(*, actor: Any, name: str, base: ProductVersion, period: Period, document: str,
                  levers: dict[str, Any], org_path: str) -> Any:
    """Run the draft and save it as a scenario of the caller's scope (audited)."""
    from huzhu.audit.services import event_record

    from .models_simulator import Scenario

    name = name.strip()
    if not name:
        raise DomainError("请给方案起个名字", code="scenario_name")
    run = simulate(base=base, period=period, document=document, org_path=org_path)
    scenario = Scenario.objects.create(
        name=name[:100], base=base, period=period, document=document, levers=levers,
        summary=run.summary, org_path=org_path, created_by=actor)
    s = run.summary
    event_record(action="simulator.scenario_saved", actor=actor, obj=scenario, after={
        "name": scenario.name, "base": f"{base.code} {base.version}", "period": period.code,
        "before_fen": s["before_fen"], "after_fen": s["after_fen"], "claims": s["claims"]})
    return scenario


def scenario_hand(*, actor: Any, scenario: Any, version: str) -> Any:
    """Hand a scenario to the product-version page as a draft of a new version (audited; the
    draft goes through check, proposal and a second person's approval there)."""
    from django.db import transaction

    from huzhu.audit.services import event_record
    from huzhu.products.drafts import draft_save

    from .simulator_levers import apply_levers

    version = version.strip()
    if not version:
        raise DomainError("请填写新版本号（如 2025.1）", code="draft_version")
    document = apply_levers(scenario.document, {"version": version})
    with transaction.atomic():
        draft = draft_save(actor=actor, base=scenario.base, document=document,
                           org_path=scenario.org_path,
                           source=f"政策模拟方案“{scenario.name}”（第 {scenario.pk} 号）")
        scenario.handed_to = draft
        scenario.save(update_fields=["handed_to"])
        event_record(action="simulator.scenario_handed", actor=actor, obj=scenario,
                     after={"draft": draft.pk, "version": version})
    return draft
