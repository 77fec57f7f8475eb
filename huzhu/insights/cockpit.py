"""What the cockpit shows for one place of the union tree and one year, read from the
aggregates (:mod:`huzhu.insights.cockpit_refresh`) and, for the fund's balances, from the
ledger's running balances. Every figure is a :class:`Table` so the page's charts and the xlsx
downloads are the same numbers.

Scope (ADR 0001): a user sees the subtree of his organisation; the cockpit is summarised down
to the county level (province → city → county), so a place deeper than a county has no cockpit
of its own.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.http import Http404

from huzhu import clock
from huzhu.accounts.roles import Perm
from huzhu.ledger.models import AccountKind
from huzhu.ledger.selectors import accounts_under, balance_as_of
from huzhu.ledger.statement import format_percent, fund_balance
from huzhu.organisations.access import staff_path
from huzhu.organisations.models import Organisation
from huzhu.products.models import Period, ProductVersion, Target

from .cockpit_refresh import MEASURES, percentile
from .models_cockpit import CockpitMonth, CockpitNow, CockpitRefresh, CockpitTop, CockpitWait

LEVEL_FIELDS = ("l0", "l1", "l2")
PERIOD_MEASURES = ("enrolled", "premium_billed", "benefit", "reserve_change")
MAX_DEPTH = 2  # the cockpit is summarised down to the county level


def yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}{fen // 100:,}.{fen % 100:02d}"


def cockpit_org_for(user: Any, org_id: int | None) -> Organisation:
    """The place a user asks for, if his scope holds it and it has a cockpit; else 404."""
    prefix = staff_path(user)
    if prefix is None or not user.can(Perm.VIEW_INSIGHTS):
        raise Http404("无权查看驾驶舱")
    if org_id is None:
        org = user.organisation
    else:
        org = Organisation.objects.filter(pk=org_id, path__startswith=prefix).first()
        if org is None:
            raise Http404("组织不存在")
    if org.depth > MAX_DEPTH:
        raise Http404("驾驶舱按县（区）及以上汇总")
    return org


@dataclass
class Table:
    """One chart's figures: what the chart draws and what the download holds."""

    key: str
    title: str
    headers: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    note: str = ""
    money_cols: tuple[int, ...] = ()  # columns holding fen (shown and exported as yuan)
    links: list[int | None] = field(default_factory=list)  # drill-down org per row


@dataclass
class Kpi:
    label: str
    value: str
    hint: str = ""


@dataclass
class Cockpit:
    org: Organisation
    year: int
    kpis: list[Kpi]
    tables: dict[str, Table]
    refreshed_at: datetime.datetime | None
    breadcrumb: list[Organisation]
    children_level: bool


def _scoped(model: type[Any], org: Organisation) -> QuerySet[Any]:
    return model.objects.filter(**{LEVEL_FIELDS[org.depth]: org.pk})


def _sum(qs: QuerySet[Any], *group: str) -> list[dict[str, Any]]:
    return list(qs.values(*group).annotate(c=Sum("count"), f=Sum("amount_fen")).order_by(*group))


def _ratio(benefit: int, reserve: int, premium: int) -> str:
    return format_percent(Fraction(benefit + reserve, premium) if premium else None)


def _product_names() -> dict[str, str]:
    return {code: name for code, name in ProductVersion.objects.order_by("loaded_at")
            .values_list("code", "name")}


def cockpit_build(org: Organisation, year: int) -> Cockpit:
    months = CockpitMonth.objects.filter(**{LEVEL_FIELDS[org.depth]: org.pk},
                                         month__gte=datetime.date(year, 1, 1),
                                         month__lte=datetime.date(year, 12, 1))
    # Two scans of the aggregates: the year's months by measure and month, and the year's
    # period by next-level place, product and measure; everything else is summed from those.
    monthly: dict[tuple[str, int], tuple[int, int]] = {
        (r["measure"], r["month"].month): (r["c"] or 0, r["f"] or 0)
        for r in _sum(months, "measure", "month")}
    by_measure: dict[str, tuple[int, int]] = {}
    for (measure, _mo), (cnt, fen) in monthly.items():
        old = by_measure.get(measure, (0, 0))
        by_measure[measure] = (old[0] + cnt, old[1] + fen)
    # Enrolment, premium, benefits and the loss ratio belong to the year's period (保障年度):
    # premium is billed before the year starts, a claim may be paid after it ends.
    codes = list(Period.objects.filter(coverage_start__year=year).values_list("code", flat=True)
                 .distinct())
    children_level = org.depth < MAX_DEPTH
    child_field = LEVEL_FIELDS[org.depth + 1] if children_level else LEVEL_FIELDS[org.depth]
    period_rows = _sum(_scoped(CockpitMonth, org).filter(period_code__in=codes,
                                                         measure__in=PERIOD_MEASURES),
                       child_field, "product_code", "measure")
    by_period: dict[str, tuple[int, int]] = {}
    per: dict[int | None, dict[str, tuple[int, int]]] = {}
    per_p: dict[str, dict[str, tuple[int, int]]] = {}
    for r in period_rows:
        cnt, fen = r["c"] or 0, r["f"] or 0
        for bucket, key in ((by_period, r["measure"]),
                            (per.setdefault(r[child_field], {}), r["measure"]),
                            (per_p.setdefault(r["product_code"], {}), r["measure"])):
            old = bucket.get(key, (0, 0))
            bucket[key] = (old[0] + cnt, old[1] + fen)
    per_p.pop("", None)

    def c(m: str) -> int:
        return (by_period if m in PERIOD_MEASURES else by_measure).get(m, (0, 0))[0]

    def f(m: str) -> int:
        return (by_period if m in PERIOD_MEASURES else by_measure).get(m, (0, 0))[1]

    tables: dict[str, Table] = {}
    # 1. By month.
    t = Table("monthly", f"{year} 年各月理赔与互助金支出",
              ["月份", "理赔受理（件）", "核准（件）", "不予给付（件）", "互助金支出（元）",
               "代付到卡（元）", "代付失败（元）"], money_cols=(4, 5, 6))
    for mo in range(1, 13):
        t.rows.append([f"{mo}月", monthly.get(("claims_filed", mo), (0, 0))[0],
                       monthly.get(("claims_approved", mo), (0, 0))[0],
                       monthly.get(("claims_rejected", mo), (0, 0))[0],
                       monthly.get(("benefit", mo), (0, 0))[1],
                       monthly.get(("paid_out", mo), (0, 0))[1],
                       monthly.get(("payout_failed", mo), (0, 0))[1]])
    tables[t.key] = t
    t = Table("premium", f"{year} 年各月保费确认收入与到账",
              ["月份", "保费确认收入（元）", "保费到账（元）"], money_cols=(1, 2))
    for mo in range(1, 13):
        t.rows.append([f"{mo}月", monthly.get(("premium_billed", mo), (0, 0))[1],
                       monthly.get(("premium_received", mo), (0, 0))[1]])
    tables[t.key] = t
    # 2. By region (the next level down).
    if children_level:
        names = dict(Organisation.objects.filter(pk__in=[k for k in per if k])
                     .values_list("pk", "name"))
        for child_pk, child_name in Organisation.objects.filter(parent=org).values_list(
                "pk", "name"):
            names.setdefault(child_pk, child_name)
            per.setdefault(child_pk, {})
        targets = _targets(year, list(names))
        t = Table("region", f"{year} 年度各{_level_name(org.depth + 1)}参保、保费与赔付",
                  ["地区", "参保人数", "参保任务", "保费确认收入（元）", "互助金支出（元）",
                   "赔付率"], money_cols=(3, 4))
        ordered = sorted(per.items(), key=lambda kv: -kv[1].get("enrolled", (0, 0))[0])
        for child_id, m in ordered:
            label = names.get(child_id, "") if child_id else f"{org.name}（本级）"
            g = {k: v for k, v in m.items()}
            t.rows.append([label, g.get("enrolled", (0, 0))[0],
                           targets.get(child_id) if child_id else None,
                           g.get("premium_billed", (0, 0))[1], g.get("benefit", (0, 0))[1],
                           _ratio(g.get("benefit", (0, 0))[1],
                                  g.get("reserve_change", (0, 0))[1],
                                  g.get("premium_billed", (0, 0))[1])])
            t.links.append(child_id)
        tables[t.key] = t
    # 3. By product.
    products = _product_names()
    t = Table("product", f"{year} 年度各保障项目", ["保障项目", "参保人数", "保费确认收入（元）",
                                            "互助金支出（元）", "赔付率"], money_cols=(2, 3))
    for code, m in sorted(per_p.items()):
        t.rows.append([products.get(code, code), m.get("enrolled", (0, 0))[0],
                       m.get("premium_billed", (0, 0))[1], m.get("benefit", (0, 0))[1],
                       _ratio(m.get("benefit", (0, 0))[1], m.get("reserve_change", (0, 0))[1],
                              m.get("premium_billed", (0, 0))[1])])
    tables[t.key] = t
    # 4. Waiting times (working days).
    hist: dict[str, dict[int, int]] = {"days_to_approval": {}, "days_to_paid": {}}
    for r in (_scoped(CockpitWait, org).filter(year=year).values("measure", "bucket")
              .annotate(c=Sum("count")).order_by()):
        hist[r["measure"]][r["bucket"]] = r["c"] or 0
    t = Table("waiting", f"{year} 年结算数据到达后的办理时间（工作日）",
              ["环节", "件数", "中位数（工作日）", "90%分位（工作日）"],
              note="自医保结算数据到达之日起，按法定工作日计（节假日安排见“节假日安排”）。")
    for measure, label in (("days_to_approval", "到核准"), ("days_to_paid", "到款项到卡")):
        h = hist[measure]
        t.rows.append([label, sum(h.values()), percentile(h, 0.5), percentile(h, 0.9)])
    tables[t.key] = t
    t = Table("waiting_hist", f"{year} 年办理时间分布（件）",
              ["工作日", "到核准（件）", "到款项到卡（件）"])
    top_day = max([*hist["days_to_approval"], *hist["days_to_paid"], 0])
    for d in range(0, min(top_day, 60) + 1):
        t.rows.append([d, hist["days_to_approval"].get(d, 0), hist["days_to_paid"].get(d, 0)])
    if top_day > 60:
        t.rows.append(["60以上", sum(v for k, v in hist["days_to_approval"].items() if k > 60),
                       sum(v for k, v in hist["days_to_paid"].items() if k > 60)])
    tables[t.key] = t
    # 5. Hospitals and diagnoses.
    tops = _scoped(CockpitTop, org).filter(year=year)
    for kind, title in (("hospital", "医院"), ("diagnosis", "诊断")):
        t = Table(f"top_{kind}", f"{year} 年获助最多的{title}（前 10）",
                  [title, "获助（件）", "互助金（元）"], money_cols=(2,))
        for r in (tops.filter(kind=kind).values("label")
                  .annotate(c=Sum("count"), f=Sum("amount_fen")).order_by("-c", "label")[:10]):
            t.rows.append([r["label"], r["c"], r["f"]])
        tables[t.key] = t
    # 6. Now: backlog and fund.
    now = {r["measure"]: r["c"] or 0 for r in _sum(_scoped(CockpitNow, org), "measure")}
    today = clock.today()
    keeps_books = accounts_under(org.path).exists()
    reserve = -balance_as_of(accounts=accounts_under(org.path).filter(
        kind=AccountKind.PENDING_RESERVE), as_of=today) if keeps_books else 0
    balance = fund_balance(path=org.path, as_of=today) if keeps_books else 0
    t = Table("state", "当前状态", ["项目", "数值"],
              note="" if keeps_books else "本级不单独核算基金，基金结余与准备金见统筹区。")
    t.rows += [["待审核（件）", now.get("backlog", 0)], ["审核超时（件）", now.get("overdue", 0)]]
    if keeps_books:
        t.rows += [["基金结余（元）", yuan(balance)], ["未决赔款准备金（元）", yuan(reserve)]]
    tables[t.key] = t
    tables["care"] = _care_table(org, year, today)
    enrolled = c("enrolled")
    target = _targets(year, [org.pk]).get(org.pk)
    kpis = [
        Kpi(f"{year} 年度参保人数", f"{enrolled:,}", f"任务 {target:,} 人，完成 {enrolled * 100 // target}%"
            if target else "尚未下达参保任务"),
        Kpi("年度保费确认收入（元）", yuan(f("premium_billed")),
            f"{year} 年内单位缴费到账 {yuan(f('premium_received'))}"),
        Kpi("年度互助金支出（元）", yuan(f("benefit")),
            f"{year} 年内核准 {c('claims_approved'):,} 件"),
        Kpi("年度赔付率", _ratio(f("benefit"), f("reserve_change"), f("premium_billed")),
            "（互助金支出＋提取未决准备金）÷ 保费确认收入，按保障年度"),
        Kpi("待审核（件）", f"{now.get('backlog', 0):,}", f"其中超时 {now.get('overdue', 0):,} 件"),
        Kpi("代付失败（元）", yuan(f("payout_failed")), f"{year} 年内 {c('payout_failed'):,} 笔"),
    ]
    if keeps_books:
        kpis += [Kpi("基金结余（元）", yuan(balance), "截至今日，账簿口径"),
                 Kpi("未决赔款准备金（元）", yuan(reserve), "科目 2701")]
    last = CockpitRefresh.objects.order_by("-finished_at").first()
    crumbs = list(Organisation.objects.filter(
        pk__in=[int(p) for p in org.path.strip("/").split("/")]).order_by("depth"))
    return Cockpit(org, year, kpis, tables, last.finished_at if last else None, crumbs,
                   children_level)


def _care_table(org: Organisation, year: int, today: datetime.date) -> Table:
    """重病关怀 of the year under ``org``: follow-ups opened and completed, and each of the five
    touches done, not to be done, still open and overdue (read live: a few rows per member
    seriously ill, scoped by the union tree like the rest)."""
    from huzhu.care.models import CareTask, FollowUp, Touch

    followups = FollowUp.objects.filter(year=year, org_path__startswith=org.path)
    opened = followups.count()
    closed = followups.filter(closed_on__isnull=False).count()
    t = Table("care", f"{year} 年重病关怀", ["事项", "应办（项）", "已办结（项）", "不予办理（项）",
                                        "未办（项）", "其中逾期（项）"],
              note=f"{year} 年开启关怀 {opened:,} 人，五项均已办结 {closed:,} 人。")
    counts = {r["kind"]: r for r in (
        CareTask.objects.filter(followup__year=year, followup__org_path__startswith=org.path)
        .values("kind").annotate(
            n=Count("id"), done=Count("id", filter=Q(done_on__isnull=False, skipped=False)),
            skipped=Count("id", filter=Q(skipped=True)),
            open=Count("id", filter=Q(done_on__isnull=True)),
            late=Count("id", filter=Q(done_on__isnull=True, due_on__lt=today)))
        .order_by())}
    for kind in Touch:
        r = counts.get(kind.value, {})
        t.rows.append([str(kind.label), r.get("n", 0), r.get("done", 0), r.get("skipped", 0),
                       r.get("open", 0), r.get("late", 0)])
    return t


def _targets(year: int, org_ids: list[int]) -> dict[int, int]:
    out: dict[int, int] = {}
    rows = (Target.objects.filter(Q(period__coverage_start__year=year), organisation_id__in=org_ids)
            .values("organisation_id").annotate(n=Sum("members")))
    for r in rows:
        out[r["organisation_id"]] = r["n"]
    return out


def _level_name(depth: int) -> str:
    return {1: "市", 2: "县（区）"}.get(depth, "下级")


def chart_data(cp: Cockpit) -> dict[str, Any]:
    """What the page's script draws: the tables with money in yuan (numbers)."""
    out: dict[str, Any] = {}
    for key, t in cp.tables.items():
        rows = [[(v / 100 if i in t.money_cols and isinstance(v, int) else v)
                 for i, v in enumerate(r)] for r in t.rows]
        out[key] = {"title": t.title, "headers": t.headers, "rows": rows, "links": t.links}
    return out


__all__ = ["MEASURES", "Cockpit", "Table", "chart_data", "cockpit_build", "cockpit_org_for"]
