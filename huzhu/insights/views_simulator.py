"""政策模拟: the policy simulator's pages (issue 18 part 3, ADR 0020), for those who hold
SIMULATE_POLICY (finance, leadership), each seeing the claims of their own subtree."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from huzhu.accounts.roles import Perm
from huzhu.actors import AuthedRequest
from huzhu.errors import DomainError
from huzhu.products.models import Period, ProductVersion
from huzhu.products.services import ancestor_paths, product_rules

from .models_simulator import Scenario
from .simulator import scenario_hand, scenario_save, simulate
from .simulator_levers import BENEFIT_MONEY, levers_of, lump_levers_of


def _scope(user: Any) -> str:
    org = getattr(user, "organisation", None)
    if org is None or not user.can(Perm.SIMULATE_POLICY):
        raise Http404
    return str(org.path)


def _periods(path: str) -> Any:
    return (Period.objects.filter(Q(fund_region__path__in=ancestor_paths(path))
                                  | Q(fund_region__path__startswith=path))
            .select_related("fund_region").order_by("-coverage_start", "id"))


def _versions(periods: Any) -> Any:
    return ProductVersion.objects.filter(offers__period__in=periods).distinct().order_by(
        "code", "version").only("id", "code", "version", "name")


def _scenarios(path: str) -> Any:
    return Scenario.objects.filter(org_path__startswith=path).select_related(
        "base", "period", "created_by")


def _pct(bp: int | None) -> str:
    if bp is None:
        return "—"
    sign = "-" if bp < 0 else ""
    return f"{sign}{abs(bp) // 100:,}.{abs(bp) % 100:02d}%"


def shown(summary: dict[str, Any]) -> dict[str, Any]:
    """The summary with its ratios as Chinese-ready strings."""
    out = dict(summary)
    out["loss_ratio_before"] = _pct(summary.get("loss_ratio_before_bp"))
    out["loss_ratio_after"] = _pct(summary.get("loss_ratio_after_bp"))
    before = summary.get("before_fen") or 0
    change = summary.get("change_fen") or 0
    bp = (abs(change) * 10_000 * 2 + before) // (2 * before) if before else None
    out["change_pct"] = _pct(None if bp is None else (-bp if change < 0 else bp))
    return out


def _levers_from(post: Any, base: ProductVersion) -> dict[str, Any]:
    benefits: dict[str, Any] = {}
    for b in levers_of(product_rules(base)):
        given: dict[str, Any] = {"rates": {str(band.index): post.get(f"rate_{b.id}_{band.index}",
                                                                   "").strip()
                                           for band in b.bands}}
        for key in (*BENEFIT_MONEY, "claim_limit"):
            given[key] = post.get(f"{key}_{b.id}", "").strip()
        benefits[b.id] = given
    lumps = {b.id: {str(i): post.get(f"lump_{b.id}_{i}", "").strip() for i, _l, _a in b.rows}
             for b in lump_levers_of(product_rules(base))}
    return {"benefits": benefits, "lumps": lumps,
            "product_cap": post.get("product_cap", "").strip(),
            "premium": post.get("premium", "").strip()}


def _changed_only(levers: dict[str, Any], base: ProductVersion) -> dict[str, Any]:
    """Keep the levers that differ from the starting version (the form shows current values)."""
    current = {b.id: b for b in levers_of(product_rules(base))}
    out: dict[str, Any] = {"benefits": {}}
    for bid, given in levers["benefits"].items():
        b = current[bid]
        now: dict[str, Any] = {"rates": {str(x.index): x.rate for x in b.bands},
               "deductible": b.deductible,
               "per_claim_cap": b.per_claim_cap, "period_cap": b.period_cap,
               "claim_limit": b.claim_limit}
        keep: dict[str, Any] = {"rates": {i: t for i, t in given["rates"].items()
                                          if t and t.replace("％", "%") != now["rates"][i]}}
        for key in (*BENEFIT_MONEY, "claim_limit"):
            if given[key] and given[key].replace(",", "") != str(now[key]).replace(",", ""):
                keep[key] = given[key]
        if keep["rates"] or len(keep) > 1:
            out["benefits"][bid] = keep
    rules = product_rules(base)
    for lump in lump_levers_of(rules):
        now_amounts = {str(i): amount.replace(",", "") for i, _label, amount in lump.rows}
        moved = {i: t for i, t in levers.get("lumps", {}).get(lump.id, {}).items()
                 if t and t.replace(",", "") != now_amounts.get(i)}
        if moved:
            out.setdefault("lumps", {})[lump.id] = moved
    cap = "" if rules.period_cap_fen is None else f"{rules.period_cap_fen / 100:.2f}"
    if levers["product_cap"] and levers["product_cap"].replace(",", "") != cap:
        out["product_cap"] = levers["product_cap"]
    premium = "" if rules.premium is None else f"{rules.premium.per_share_fen / 100:.2f}"
    if levers["premium"] and levers["premium"].replace(",", "") != premium:
        out["premium"] = levers["premium"]
    return out


@login_required
def simulator(request: AuthedRequest) -> HttpResponse:
    """Choose a version and a period, move the levers or edit the TOML, run or save."""
    from .simulator_levers import apply_levers

    path = _scope(request.user)
    periods = _periods(path)
    versions = _versions(periods)
    data = request.POST if request.method == "POST" else request.GET
    base = versions.filter(pk=data.get("base") or 0).first()
    period = periods.filter(pk=data.get("period") or 0).first()
    context: dict[str, Any] = {"periods": periods, "versions": versions, "base": base,
                               "period": period, "scenarios": _scenarios(path)[:50],
                               "post": request.POST}
    if base is not None:
        rules = product_rules(base)
        context.update(levers=levers_of(rules), lumps=lump_levers_of(rules),
                       money_levers=BENEFIT_MONEY,
                       product_cap="" if rules.period_cap_fen is None
                       else f"{rules.period_cap_fen / 100:.2f}",
                       premium="" if rules.premium is None
                       else f"{rules.premium.per_share_fen / 100:.2f}",
                       document=base.document)
    if request.method == "POST" and base is not None and period is not None:
        document = request.POST.get("document") or base.document
        try:
            levers = _changed_only(_levers_from(request.POST, base), base)
            draft = apply_levers(document.replace("\r\n", "\n"), levers)
            if request.POST.get("action") == "save":
                scenario = scenario_save(actor=request.user, name=request.POST.get("name", ""),
                                         base=base, period=period, document=draft,
                                         levers=levers, org_path=path)
                messages.success(request, f"方案“{scenario.name}”已保存")
                return redirect("insights:simulator_scenario", scenario.pk)
            run = simulate(base=base, period=period, document=draft, org_path=path)
        except DomainError as exc:
            context["error"] = exc.message
        else:
            context.update(result=shown(run.summary), seconds=f"{run.seconds:.2f}",
                           document=draft, levers_set=levers)
    elif request.method == "POST":
        context["error"] = "请先选择产品版本和回放的保障期"
    return render(request, "insights/simulator.html", context)


def _scenario(request: AuthedRequest, pk: int) -> Scenario:
    return get_object_or_404(_scenarios(_scope(request.user)), pk=pk)


@login_required
def scenario_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    s = _scenario(request, pk)
    try:
        run = simulate(base=s.base, period=s.period, document=s.document, org_path=s.org_path)
        result, error = shown(run.summary), ""
    except DomainError as exc:
        result, error = shown(s.summary), exc.message
    others = (_scenarios(_scope(request.user)).filter(base__code=s.base.code, period=s.period)
              .exclude(pk=s.pk))
    from huzhu.products.drafts import diff

    return render(request, "insights/simulator_scenario.html", {
        "s": s, "result": result, "error": error, "others": others,
        "diff": diff(s.base.document, s.document),
        "can_hand": request.user.can(Perm.MANAGE_PRODUCTS)})


@login_required
def compare(request: AuthedRequest) -> HttpResponse:
    a = _scenario(request, int(request.GET.get("a") or 0))
    b = _scenario(request, int(request.GET.get("b") or 0))
    runs = []
    for s in (a, b):
        try:
            summary = simulate(base=s.base, period=s.period, document=s.document,
                               org_path=s.org_path).summary
        except DomainError:
            summary = s.summary
        runs.append(shown(summary))
    bands = [{"label": x["label"], "a": x, "b": y}
             for x, y in zip(runs[0]["bands"], runs[1]["bands"], strict=True)]
    labels = sorted({r["label"] for run in runs for r in run["regions"]})
    regions = [{"label": label,
                "a": next((r for r in runs[0]["regions"] if r["label"] == label), None),
                "b": next((r for r in runs[1]["regions"] if r["label"] == label), None)}
               for label in labels]
    from huzhu.products.drafts import diff

    return render(request, "insights/simulator_compare.html", {
        "a": a, "b": b, "ra": runs[0], "rb": runs[1], "bands": bands, "regions": regions,
        "diff": diff(a.document, b.document)})


@login_required
@require_POST
def scenario_hand_view(request: AuthedRequest, pk: int) -> HttpResponse:
    s = _scenario(request, pk)
    if not request.user.can(Perm.MANAGE_PRODUCTS):
        raise Http404
    try:
        draft = scenario_hand(actor=request.user, scenario=s,
                              version=request.POST.get("version", ""))
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("insights:simulator_scenario", s.pk)
    messages.success(request, f"已转为产品版本草稿 {draft.version}，请检查后提请审批")
    return redirect("products:draft", draft.pk)
