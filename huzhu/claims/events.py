"""Claims without a settlement: every other benefit of the catalog (docs/adr/0016).

A member, an agent or a county agency point files a diagnosis lump sum (重大疾病, 女职工特殊
疾病: the diagnosis date, a disease from the product's own list, the pathology report), the
next year's continued treatment, an accident (disability grade with the appraisal, or death),
a death benefit (抚恤金) paid to a beneficiary, or a spouse's or child's illness. The claim
takes the road every new claim takes (:func:`huzhu.claims.bulk.file_many`, a plan of one):
assessed by the rules engine from the product, screened, approved at once or sent to review,
granted once (ADR 0008), paid through the payout batches — to the beneficiary's card where
there is one. One claim per event and product: the claim's key names the event
(``EV-<kind>-<member>-…``), so filing it twice is refused naming the first.
"""

from __future__ import annotations

import datetime
import hashlib
import tomllib
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.utils import timezone

from huzhu import clock
from huzhu.actors import Actor
from huzhu.audit.services import atomic_events
from huzhu.errors import Conflict, DomainError
from huzhu.members.models import Member
from huzhu.pii.identifiers import IdentifierError, check_bank_card, check_phone, check_resident_id
from huzhu.products.models import ProductVersion
from huzhu.products.services import product_rules
from huzhu.rules.model import Product

from .assess import INSUTYPE_OF
from .bulk import EventPlan, enrollments_of, file_many, lock_members
from .documents import documents_add
from .facts import EventFacts, cover_of, setl_of_event
from .models import Claim, ClaimEvent, ClaimKind, ClaimSource, DocumentKind, Relation
from .notify import what_of
from .services import enrollment_for

if TYPE_CHECKING:
    from huzhu.payouts.models import PayeeBank


def already_claimed(existing: Claim) -> Conflict:
    """The refusal of a second claim on one event and product, naming the first."""
    from huzhu.payouts.shown import claim_state_label

    msg = (f"该事项已有理赔（理赔编号 {existing.pk}，{claim_state_label(existing)}），"
           "不能重复申请")
    return Conflict(msg, code="already_claimed", field_errors={"event_date": [msg]})

# The engine's claim type, subject and flags of each kind (the subject of a family claim is
# the relation: spouse or child).
ENGINE = {
    ClaimKind.DIAGNOSIS: ("diagnosis", ()),
    ClaimKind.CONTINUED: ("diagnosis", ("continued_treatment",)),
    ClaimKind.DISABILITY: ("accident", ()),
    ClaimKind.DEATH: ("accident", ()),
    ClaimKind.FAMILY: ("diagnosis", ()),
}
# The document each kind must come with.
REQUIRED_DOCUMENT = {
    ClaimKind.DIAGNOSIS: DocumentKind.PATHOLOGY,
    ClaimKind.CONTINUED: DocumentKind.DIAGNOSIS,
    ClaimKind.DISABILITY: DocumentKind.APPRAISAL,
    ClaimKind.DEATH: DocumentKind.DEATH,
    ClaimKind.FAMILY: DocumentKind.PATHOLOGY,
}
DISEASE_KINDS = (ClaimKind.DIAGNOSIS, ClaimKind.CONTINUED, ClaimKind.FAMILY)
FAMILY_RELATIONS = (Relation.SPOUSE, Relation.CHILD)


@dataclass
class EventInput:
    """What the filing form gives (strings as typed; checked by :func:`claim_file_event`)."""

    kind: str
    product_code: str
    event_date: datetime.date | None
    disease: str = ""
    disability_grade: int | None = None
    during_stay: bool = False
    relation: str = ""
    person_name: str = ""
    person_id_number: str = ""
    person_phone: str = ""
    payee_card: str = ""
    payee_bank: str = ""
    payee_bank_cnaps: str = ""  # the 开户行 chosen from the bank list (the page sends this)
    files: list[tuple[str, str, bytes]] = field(default_factory=list)


def _payee_bank(data: EventInput) -> PayeeBank:
    """The beneficiary's 开户行: the bank-list entry chosen by its 联行号, or (a caller
    sending text) the entry the text names; anything else is refused on ``payee_bank``."""
    from huzhu.payouts import banklist

    if data.payee_bank_cnaps.strip():
        return banklist.pick(data.payee_bank_cnaps, field="payee_bank")
    if not data.payee_bank.strip():
        raise _bad("payee_bank", "请选择受益人银行卡的开户行")
    found = banklist.match(data.payee_bank)
    if found is None:
        raise _bad("payee_bank", banklist.PICK_MESSAGE)
    return found


def _subject(kind: str, relation: str) -> str:
    return relation if kind == ClaimKind.FAMILY else "member"


def benefits_for(product: Product, kind: str, subject: str) -> list[str]:
    """The product's benefits a claim of ``kind`` for ``subject`` may trigger."""
    claim_type, flags = ENGINE[kind]  # type: ignore[index]
    out = []
    for b in product.benefits:
        if claim_type in b.claim_types and subject in b.subjects \
                and b.requires_flags <= set(flags) and not b.excludes_flags & set(flags) \
                and set(flags) <= b.requires_flags:  # continued treatment: its own benefit only
            out.append(b.id)
    return out


def kinds_of(version: ProductVersion) -> list[str]:
    """The event kinds a product pays (none of them: only hospital stays)."""
    product = product_rules(version)
    out = []
    for kind in ENGINE:
        subjects = ("spouse", "child") if kind == ClaimKind.FAMILY else ("member",)
        if any(benefits_for(product, kind, s) for s in subjects):
            out.append(str(kind))
    return out


def disease_names(version: ProductVersion) -> dict[str, str]:
    """Every disease the product's lists hold, code → name (as its stored lists say)."""
    names: dict[str, str] = {}
    for text in version.lists_document.values():
        for table in tomllib.loads(text).get("lists", {}).values():
            for d in table.get("diseases", ()):
                names[d["code"]] = d["name"]
    return names


def diseases_of(version: ProductVersion, kind: str, subject: str = "member") -> dict[str, str]:
    """The diseases a claim of ``kind`` can name: those of the product's triggered benefits'
    lists, code → name, in the lists' order."""
    product = product_rules(version)
    wanted = set(benefits_for(product, kind, subject))
    codes: list[str] = []
    for b in product.benefits:
        if b.id in wanted:
            for row in b.amounts:
                codes.extend(sorted(row.codes))
    names = disease_names(version)
    return {c: names.get(c, c) for c in dict.fromkeys(codes)}


def _bad(field_name: str, message: str) -> DomainError:
    return DomainError(message, code="invalid", field_errors={field_name: [message]})


def _key(kind: str, member_id: int, day: datetime.date, person: str = "") -> str:
    tag = {ClaimKind.DIAGNOSIS: "DX", ClaimKind.CONTINUED: "CT", ClaimKind.DISABILITY: "DS",
           ClaimKind.DEATH: "DE", ClaimKind.FAMILY: "FM"}[kind]  # type: ignore[index]
    if kind == ClaimKind.DEATH:
        return f"EV-{tag}-{member_id}"  # one death per member
    if person:
        who = hashlib.sha256(person.encode()).hexdigest()[:10]
        return f"EV-{tag}-{member_id}-{who}-{day:%Y%m%d}"
    return f"EV-{tag}-{member_id}-{day:%Y%m%d}"


@dataclass
class _Checked:
    facts: EventFacts
    person_id: str
    phone: str
    card: str
    disease_name: str
    payee_bank: PayeeBank | None = None


def _check(member: Member, version: ProductVersion, data: EventInput,
           today: datetime.date) -> _Checked:
    """Each field checked, the first wrong one named (nothing is written before)."""
    if data.kind not in ENGINE:
        raise _bad("kind", "请选择理赔类型")
    kind = data.kind
    if data.event_date is None:
        raise _bad("event_date", "请填写事件日期（确诊、出险或身故日期）")
    if data.event_date > today:
        raise _bad("event_date", f"事件日期 {data.event_date} 晚于今天")
    if kind == ClaimKind.FAMILY and data.relation not in FAMILY_RELATIONS:
        raise _bad("relation", "配偶或子女患病，请选择与会员的关系：配偶或子女")
    subject = _subject(kind, data.relation)
    if not benefits_for(product_rules(version), kind, subject):
        raise _bad("kind", f"{version.name}没有“{ClaimKind(kind).label}”保障，不能按此类型申请")
    disease, disease_name = None, ""
    if kind in DISEASE_KINDS:
        listed = diseases_of(version, kind, subject)
        if not data.disease:
            raise _bad("disease", "请从产品的病种目录中选择所患疾病")
        if data.disease not in listed:
            raise _bad("disease", f"所选疾病不在{version.name}的病种目录内")
        disease, disease_name = data.disease, listed[data.disease]
    grade, outcome = None, None
    if kind == ClaimKind.DISABILITY:
        if data.disability_grade is None or not 1 <= data.disability_grade <= 10:
            raise _bad("disability_grade", "伤残等级应为 1–10 级（以伤残鉴定书为准）")
        grade, outcome = data.disability_grade, "disability"
    if kind == ClaimKind.DEATH:
        outcome = "death"
    person_id = phone = card = ""
    payee_bank: PayeeBank | None = None
    if kind in (ClaimKind.DEATH, ClaimKind.FAMILY):
        if kind == ClaimKind.DEATH and data.relation not in Relation.values:
            raise _bad("relation", "请选择受益人与会员的关系")
        if not data.person_name.strip():
            raise _bad("person_name", "请填写" + ("受益人" if kind == ClaimKind.DEATH
                                                else "患病家属") + "姓名")
        try:
            person_id = check_resident_id(data.person_id_number).number
        except IdentifierError as exc:
            raise _bad("person_id_number", f"身份证号：{exc}") from None
        if person_id == member.id_number:
            raise _bad("person_id_number", ("受益人" if kind == ClaimKind.DEATH else "患病家属")
                       + "不能是会员本人")
    if kind == ClaimKind.DEATH:
        try:
            card = check_bank_card(data.payee_card).value
        except IdentifierError as exc:
            raise _bad("payee_card", f"受益人银行卡号：{exc}") from None
        payee_bank = _payee_bank(data)
        try:
            phone = check_phone(data.person_phone)
        except IdentifierError as exc:
            raise _bad("person_phone", f"受益人手机号：{exc}") from None
    need = REQUIRED_DOCUMENT[kind]  # type: ignore[index]
    if not any(k == need for k, _n, _d in data.files):
        raise _bad("files", f"请上传{DocumentKind(need).label}")
    claim_type, flags = ENGINE[kind]  # type: ignore[index]
    facts = EventFacts(kind, claim_type, subject, data.event_date,
                       data.event_date if kind in DISEASE_KINDS else None, disease, outcome,
                       grade, bool(data.during_stay), tuple(flags))
    return _Checked(facts, person_id, phone, card, disease_name, payee_bank)


@atomic_events()
def claim_file_event(*, member: Member, data: EventInput, actor: Actor = None,
                     source: str = ClaimSource.MEMBER,
                     as_of: datetime.date | None = None) -> Claim:
    """File an event claim (see the module text); assess and screen it at once. Bad input is
    a :class:`DomainError` naming the field; it changes nothing."""
    if source not in ClaimSource.values or source == ClaimSource.AUTO:
        raise DomainError(f"未知的理赔来源：{source}")
    today = as_of or clock.today()
    enrollment = (enrollment_for(member.pk, data.product_code, data.event_date)
                  if data.event_date else None)
    if enrollment is None:
        raise _bad("product", "该会员未参加所选产品，不能申请理赔")
    version = enrollment.product_version
    checked = _check(member, version, data, today)
    ev = checked.facts
    key = _key(data.kind, member.pk, ev.event_date, checked.person_id)
    Member.objects.select_for_update(no_key=True).filter(pk=member.pk).first()
    existing = Claim.objects.filter(setl_id=key, product_code=data.product_code).first()
    if existing is not None:
        raise already_claimed(existing)
    payee = ((data.person_name.strip(), checked.phone, checked.card)
             if data.kind == ClaimKind.DEATH else None)
    plan_ev = EventPlan(ev, what_of(data.kind, data.relation), payee)
    setl = setl_of_event(setl_id=key, member_id=member.pk,
                         insutype=INSUTYPE_OF.get(member.insurance_type, ""), ev=ev,
                         filed=timezone.now())
    usage_rows = lock_members([member.pk], [(member.pk, data.product_code,
                                             enrollment.period_id)])
    try:
        with transaction.atomic():
            made = file_many([(setl, cover_of(enrollment))], member_ids=[member.pk],
                             usage_rows=usage_rows, covers=enrollments_of([member.pk]),
                             versions={}, source=source, actor=actor,
                             as_of=today, counts=defaultdict(int), now=timezone.now(),
                             events={key: plan_ev})
    except IntegrityError:  # claim_once: filed meanwhile
        raise already_claimed(Claim.objects.get(setl_id=key,
                                                product_code=data.product_code)) from None
    claim = Claim.objects.select_related("assessment", "member").get(pk=made[0])
    ClaimEvent.objects.create(
        claim=claim, claim_type=ev.claim_type, subject=ev.subject, event_date=ev.event_date,
        disease=ev.disease or None,
        disease_name=checked.disease_name or None, accident_outcome=ev.accident_outcome or "",
        disability_grade=ev.disability_grade, during_stay=ev.during_stay,
        flags=list(ev.flags), relation=data.relation if data.relation in Relation.values else "",
        person_name=data.person_name.strip()[:60], person_id_number=checked.person_id or None,
        person_phone=checked.phone or None, payee_card=checked.card or None,
        payee_bank=checked.payee_bank.name if checked.payee_bank is not None else "",
        payee_bank_cnaps=checked.payee_bank.cnaps if checked.payee_bank is not None else "")
    documents_add(claim=claim, files=data.files, actor=actor)
    return claim
