"""Enrolling one member: by staff into the member's unit, or by a new-form worker himself."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from huzhu import clock
from huzhu.actors import Actor
from huzhu.audit.services import event_record
from huzhu.errors import DomainError
from huzhu.members.models import Member
from huzhu.products.models import Period
from huzhu.products.services import offers_for, product_rules, split_premium

from .billing import _confirm
from .eligibility import eligibility_errors
from .models import Enrollment, EnrollmentStatus, Invoice, Source

FIELD_WORDS = {"id_number": "身份证号", "insurance_type": "医保类型", "is_union_member": "工会会员",
               "product": "保障产品", "shares": "份数"}


def _held(member: Member, period: Period) -> set[str]:
    return set(Enrollment.objects.filter(member=member, period=period).exclude(
        status__in=[EnrollmentStatus.CANCELLED, EnrollmentStatus.REFUNDED])
        .values_list("product_version__code", flat=True))


@transaction.atomic
def enrollment_single(*, actor: Actor, member: Member, period: Period, product_code: str,
                      shares: int = 1, source: str = Source.STAFF) -> Enrollment:
    """Enroll one member in an offered product; refuses what the product's rules refuse.

    ``source=SELF`` is an individual enrollment (a new-form worker without a unit): the member
    gets an invoice of his own and the enrollment stands apart from any unit.
    """
    Member.objects.select_for_update(no_key=True).filter(pk=member.pk).first()  # one enrollment at a time
    offer = offers_for(org_path=member.org_path, period=period).get(product_code)
    if offer is None:
        raise DomainError("该产品本期不向此会员开放", field_errors={"product": ["请选择本期可参加的产品"]})
    held = _held(member, period)
    if product_code in held:
        raise DomainError("该会员本期已参加此产品", field_errors={"product": ["本期已参加"]},
                          code="duplicate")
    values = {"gender": member.gender, "birth_date": member.birth_date,
              "insurance_type": member.insurance_type, "is_union_member": member.is_union_member}
    errors = eligibility_errors(product_rules(offer.product_version), values, shares,
                                held | {product_code}, period.coverage_start)
    if errors:
        fields: dict[str, list[str]] = {}
        for key, message in errors:
            fields.setdefault(key, []).append(message)
        raise DomainError("；".join(m for _, m in errors), field_errors=fields)
    gifted = any(getattr(member, attr) for flag, attr in
                 (("model_worker", "is_model_worker"), ("hardship", "is_hardship"))
                 if flag in offer.gift_flags)
    total = offer.premium_per_share_fen * shares
    split = ([{"payer": offer.gift_payer, "fen": total}] if gifted else
             [{"payer": p.payer, "fen": p.fen} for p in split_premium(
                 split=offer.split, per_share_fen=offer.premium_per_share_fen, shares=shares)])
    enrollment = Enrollment.objects.create(
        member=member, period=period, product_version=offer.product_version, offer=offer,
        unit=None if source == Source.SELF else member.unit, source=source, shares=shares,
        gifted=gifted, premium_fen=total, split=split, org_path=member.org_path,
        fund_region_id=period.fund_region_id)
    event_record(action="enrollment.created", actor=actor, obj=enrollment,
                 after={"member": member.pk, "product": product_code, "shares": shares,
                        "source": source, "premium_fen": total})
    if source == Source.SELF:
        _bill_individual(enrollment, actor)
    return enrollment


def _bill_individual(enrollment: Enrollment, actor: Actor) -> Invoice:
    """An individual pays his own premium; every payer share is on his invoice, and the
    shares of unions or government are receivable like a unit's."""
    lines = [{"payer": p["payer"], "fen": p["fen"], "members": 1} for p in enrollment.split]
    due = sum(p["fen"] for p in enrollment.split if p["payer"] == "member")
    invoice = Invoice.objects.create(
        member=enrollment.member, period=enrollment.period,
        number=f"pending-{timezone.now().timestamp()}-m{enrollment.member_id}",
        total_fen=enrollment.premium_fen, due_fen=due, lines=lines,
        org_path=enrollment.org_path, fund_region_id=enrollment.fund_region_id)
    invoice.number = f"GR{enrollment.period.code}-{invoice.pk:06d}"
    invoice.save(update_fields=["number"])
    Enrollment.objects.filter(pk=enrollment.pk).update(invoice=invoice)
    enrollment.invoice = invoice
    if due == 0:
        _confirm(invoice, clock.today(), actor)
    return invoice
