"""The fund's public disclosure (公示): what is published, who publishes it, and how the public
pages are kept from hammering the database.

What the public sees of a period (docs/adr/0019): the fund's totals (income, benefits, the
balance, claims paid, members helped, average and largest benefit, by product) and one line
per paid claim: the member's masked name (张*明, TRUST S-12), the county (or city) whose union
the member belongs to, the kind of benefit (the product's name), the month the benefit was
granted, and the amount. Never the unit (a small unit and a masked name name the person), the
ID number, phone, card, diagnosis, hospital, age or sex.

Publication is maker-checker: a finance officer of the fund region's own union proposes a period
(the snapshot is computed from the ledger, already masked); a second one checks and publishes it
(the snapshot is computed again and must be identical, else the ledger moved in between and the
proposal must be withdrawn and made again). Either may withdraw it with a reason. All three are
audited events. The public pages read the snapshot row only, never a member or a claim.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from typing import Any

from django.core.cache import cache
from django.db import IntegrityError, transaction

from huzhu import clock
from huzhu.accounts.roles import Perm
from huzhu.audit.models import Action
from huzhu.audit.services import event_record
from huzhu.errors import DomainError, NotAllowed
from huzhu.organisations.models import Organisation, OrgKind
from huzhu.pii.masking import mask_name

from .models_reports import Disclosure, DisclosureStatus
from .reports import annual_report, product_names

# The public pages: per client address, at most this many requests a minute (429 beyond);
# a published disclosure's page and PDF are drawn once and served from the cache after.
PUBLIC_RATE_PER_MINUTE = 30
PUBLIC_CACHE_SECONDS = 3600


def may_publish(user: Any, region: Organisation) -> bool:
    """A finance officer of the fund region's own union (the province for the province's fund)."""
    return (user.is_authenticated and user.can(Perm.POST_LEDGER)
            and user.organisation_id == region.pk)


def _places(paths: set[str]) -> dict[str, str]:
    """Org path → the name of the county (else the city, else the region) it lies in."""
    ids: set[int] = set()
    for path in paths:
        ids.update(int(x) for x in path.strip("/").split("/") if x)
    orgs = {o.pk: o for o in Organisation.objects.filter(pk__in=ids).only("pk", "name", "kind")}
    out: dict[str, str] = {}
    for path in paths:
        chain = [orgs[int(x)] for x in path.strip("/").split("/") if x and int(x) in orgs]
        county = [o for o in chain if o.kind == OrgKind.COUNTY]
        city = [o for o in chain if o.kind == OrgKind.CITY]
        pick = county[-1] if county else city[-1] if city else chain[0] if chain else None
        out[path] = pick.name if pick else ""
    return out


def disclosure_snapshot(*, region: Organisation, start: datetime.date, end: datetime.date
                        ) -> dict[str, Any]:
    """What the public sees of the period, every figure from the ledger, names masked."""
    report = annual_report(org=region, start=start, end=end)
    from .reports import claim_benefits

    paid = claim_benefits(region=region, start=start, end=end).paid
    places = _places({c.org_path for c in paid})
    names = product_names()
    figures = report.figures
    assert figures is not None
    return {
        "region": region.name,
        "start": start.isoformat(), "end": end.isoformat(),
        "totals": {
            "income_fen": report.income_fen, "refunds_fen": figures.refunds_fen,
            "benefits_fen": report.benefits_fen, "claims_paid": report.claims_paid,
            "members_helped": report.members_helped, "members_covered": report.members_covered,
            "average_fen": report.average_fen, "largest_fen": report.largest_fen,
            "opening_fen": report.opening_fen, "closing_fen": report.closing_fen,
            "reserve_fen": report.reserve_closing_fen,
            "reserve_change_fen": figures.reserve_change_fen,
            "risk_sharing_fen": figures.risk_sharing_fen, "other_fen": figures.other_fen,
        },
        "by_product": [{"name": p.name, "claims": p.claims, "benefits_fen": p.benefits_fen,
                        "income_fen": p.income_fen} for p in report.by_product],
        "cases": [{"name": mask_name(c.member_name), "place": places.get(c.org_path, ""),
                   "product": names.get(c.product_code, c.product_code),
                   "month": c.posted_on.strftime("%Y-%m"), "fen": c.benefit_fen}
                  for c in paid],
    }


def snapshot_digest(snapshot: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(snapshot, ensure_ascii=False, sort_keys=True)
                          .encode()).hexdigest()


def _check_period(start: datetime.date | None, end: datetime.date | None) -> None:
    errors: dict[str, list[str]] = {}
    if start is None:
        errors["start"] = ["请填写期间起（YYYY-MM-DD）"]
    if end is None:
        errors["end"] = ["请填写期间止（YYYY-MM-DD）"]
    elif end > clock.today():
        errors["end"] = [f"期间止 {end.isoformat()} 尚未到来：只能公示已经过去的期间"]
    if start and end and start > end:
        errors["start"] = ["期间起晚于期间止"]
    if errors:
        raise DomainError("公示期间有误：" + "；".join(m for ms in errors.values() for m in ms),
                          field_errors=errors)


def disclosure_propose(*, region: Organisation, start: datetime.date | None,
                       end: datetime.date | None, title: str, actor: Any) -> Disclosure:
    if not may_publish(actor, region):
        raise NotAllowed(f"只有{region.name}的财务人员可以提请发布本统筹区的基金公示")
    _check_period(start, end)
    assert start is not None and end is not None
    title = title.strip() or f"{region.name}职工医疗互助基金{start.isoformat()}至{end.isoformat()}公示"
    snapshot = disclosure_snapshot(region=region, start=start, end=end)
    try:
        with transaction.atomic():
            d = Disclosure.objects.create(
                fund_region=region, org_path=region.path, title=title[:120], start=start,
                end=end, snapshot=snapshot, digest=snapshot_digest(snapshot), proposed_by=actor)
            event_record(action=Action.DISCLOSURE_PROPOSED, actor=actor, obj=d,
                         after={"title": d.title, "start": start.isoformat(),
                                "end": end.isoformat(), "digest": d.digest,
                                "benefits_fen": snapshot["totals"]["benefits_fen"],
                                "cases": len(snapshot["cases"])})
    except IntegrityError:
        raise DomainError(f"{start.isoformat()}至{end.isoformat()}已有待复核或已发布的公示，"
                          "请先撤回原公示") from None
    return d


def disclosure_publish(*, disclosure: Disclosure, actor: Any) -> Disclosure:
    """The second finance officer checks and publishes: the figures are drawn again from the
    ledger and must equal the proposal's."""
    region = disclosure.fund_region
    if not may_publish(actor, region):
        raise NotAllowed(f"只有{region.name}的财务人员可以复核发布本统筹区的基金公示")
    with transaction.atomic():
        d = Disclosure.objects.select_for_update().get(pk=disclosure.pk)
        if d.status != DisclosureStatus.PROPOSED:
            raise DomainError(f"公示“{d.title}”的状态是{d.get_status_display()}，不能发布")
        if d.proposed_by_id == actor.pk:
            raise NotAllowed("提请人不能复核自己提请的公示：须由另一位财务人员复核发布")
        again = disclosure_snapshot(region=region, start=d.start, end=d.end)
        if snapshot_digest(again) != d.digest:
            raise DomainError("提请后账务已有变动，公示数字与提请时不一致：请撤回后重新提请")
        d.status = DisclosureStatus.PUBLISHED
        d.published_by = actor
        d.published_at = clock.now()
        d.save(update_fields=["status", "published_by", "published_at"])
        event_record(action=Action.DISCLOSURE_PUBLISHED, actor=actor, obj=d,
                     before={"status": DisclosureStatus.PROPOSED.label},
                     after={"status": d.get_status_display(), "digest": d.digest})
    public_cache_clear()
    return d


def disclosure_withdraw(*, disclosure: Disclosure, actor: Any, reason: str) -> Disclosure:
    region = disclosure.fund_region
    if not may_publish(actor, region):
        raise NotAllowed(f"只有{region.name}的财务人员可以撤回本统筹区的基金公示")
    reason = reason.strip()
    if not reason:
        raise DomainError("请填写撤回原因", field_errors={"reason": ["请填写撤回原因"]})
    with transaction.atomic():
        d = Disclosure.objects.select_for_update().get(pk=disclosure.pk)
        if d.status == DisclosureStatus.WITHDRAWN:
            raise DomainError(f"公示“{d.title}”已撤回")
        before = d.get_status_display()
        d.status = DisclosureStatus.WITHDRAWN
        d.withdrawn_by, d.withdrawn_at, d.withdraw_reason = actor, clock.now(), reason[:300]
        d.save(update_fields=["status", "withdrawn_by", "withdrawn_at", "withdraw_reason"])
        event_record(action=Action.DISCLOSURE_WITHDRAWN, actor=actor, obj=d,
                     before={"status": before},
                     after={"status": d.get_status_display(), "reason": reason})
    public_cache_clear()
    return d


def published() -> Any:
    return (Disclosure.objects.filter(status=DisclosureStatus.PUBLISHED)
            .select_related("fund_region").order_by("-end", "-published_at"))


# --------------------------------------------------------------------------- public pages


_GENERATION = "insights:public:generation"


def public_cache_key(*parts: object) -> str:
    generation = cache.get_or_set(_GENERATION, 1)
    return "insights:public:" + ":".join(str(p) for p in (generation, *parts))


def public_cache_clear() -> None:
    """A publication or withdrawal changes what is public: drop every cached public page."""
    try:
        cache.incr(_GENERATION)
    except ValueError:
        cache.set(_GENERATION, 2)


def public_rate_exceeded(address: str) -> bool:
    """Count this request against the address's minute; True once it is over the limit."""
    minute = int(clock.now().timestamp() // 60)
    key = f"insights:public:rate:{address}:{minute}"
    if cache.add(key, 1, timeout=120):
        return False
    try:
        count = cache.incr(key)
    except ValueError:
        cache.set(key, 1, timeout=120)
        return False
    return count > PUBLIC_RATE_PER_MINUTE
