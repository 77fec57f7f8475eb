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

import hashlib
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from django.db.models import Count, Max, Sum

from huzhu.claims.models import Claim, ClaimKind
from huzhu.claims.reassess import (
    Replay,
    needs_carried,
    needs_diseases,
    needs_held,
    replay_assess,
    replay_read,
)
from huzhu.claims.status import GRANTED, OPEN
from huzhu.enrollment.models import Enrollment, EnrollmentStatus
from huzhu.errors import DomainError
from huzhu.organisations.models import Organisation
from huzhu.products.models import Period, ProductVersion
from huzhu.products.services import product_from_document, product_rules
from huzhu.rules import vector
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


def _snapshot_path(key: tuple[int, str, str]) -> Path:
    from django.conf import settings

    name = hashlib.sha256(repr(key).encode()).hexdigest()[:24]
    return Path(settings.VAR_DIR) / "simulator" / f"replay-{name}.npz"


def _save(path: Path, stamp: tuple, r: Replay) -> None:
    """Keep a replay as a column file. Diagnoses are personal data kept encrypted at rest:
    never written here (a replay that needs them reads them from the database)."""
    s = r.stays
    arrays = {f"s.{k}": v for k, v in vars(s).items() if isinstance(v, np.ndarray)}
    arrays["s.disease"] = np.full(len(s.disease), "", dtype=str)
    arrays.update({f"a.{k}": v for k, v in s.amounts.items()})
    arrays.update({f"l.{k}": v for k, v in s.lifetime.items()})
    arrays.update(
        stamp=np.array([str(x) for x in stamp]), held=np.array(["|".join(h) for h in s.held]),
        claim_ids=r.claim_ids, member_ids=r.member_ids, recorded_fen=r.recorded_fen,
        kinds=r.kinds, cost_fen=r.cost_fen, org_index=r.org_index, org_paths=np.array(r.org_paths, dtype=str),
        flags=np.array([False, r.held, r.carried]))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(str(tmp), **arrays)  # type: ignore[arg-type]
    tmp.replace(path)


def _load(path: Path, stamp: tuple) -> Replay | None:
    try:
        with np.load(path, allow_pickle=False) as z:
            if [str(x) for x in stamp] != z["stamp"].tolist():
                return None
            data = {k: z[k] for k in z.files}
    except (OSError, ValueError, KeyError):
        return None
    if "kinds" not in data or len(data["flags"]) != 3:  # written before event claims were
        return None  # replayed
    fields = {k[2:]: v for k, v in data.items() if k.startswith("s.")}
    amounts = {k[2:]: v for k, v in data.items() if k.startswith("a.")}
    lifetime = {k[2:]: v for k, v in data.items() if k.startswith("l.")}
    held = [tuple(h.split("|")) if h else () for h in data["held"].tolist()]
    stays = vector.StayFacts(**fields, held=held, amounts=amounts, lifetime=lifetime)
    diseases, has_held, carried = (bool(x) for x in data["flags"])
    return Replay(claim_ids=data["claim_ids"], member_ids=data["member_ids"],
                  recorded_fen=data["recorded_fen"], kinds=data["kinds"], cost_fen=data["cost_fen"],
                  org_index=data["org_index"], org_paths=data["org_paths"].tolist(),
                  stays=stays, diseases=diseases, held=has_held, carried=carried)


def replay_for(code: str, period: Period, org_path: str, diseases: bool = True,
               held: bool = True, carried: bool = True) -> Replay:
    """The period's claims as replayed. Kept while nothing about them changed (their count,
    newest claim, newest assessment and total payable are checked on every call): in memory,
    and as a column file under ``VAR_DIR/simulator`` shared by every process (ADR 0020)."""
    key = (period.pk, code, org_path)
    stamp = _stamp(code, period, org_path)

    def fits(r: Replay) -> bool:
        return (r.diseases or not diseases) and (r.held or not held) and (
            r.carried or not carried)

    with _memo_lock:
        hit = _memo.get(key)
        if hit is not None and hit.stamp == stamp and fits(hit.replay):
            return hit.replay
    path = _snapshot_path(key)
    replay = _load(path, stamp) if path.exists() else None
    if replay is None or not fits(replay):
        replay = replay_read(code=code, period=period, org_path=org_path, diseases=diseases,
                             held=held, carried=carried)
        _save(path, stamp, replay)
    with _memo_lock:
        if len(_memo) >= MEMO_SIZE:
            _memo.pop(next(iter(_memo)))
        _memo[key] = _Memo(stamp, replay)
    return replay


def memo_clear(files: bool = True) -> None:
    """Forget the replays kept in memory (and their column files)."""
    with _memo_lock:
        _memo.clear()
    if files:
        from django.conf import settings

        for p in (Path(settings.VAR_DIR) / "simulator").glob("replay-*.npz"):
            p.unlink(missing_ok=True)


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


def _regions(org_index: np.ndarray, paths: list[str], scope_path: str
             ) -> tuple[np.ndarray, list[str]]:
    """Each claim's region one level below the caller's organisation (its own when the claim
    sits there), as an index and the regions' names; ``org_index`` points into ``paths``."""
    depth = scope_path.count("/") - 1 if scope_path else 0
    keys = ["/" + "/".join(p.strip("/").split("/")[:depth + 1]) + "/" for p in paths]
    uniq = sorted(set(keys))
    index = {k: i for i, k in enumerate(uniq)}
    names = dict(Organisation.objects.filter(path__in=uniq).values_list("path", "name"))
    of_path = np.array([index[k] for k in keys], np.int64)
    return of_path[org_index] if len(org_index) else np.zeros(0, np.int64), [
        names.get(k, "其他") for k in uniq]


def summarise(*, before: np.ndarray, after: np.ndarray, member_ids: np.ndarray,
              cost_fen: np.ndarray, region_index: np.ndarray, region_names: list[str],
              recorded_fen: np.ndarray, premiums: Premiums, premium_after_fen: int
              ) -> dict[str, Any]:
    """The figures of a run, in fen (JSON-ready): totals, loss ratio, break-even premium, and
    winners and losers by size of change, cost band and region."""
    n = len(before)
    total_before, total_after = int(before.sum()), int(after.sum())
    member = vector.factorize(member_ids)
    m = int(member.max()) + 1 if n else 0
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

    gained = np.where(gain, delta, 0)
    lost = np.where(lose, -delta, 0)

    def groups(labels: np.ndarray, k: int) -> list[dict[str, int]]:
        """The figures of each of ``k`` groups of members (``labels``: each member's group,
        -1 for none), one pass per figure."""
        inside = labels >= 0
        lab = np.where(inside, labels, k)
        count = np.bincount(lab, minlength=k + 1)
        up = np.bincount(lab, weights=gain, minlength=k + 1)
        down = np.bincount(lab, weights=lose, minlength=k + 1)
        sums = [_sum_by(lab, x, k + 1) for x in (mb, ma, delta, gained, lost)]
        return [{"members": int(count[i]), "gainers": int(up[i]), "losers": int(down[i]),
                 "same": int(count[i] - up[i] - down[i]), "before_fen": int(sums[0][i]),
                 "after_fen": int(sums[1][i]), "change_fen": int(sums[2][i]),
                 "gained_fen": int(sums[3][i]), "lost_fen": int(sums[4][i])} for i in range(k)]

    edges = np.array([lo for lo, _hi, _label in COST_BANDS[1:]], np.int64)
    band_of = np.searchsorted(edges, mcost, side="right")
    bands = [{"label": label, **g} for (_lo, _hi, label), g in
             zip(COST_BANDS, groups(band_of, len(COST_BANDS)), strict=True)]
    regions = [{"label": name, **g} for name, g in
               zip(region_names, groups(first, len(region_names)), strict=True)]
    step_edges = np.array([lo for lo, _hi, _label in CHANGE_STEPS[1:]], np.int64)
    step_of = np.searchsorted(step_edges, np.abs(delta), side="left")
    up = np.bincount(step_of[gain], minlength=len(CHANGE_STEPS))
    down = np.bincount(step_of[lose], minlength=len(CHANGE_STEPS))
    steps = [{"label": label, "gainers": int(up[i]), "losers": int(down[i])}
             for i, (_lo, _hi, label) in enumerate(CHANGE_STEPS)]
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
        "all": groups(np.zeros(m, np.int64), 1)[0],
        "gainers": int(gain.sum()), "losers": int(lose.sum()),
        "same": int(m - gain.sum() - lose.sum()),
        "gained_fen": int(delta[gain].sum()), "lost_fen": int(-delta[lose].sum()),
        "largest_gain_fen": int(delta.max()) if m and delta.max() > 0 else 0,
        "largest_loss_fen": int(-delta.min()) if m and delta.min() < 0 else 0,
        "steps": steps, "bands": bands, "regions": regions,
    }


def by_kind(kinds: np.ndarray, before: np.ndarray, after: np.ndarray) -> list[dict[str, Any]]:
    """The claims replayed of each kind (hospital stays, and each kind of event claim), with
    their totals before and after, in the kinds' order; kinds with no claim left out."""
    out = []
    for kind in ClaimKind:
        here = kinds == kind.value
        n = int(here.sum())
        if n:
            b, a = int(before[here].sum()), int(after[here].sum())
            out.append({"kind": kind.value, "label": str(kind.label), "claims": n,
                        "before_fen": b, "after_fen": a, "change_fen": a - b})
    return out


def _sum_by(index: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    """Sums of int64 ``values`` per index, exact (two 32-bit halves through bincount)."""
    v = values.astype(np.int64)
    hi, lo = v >> 32, v & 0xFFFFFFFF
    out = np.bincount(index, weights=hi, minlength=size).astype(np.int64) << 32
    return out + np.bincount(index, weights=lo, minlength=size).astype(np.int64)


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
    replay = replay_for(base.code, period, org_path,
                        diseases=needs_diseases(start) or needs_diseases(draft),
                        held=needs_held(start) or needs_held(draft),
                        carried=needs_carried(start) or needs_carried(draft))
    before = replay_assess(replay, start)
    after = before if document == base.document else replay_assess(replay, draft)
    region_index, region_names = _regions(replay.org_index, replay.org_paths, org_path)
    premiums = premiums_of(base.code, period, org_path)
    per_before = start.premium.per_share_fen if start.premium else None
    per_after = draft.premium.per_share_fen if draft.premium else None
    if per_after is not None and per_after != per_before and premiums.shares:
        premium_after = premiums.shares * per_after
    else:
        premium_after = premiums.billed_fen
    summary = summarise(before=before, after=after, member_ids=replay.member_ids,
                        cost_fen=replay.cost_fen, region_index=region_index,
                        region_names=region_names, recorded_fen=replay.recorded_fen,
                        premiums=premiums, premium_after_fen=premium_after)
    summary["kinds"] = by_kind(replay.kinds, before, after)
    summary["per_share_before_fen"] = per_before
    summary["per_share_after_fen"] = per_after
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
