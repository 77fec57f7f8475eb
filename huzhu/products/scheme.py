"""The scheme year without a developer (docs/adr/0021): periods, offers and their premiums,
targets handed down the union tree, and the units not yet enrolled.

Every write here is scoped to the caller's place in the tree and saves through the model, so
the settings trail (huzhu/accounts/trail.py) records each one with its before and after. Bad
input raises :class:`DomainError` with the field named, before anything is written.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Count, Q, Sum

from huzhu import clock
from huzhu.accounts.roles import Perm
from huzhu.errors import DomainError, NotAllowed
from huzhu.organisations.models import Organisation, Unit

from .models import Offer, PayerKind, Period, ProductVersion, Target
from .services import GIFT_FLAGS, offers_for, split_premium

GIFT_LABELS = {"model_worker": "劳模工匠", "hardship": "困难职工"}
# Who may take "the rest" of a premium or a fixed part of it, as the pages offer them.
PAYER_FIELDS = [(k, PayerKind(k).label) for k in PayerKind.values]


def _field(field: str, message: str) -> DomainError:
    return DomainError(message, field_errors={field: [message]})


def scheme_org(actor: Any) -> Organisation:
    """The caller's organisation, if he may configure the scheme year at all."""
    org = getattr(actor, "organisation", None)
    if org is None or not actor.can(Perm.MANAGE_SCHEME):
        raise NotAllowed("您的角色无权设置保障期、产品和参保任务")
    return org


def in_scope(actor: Any, org: Organisation) -> bool:
    place = scheme_org(actor)
    return org.path.startswith(place.path)


# Periods.

@dataclass(frozen=True)
class PeriodInput:
    code: str
    name: str
    enroll_opens: datetime.date | None
    enroll_closes: datetime.date | None
    coverage_start: datetime.date | None
    coverage_end: datetime.date | None


def period_region(actor: Any) -> Organisation:
    """Periods belong to a fund region and are set by its own union's staff."""
    org = scheme_org(actor)
    if not org.is_fund_region:
        raise NotAllowed("保障期由统筹区工会设置，您所在的组织不是统筹区")
    return org


def period_next_defaults(region: Organisation, today: datetime.date | None = None
                         ) -> dict[str, Any]:
    """The next period as a renewal of the last: the year after it, the same window a year on;
    with no period yet, next calendar year with the window November–December."""
    last = Period.objects.filter(fund_region=region).order_by("-coverage_start").first()
    today = today or clock.today()

    def year_on(d: datetime.date) -> datetime.date:
        try:
            return d.replace(year=d.year + 1)
        except ValueError:  # 29 February
            return d.replace(year=d.year + 1, day=28)

    if last is None:
        year = today.year + 1
        start, end = datetime.date(year, 1, 1), datetime.date(year, 12, 31)
        opens, closes = datetime.date(year - 1, 11, 1), datetime.date(year - 1, 12, 31)
    else:
        start, end = year_on(last.coverage_start), year_on(last.coverage_end)
        opens, closes = year_on(last.enroll_opens), year_on(last.enroll_closes)
    code = str(start.year)
    return {"code": code, "name": f"{code} 年度", "enroll_opens": opens,
            "enroll_closes": closes, "coverage_start": start, "coverage_end": end,
            "renew_from": last}


@transaction.atomic
def period_create(*, actor: Any, data: PeriodInput, renew_offers: bool = True) -> Period:
    """Create a period of the caller's fund region; with ``renew_offers`` every offer of the
    last period is carried over unchanged (premium, split, gifts), each one recorded."""
    region = period_region(actor)
    errors: dict[str, list[str]] = {}
    code = (data.code or "").strip()
    if not code:
        errors["code"] = ["请填写期号"]
    elif Period.objects.filter(fund_region=region, code=code).exists():
        errors["code"] = [f"期号 {code} 已存在"]
    if not (data.name or "").strip():
        errors["name"] = ["请填写名称"]
    for f in ("enroll_opens", "enroll_closes", "coverage_start", "coverage_end"):
        if getattr(data, f) is None:
            errors[f] = ["请填写日期"]
    if not errors:
        assert data.enroll_opens and data.enroll_closes and data.coverage_start
        assert data.coverage_end
        if data.enroll_closes < data.enroll_opens:
            errors["enroll_closes"] = ["参保截止日期不能早于参保开始日期"]
        if data.coverage_end < data.coverage_start:
            errors["coverage_end"] = ["保障结束日期不能早于保障开始日期"]
        if data.enroll_opens > data.coverage_start:
            errors["enroll_opens"] = ["参保开始日期不能晚于保障开始日期"]
        overlap = Period.objects.filter(fund_region=region, coverage_start__lte=data.coverage_end,
                                        coverage_end__gte=data.coverage_start).first()
        if overlap is not None:
            errors["coverage_start"] = [f"保障期间与“{overlap.name}”重叠"]
    if errors:
        raise DomainError("保障期未保存：" + "；".join(m for ms in errors.values() for m in ms),
                          field_errors=errors)
    assert data.enroll_opens and data.enroll_closes and data.coverage_start
    assert data.coverage_end
    last = Period.objects.filter(fund_region=region).order_by("-coverage_start").first()
    period = Period.objects.create(
        fund_region=region, code=code, name=data.name.strip(), enroll_opens=data.enroll_opens,
        enroll_closes=data.enroll_closes, coverage_start=data.coverage_start,
        coverage_end=data.coverage_end)
    if renew_offers and last is not None:
        for offer in last.offers.all():
            Offer.objects.create(
                period=period, organisation_id=offer.organisation_id,
                product_version_id=offer.product_version_id,
                premium_per_share_fen=offer.premium_per_share_fen, split=offer.split,
                gift_flags=offer.gift_flags, gift_payer=offer.gift_payer)
    return period


@transaction.atomic
def period_close(*, actor: Any, period: Period, today: datetime.date | None = None) -> Period:
    """Close the enrollment window now: it ended yesterday (Beijing time), the countdown with it.
    Coverage of those enrolled is unchanged."""
    region = period_region(actor)
    if period.fund_region_id != region.pk:
        raise NotAllowed("该保障期不属于您的统筹区")
    today = today or clock.today()
    yesterday = today - datetime.timedelta(days=1)
    if period.enroll_closes <= yesterday:
        raise DomainError(f"“{period.name}”的参保已于 {period.enroll_closes} 截止，无需关闭")
    if period.enroll_opens > yesterday:
        raise _field("enroll_opens", f"“{period.name}”的参保今天才开始或尚未开始，"
                                     "请直接修改其参保日期，而不是关闭")
    period.enroll_closes = yesterday
    period.save(update_fields=["enroll_closes"])
    return period


# Offers.

@dataclass(frozen=True)
class OfferInput:
    organisation_id: int | None
    product_version_id: int | None
    premium_yuan: str
    split: list[dict[str, Any]]  # [{"payer": kind, "fen": n} | {"payer": kind, "rest": True}]
    gift_flags: list[str]
    gift_payer: str


def yuan_to_fen(text: str, field: str) -> int:
    """'110' or '110.50' yuan → fen, exactly (no float)."""
    raw = (text or "").strip()
    whole, _, frac = raw.partition(".")
    if not whole.isdigit() or (frac and (not frac.isdigit() or len(frac) > 2)):
        raise _field(field, f"金额“{raw}”无效：请填写元，最多两位小数")
    return int(whole) * 100 + int((frac + "00")[:2])


def offer_check(period: Period, org: Organisation, data: OfferInput, premium: int,
                exclude_pk: int | None = None) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if premium <= 0:
        errors["premium_yuan"] = ["每份保费须大于 0"]
    if data.product_version_id is None or not ProductVersion.objects.filter(
            pk=data.product_version_id).exists():
        errors["product_version"] = ["请选择产品版本"]
    elif Offer.objects.filter(period=period, organisation=org,
                              product_version_id=data.product_version_id).exclude(
            pk=exclude_pk or 0).exists():
        errors["product_version"] = [f"{org.name}在本期已提供该产品版本"]
    for flag in data.gift_flags:
        if flag not in GIFT_FLAGS:
            errors["gift_flags"] = [f"未知的赠送对象：{flag}"]
    if data.gift_payer not in PayerKind.values:
        errors["gift_payer"] = ["请选择赠送参保的出资方"]
    rests = [e for e in data.split if e.get("rest")]
    if len(rests) != 1:
        errors["split"] = ["须指定且只能指定一个出资方承担“其余部分”"]
    elif premium > 0:
        fixed = sum(int(e.get("fen", 0)) for e in data.split if not e.get("rest"))
        if fixed > premium:
            errors["split"] = [f"各出资方固定金额合计 {fixed / 100:.2f} 元，超过每份保费 "
                               f"{premium / 100:.2f} 元"]
        else:
            try:
                split_premium(split=data.split, per_share_fen=premium, shares=1)
            except DomainError as exc:
                errors["split"] = [exc.message]
    return errors


@transaction.atomic
def offer_save(*, actor: Any, period: Period, data: OfferInput, offer: Offer | None = None
               ) -> Offer:
    """Create an offer (or change the premium, split and gifts of one) for an organisation of
    the caller's subtree; the nearest organisation's offer of a product wins for its units."""
    place = scheme_org(actor)
    if not period.fund_region.path.startswith(place.path) and not place.path.startswith(
            period.fund_region.path):
        raise NotAllowed("该保障期不在您的管理范围内")
    org_id = offer.organisation_id if offer is not None else data.organisation_id
    org = Organisation.objects.filter(pk=org_id).first() if org_id else None
    if org is None:
        raise _field("organisation", "请选择提供产品的组织")
    if not org.path.startswith(place.path):
        raise _field("organisation", f"{org.name}不在您的管理范围内")
    if not org.path.startswith(period.fund_region.path):
        raise _field("organisation", f"{org.name}不在“{period.name}”的统筹区内")
    try:
        premium = yuan_to_fen(data.premium_yuan, "premium_yuan")
    except DomainError as exc:
        errors = dict(exc.field_errors)
        premium = 0
    else:
        errors = {}
    errors = {**offer_check(period, org, data, premium, offer.pk if offer else None), **errors}
    if errors:
        raise DomainError("未保存：" + "；".join(m for ms in errors.values() for m in ms),
                          field_errors=errors)
    assert data.product_version_id is not None  # offer_check
    if offer is None:
        return Offer.objects.create(
            period=period, organisation=org, product_version_id=data.product_version_id,
            premium_per_share_fen=premium, split=data.split, gift_flags=data.gift_flags,
            gift_payer=data.gift_payer)
    if offer.enrollments.exists():
        raise DomainError("已有会员按此提供参保，保费和分担规则不能再修改；如需调整请在下一期设置")
    offer.premium_per_share_fen = premium
    offer.split = data.split
    offer.gift_flags = data.gift_flags
    offer.gift_payer = data.gift_payer
    offer.product_version_id = data.product_version_id or offer.product_version_id
    offer.save()
    return offer


def split_text(split: list[dict[str, Any]]) -> str:
    parts = []
    for e in split:
        label = PayerKind(e["payer"]).label if e.get("payer") in PayerKind.values else "?"
        parts.append(f"{label}其余部分" if e.get("rest") else f"{label} {int(e['fen']) / 100:.2f} 元")
    return "；".join(parts)


@dataclass
class PreviewLine:
    offer: Offer
    members: int
    gifted: int
    total_fen: int
    by_payer: list[tuple[str, int]]  # (payer label, fen)
    unit_due_fen: int


def bill_preview(*, unit: Unit, period: Period) -> list[PreviewLine]:
    """What the unit would be billed for one share of each product offered to it, if every
    member of the unit enrolled: per payer, gifts paid by the gift payer."""
    from huzhu.enrollment.models import UNIT_PAYERS
    from huzhu.members.models import Member

    members = Member.objects.filter(unit=unit)
    counts = members.aggregate(n=Count("id"), model=Count("id", filter=Q(is_model_worker=True)),
                               hard=Count("id", filter=Q(is_hardship=True)),
                               either=Count("id", filter=Q(is_model_worker=True)
                                            | Q(is_hardship=True)))
    lines = []
    for offer in offers_for(org_path=unit.org_path, period=period).values():
        flags = set(offer.gift_flags)
        if flags >= {"model_worker", "hardship"}:
            gifted = counts["either"]
        elif "model_worker" in flags:
            gifted = counts["model"]
        elif "hardship" in flags:
            gifted = counts["hard"]
        else:
            gifted = 0
        paying = counts["n"] - gifted
        totals: dict[str, int] = {}
        for part in split_premium(split=offer.split, per_share_fen=offer.premium_per_share_fen,
                                  shares=1):
            totals[part.payer] = totals.get(part.payer, 0) + part.fen * paying
        if gifted:
            totals[offer.gift_payer] = (totals.get(offer.gift_payer, 0)
                                        + offer.premium_per_share_fen * gifted)
        lines.append(PreviewLine(
            offer=offer, members=counts["n"], gifted=gifted,
            total_fen=offer.premium_per_share_fen * counts["n"],
            by_payer=[(PayerKind(p).label, f) for p, f in totals.items() if f],
            unit_due_fen=sum(f for p, f in totals.items() if p in UNIT_PAYERS)))
    return lines


# Targets.

@transaction.atomic
def targets_set(*, actor: Any, period: Period, parent: Organisation,
                values: dict[int, str]) -> list[Target]:
    """Set the targets of ``parent``'s children (the province each city's, a city each
    county's, a county each grassroots union's). A blank value leaves a child without a target.
    The children's sum may exceed the parent's own target (unions hand down a margin); the
    page shows the sum beside it."""
    place = scheme_org(actor)
    if not parent.path.startswith(place.path):
        raise NotAllowed(f"{parent.name}不在您的管理范围内")
    if parent.fund_region_id != period.fund_region_id and parent.pk != period.fund_region_id:
        raise NotAllowed("该保障期不属于此组织的统筹区")
    children = {c.pk: c for c in Organisation.objects.filter(parent=parent)}
    errors: dict[str, list[str]] = {}
    clean: dict[int, int | None] = {}
    for pk, raw in values.items():
        child = children.get(pk)
        if child is None:
            raise NotAllowed("只能设置下一级组织的参保任务")
        text = (raw or "").strip().replace(",", "")
        if not text:
            clean[pk] = None
        elif not text.isdigit() or int(text) > 10_000_000:
            errors[f"target_{pk}"] = [f"{child.name}的目标人数“{raw}”无效：请填写 0 或正整数"]
        else:
            clean[pk] = int(text)
    if errors:
        raise DomainError("参保任务未保存：" + "；".join(m for ms in errors.values() for m in ms),
                          field_errors=errors)
    saved = []
    for pk, members in clean.items():
        existing = Target.objects.filter(period=period, organisation_id=pk).first()
        if members is None:
            if existing is not None:
                existing.delete()
            continue
        if existing is None:
            saved.append(Target.objects.create(period=period, organisation_id=pk,
                                               members=members))
        elif existing.members != members:
            existing.members = members
            existing.save(update_fields=["members"])
            saved.append(existing)
    return saved


@dataclass
class TargetRow:
    organisation: Organisation
    target: int | None
    handed_down: int  # the sum of its children's targets
    enrolled: int

    @property
    def rate(self) -> float | None:
        return None if not self.target else self.enrolled / self.target


def target_rows(parent: Organisation, period: Period) -> list[TargetRow]:
    from huzhu.enrollment.models import Enrollment
    from huzhu.enrollment.selectors import COUNTED

    children = list(Organisation.objects.filter(parent=parent).order_by("name"))
    targets = dict(Target.objects.filter(period=period, organisation__in=children)
                   .values_list("organisation_id", "members"))
    rows = []
    for child in children:
        down = Target.objects.filter(period=period, organisation__parent=child).aggregate(
            s=Sum("members"))["s"] or 0
        enrolled = Enrollment.objects.filter(
            period=period, status__in=COUNTED, org_path__startswith=child.path).aggregate(
            n=Count("member_id", distinct=True))["n"]
        rows.append(TargetRow(child, targets.get(child.pk), down, enrolled))
    return rows


# Units not yet enrolled.

def units_not_enrolled(org: Organisation, period: Period) -> Any:
    """The units of ``org``'s subtree with no enrollment counted in the period, with agents."""
    from huzhu.enrollment.models import Enrollment
    from huzhu.enrollment.selectors import COUNTED

    enrolled = Enrollment.objects.filter(period=period, status__in=COUNTED,
                                         unit__isnull=False).values("unit_id")
    return (Unit.objects.filter(org_path__startswith=org.path)
            .exclude(pk__in=enrolled).select_related("organisation")
            .prefetch_related("agents").order_by("org_path", "name"))


def units_remind(*, actor: Any, org: Organisation, period: Period,
                 today: datetime.date | None = None) -> int:
    """Queue one SMS to each active agent of each unit not yet enrolled (once per agent, unit
    and day); record the reminder as one event. Returns how many messages were queued."""
    from huzhu.audit.models import Action
    from huzhu.audit.services import event_record
    from huzhu.notices.services import notices_enqueue_many

    if not org.path.startswith(scheme_org(actor).path):
        raise NotAllowed(f"{org.name}不在您的管理范围内")
    today = today or clock.today()
    days = (period.enroll_closes - today).days
    notices = []
    units = 0
    for unit in units_not_enrolled(org, period):
        agents = [a for a in unit.agents.all() if a.is_active]
        units += bool(agents)
        for agent in agents:
            notices.append({
                "key": f"enroll-remind:{period.pk}:{unit.pk}:{agent.pk}:{today.isoformat()}",
                "template": "ENROLL_REMIND", "phone": agent.phone, "org_path": unit.org_path,
                "params": {"name": agent.name, "unit": unit.name[:30], "period": period.name,
                           "date": period.enroll_closes.strftime("%Y年%m月%d日"),
                           "days": str(max(days, 0))}})
    with transaction.atomic():
        queued = notices_enqueue_many(notices)
        event_record(action=Action.ENROLL_REMINDED, actor=actor, obj=period,
                     org_path=org.path, after={"organisation": org.name, "units": units,
                                               "messages": queued})
    return queued
