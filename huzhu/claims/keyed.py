"""Claims from papers (经办录入, docs/adr/0023): a stay the bureau's interface has not sent
(a stay outside the region, 异地就医; papers a family sends the agency point) keyed from the
settlement slip, checked by a second person, then a settlement like the bureau's and a claim
on the one road.

1. :func:`keyed_file`: an agent (单位经办人) or a county agency point (县级工会经办) keys the
   slip for a member in their scope — hospital, dates, 异地就医 and its place, diagnosis, the
   slip's amounts (yuan as typed, kept as fen) — with a photo of the slip. Every field is
   checked as the bureau's records are (the slip's sums, the bureau's own parser) and each
   refusal names its field in Chinese; nothing is written then.
2. :func:`keyed_check`: a reviewer whose scope holds the member, never the person who keyed
   it, keys the amounts again from the photos without seeing the first entry. Equal: the stay
   becomes a settlement (``source`` 经办录入, ``setl_id`` ``JBLR…``) and the claim is filed on
   it by :func:`huzhu.claims.services.claim_file` — assessed, screened, reserved and paid as
   any. Different: the stay is held (never assessed), and a reviewer sees both entries and
   keys it once more; it is accepted when an entry agrees with another person's.
3. The bureau's record of the same stay, arriving later, takes the claim over
   (:mod:`huzhu.claims.resettle`, :mod:`huzhu.claims.keyed_match`): equal amounts confirm it,
   different ones go the correction road with the bureau's figures.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from huzhu import clock
from huzhu.accounts.roles import Perm, Role
from huzhu.actors import Actor
from huzhu.audit.services import atomic_events, event_record
from huzhu.errors import Conflict, DomainError, NotAllowed
from huzhu.members.access import members_visible_to
from huzhu.members.models import Member
from huzhu.organisations.access import staff_path
from huzhu.pii.crypto import blind_index
from huzhu.rules.money import MoneyError, parse_yuan
from huzhu.settlements.format import SettlementError, content_hash, parse_record, raw_text
from huzhu.settlements.models import (
    DecisionKind,
    Settlement,
    SettlementDecision,
    SettlementSource,
)

from .assess import INSUTYPE_OF
from .documents import documents_add
from .keyed_match import AMOUNT_LABELS, KEYED_AMOUNTS
from .models import Claim, ClaimDocument, ClaimSource, DocumentKind, KeyedStatus, KeyedStay
from .services import claim_file, enrollment_for

SETL_PREFIX = "JBLR"  # the setl_id of a keyed stay's settlement: JBLR + its number
FIELD_LABELS = {
    **AMOUNT_LABELS, "hospital_name": "医疗机构名称", "hospital_code": "定点医疗机构编码",
    "mdtrt_id": "就诊ID", "hosp_lv": "医院等级", "begndate": "入院日期", "enddate": "出院日期",
    "place": "就医地", "diag_name": "诊断", "diag_code": "诊断编码", "product": "申请的保障项目",
    "files": "结算单照片", "setl_time": "结算日期", "member": "会员",
}


@dataclass
class KeyedInput:
    """What the filing form gives (strings as typed; checked by :func:`keyed_file`)."""

    product_code: str
    hospital_name: str
    begndate: datetime.date | None
    enddate: datetime.date | None
    amounts: dict[str, str]
    hospital_code: str = ""
    mdtrt_id: str = ""
    hosp_lv: int | None = None
    out_of_region: bool = False
    place: str = ""
    diag_name: str = ""
    diag_code: str = ""
    files: list[tuple[str, str, bytes]] = field(default_factory=list)


def _bad(name: str, message: str) -> DomainError:
    text = message if message.startswith(FIELD_LABELS.get(name, "\0")) else (
        f"{FIELD_LABELS.get(name, name)}：{message}")
    return DomainError(text, code="invalid", field_errors={name: [text]})


def _y(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100:,}.{abs(fen) % 100:02d}"


def amounts_parse(raw: dict[str, str]) -> dict[str, int]:
    """The slip's amounts as typed (yuan) → fen, each field checked: a required one given, a
    number with at most two decimals, not negative; 统筹基金支付 and 基金支付总额 within the
    total. The first wrong field is named."""
    out: dict[str, int] = {}
    for name, label, required in KEYED_AMOUNTS:
        text = str(raw.get(name) or "").strip()
        if not text:
            if required:
                raise _bad(name, f"{label}必填（结算单上为 0 的填 0）")
            out[name] = 0
            continue
        try:
            fen = parse_yuan(text)
        except MoneyError:
            raise _bad(name, f"{label}应为金额（元，最多两位小数），实际为“{text[:20]}”") from None
        if fen < 0:
            raise _bad(name, f"{label}不能为负数（{text[:20]} 元）")
        out[name] = fen
    total = out["medfee_sumamt"]
    for name in ("hifp_pay", "fund_pay_sumamt", "psn_part_amt", "inscp_scp_amt"):
        if out[name] > total:
            raise _bad(name, f"{AMOUNT_LABELS[name]} {_y(out[name])} 元大于医疗费总额 "
                             f"{_y(total)} 元")
    return out


def _record(member: Member, k: Any, amounts: dict[str, int], setl_id: str) -> dict[str, Any]:
    """The stay as a record in the bureau's own field names (what :func:`parse_record`
    checks and the settlement keeps as its raw record)."""
    rec: dict[str, Any] = {
        "setl_id": setl_id, "mdtrt_id": k.mdtrt_id, "psn_name": member.name,
        "certno": member.id_number, "gend": {"M": "1", "F": "2"}.get(member.gender, ""),
        "brdy": member.birth_date.isoformat() if member.birth_date else "",
        "insutype": INSUTYPE_OF.get(member.insurance_type, ""), "med_type": "21",
        "begndate": k.begndate.isoformat(), "enddate": k.enddate.isoformat(),
        "setl_time": f"{k.enddate.isoformat()} 00:00:00",
        "fixmedins_code": k.hospital_code, "fixmedins_name": k.hospital_name,
        "hosp_lv": str(k.hosp_lv) if k.hosp_lv else "",
        "diag_code": k.diag_code or "", "diag_name": k.diag_name or "",
        "note": (f"经办录入；异地就医：{k.place}" if k.out_of_region else "经办录入"),
    }
    for name, _label, _req in KEYED_AMOUNTS:
        fen = amounts.get(name, 0)
        rec[name] = f"{fen // 100}.{fen % 100:02d}"
    return rec


def _parsed(member: Member, k: Any, amounts: dict[str, int], setl_id: str
            ) -> tuple[dict[str, Any], dict[str, Any]]:
    """The record and its clean values, checked by the bureau's parser (the slip's sums)."""
    rec = _record(member, k, amounts, setl_id)
    try:
        return rec, parse_record(rec)
    except SettlementError as exc:
        name = exc.field if exc.field in FIELD_LABELS else "medfee_sumamt"
        raise _bad(name, exc.message) from None


# --------------------------------------------------------------------------- scope


def keyed_visible_to(user: Any) -> QuerySet[KeyedStay]:
    """Keyed stays in the user's scope: an agent their unit's members', staff their
    subtree's; nobody else any."""
    if not user.is_authenticated or not user.can(Perm.VIEW_MEMBERS):
        return KeyedStay.objects.none()
    if user.role == Role.AGENT:
        return KeyedStay.objects.filter(member__unit_id=user.unit_id)
    prefix = staff_path(user)
    if prefix is None:
        return KeyedStay.objects.none()
    return KeyedStay.objects.filter(org_path__startswith=prefix)


def may_key(user: Any) -> bool:
    """Agents and county agency points key papers (not members: they file on the bureau's
    records, or send the papers to their agent)."""
    return bool(user.is_authenticated and user.can(Perm.FILE_CLAIMS)
                and user.role in (Role.AGENT, Role.COUNTY_STAFF))


def may_check(user: Any, k: KeyedStay) -> bool:
    """A reviewer whose scope holds the member, other than the person who keyed the stay."""
    prefix = staff_path(user)
    return bool(user.is_authenticated and user.can(Perm.REVIEW_CLAIMS) and prefix is not None
                and k.org_path.startswith(prefix) and user.pk != k.keyed_by_id)


# --------------------------------------------------------------------------- filing


def _bureau_stay(member: Member, begndate: datetime.date, enddate: datetime.date,
                 code: str, mdtrt_id: str) -> Settlement | None:
    """The bureau's current record of this stay, if it has arrived (as the stays match:
    :mod:`huzhu.settlements.stays`)."""
    same = Q(certno_bidx=member.id_number_bidx, begndate=begndate, enddate=enddate)
    if code:
        same &= Q(fixmedins_code=code) | Q(fixmedins_code="")
    if mdtrt_id:
        same |= Q(mdtrt_id=mdtrt_id)
    return (Settlement.objects.filter(same, fund_region_id=member.fund_region_id, is_current=True,
                                      medfee_sumamt_fen__gte=0)
            .exclude(source=SettlementSource.AGENT).order_by("-setl_time").first())


@atomic_events()
def keyed_file(*, member: Member, data: KeyedInput, actor: Actor,
               as_of: datetime.date | None = None) -> KeyedStay:
    """Key a stay from papers (see the module text). Bad input is a :class:`DomainError`
    naming the field; it changes nothing."""
    if actor is None or not may_key(actor):
        raise NotAllowed("只有单位经办人或县级代办点可以录入结算单")
    if not members_visible_to(actor).filter(pk=member.pk).exists():
        raise NotAllowed("这位会员不在您的管理范围内")
    today = as_of or clock.today()
    if not (data.hospital_name or "").strip():
        raise _bad("hospital_name", "请填写结算单上的医疗机构名称")
    if data.begndate is None:
        raise _bad("begndate", "请填写入院日期")
    if data.enddate is None:
        raise _bad("enddate", "请填写出院日期")
    if data.enddate < data.begndate:
        raise _bad("enddate", f"出院日期 {data.enddate} 早于入院日期 {data.begndate}")
    if data.enddate > today:
        raise _bad("enddate", f"出院日期 {data.enddate} 晚于今天")
    if data.hosp_lv is not None and data.hosp_lv not in (1, 2, 3):
        raise _bad("hosp_lv", "医院等级应为一级、二级或三级")
    if data.out_of_region and not data.place.strip():
        raise _bad("place", "异地就医请填写就医地（省、市）")
    if not data.diag_name.strip():
        raise _bad("diag_name", "请填写结算单或出院小结上的诊断")
    if not INSUTYPE_OF.get(member.insurance_type):
        raise _bad("member", "这位会员未参加基本医保，没有医保结算单可录入")
    amounts = amounts_parse(data.amounts)
    if enrollment_for(member.pk, data.product_code, data.begndate) is None:
        raise _bad("product", "该会员未参加所选保障项目，不能申请理赔")
    if not any(kind == DocumentKind.SETTLEMENT for kind, _n, _d in data.files):
        raise _bad("files", "请上传医保结算单的照片（复核人对照照片录入）")
    stay = KeyedStay(
        member=member, product_code=data.product_code,
        hospital_name=data.hospital_name.strip()[:200],
        hospital_code=data.hospital_code.strip()[:30], mdtrt_id=data.mdtrt_id.strip()[:60],
        hosp_lv=data.hosp_lv, begndate=data.begndate, enddate=data.enddate,
        out_of_region=data.out_of_region,
        place=data.place.strip()[:100] if data.out_of_region else "",
        diag_name=data.diag_name.strip()[:200], diag_code=data.diag_code.strip()[:40] or None)
    _parsed(member, stay, amounts, f"{SETL_PREFIX}0")  # the slip's sums, before anything is kept
    Member.objects.select_for_update(no_key=True).filter(pk=member.pk).first()
    bureau = _bureau_stay(member, data.begndate, data.enddate, stay.hospital_code,
                          stay.mdtrt_id)
    if bureau is not None:
        raise Conflict(f"医保局的结算记录已经到达（结算ID {bureau.setl_id}），请在“申请理赔”中按"
                       "该结算记录申请，不必录入结算单", code="settlement_arrived",
                       field_errors={"begndate": ["医保结算记录已到达"]})
    twin = (KeyedStay.objects.filter(member=member, begndate=data.begndate,
                                     enddate=data.enddate).order_by("pk").first())
    if twin is not None:
        raise Conflict(f"这次住院已经录入过（录入编号 {twin.pk}，{twin.get_status_display()}），"
                       "不能重复录入", code="already_keyed",
                       field_errors={"begndate": ["这次住院已经录入过"]})
    stay.entries = [{"by": actor.pk, "step": "first", "amounts": amounts,
                     "at": timezone.now().isoformat()}]
    stay.keyed_by = actor
    stay.org_path = member.org_path
    stay.fund_region_id = member.fund_region_id  # type: ignore[assignment]  # a member has one
    stay.save()
    documents_add(keyed=stay, files=data.files, actor=actor)
    event_record(action="claim.keyed", actor=actor, obj=stay,
                 after={"member": member.pk, "product": data.product_code,
                        "begndate": data.begndate.isoformat(), "enddate": data.enddate.isoformat(),
                        "out_of_region": data.out_of_region, "place": stay.place,
                        "medfee_sumamt_fen": amounts["medfee_sumamt"]})
    return stay


# --------------------------------------------------------------------------- checking


def different_fields(a: dict[str, int], b: dict[str, int]) -> list[str]:
    return [name for name, _l, _r in KEYED_AMOUNTS if a.get(name, 0) != b.get(name, 0)]


@atomic_events()
def keyed_check(*, keyed: KeyedStay, amounts: dict[str, str], actor: Actor,
                as_of: datetime.date | None = None) -> KeyedStay:
    """A second person keys the amounts again (see the module text): the stay is accepted
    and its claim filed when this entry equals another person's, else held."""
    # The member's lock first, then the keyed stay's: the order the bureau's record takes
    # them in when it reaches the stay (resettle → keyed_reconcile), so the two never deadlock.
    Member.objects.select_for_update(no_key=True).filter(pk=keyed.member_id).first()
    k = KeyedStay.objects.select_for_update(of=("self",)).select_related(
        "member", "keyed_by").get(pk=keyed.pk)
    if actor is None or not getattr(actor, "is_authenticated", False):
        raise NotAllowed("无权复核录入")
    if actor.pk == k.keyed_by_id:
        raise NotAllowed("录入结算单的人不能复核自己的录入（须由县级另一人对照照片复核）",
                         code="same_person")
    if not may_check(actor, k):
        raise NotAllowed("无权复核这笔录入（须由会员所在县级工会的审核人员复核）")
    if k.status not in (KeyedStatus.AWAITING, KeyedStatus.HELD):
        raise Conflict(f"这笔录入已经是“{k.get_status_display()}”，不能再复核")
    fen = amounts_parse(amounts)
    _parsed(k.member, k, fen, f"{SETL_PREFIX}{k.pk}")
    step = "check" if k.status == KeyedStatus.AWAITING else "resolve"
    entry = {"by": actor.pk, "step": step, "amounts": fen, "at": timezone.now().isoformat()}
    agrees = next((e for e in k.entries if e["amounts"] == fen and e["by"] != actor.pk), None)
    entries = [*k.entries, entry]
    if agrees is None:
        differ = sorted({f for e in k.entries if e["by"] != actor.pk
                         for f in different_fields(e["amounts"], fen)},
                        key=list(AMOUNT_LABELS).index)
        was = k.status
        KeyedStay.objects.filter(pk=k.pk).update(entries=entries, status=KeyedStatus.HELD)
        event_record(action="claim.keyed_mismatch", actor=actor, obj=k,
                     before={"status": was}, after={
                         "status": KeyedStatus.HELD, "step": step, "fields": differ,
                         "fields_zh": [AMOUNT_LABELS[f] for f in differ]})
        k.refresh_from_db()
        return k
    return _accept(k, fen, entries, actor=actor, as_of=as_of)


def _accept(k: KeyedStay, amounts: dict[str, int], entries: list[dict[str, Any]], *,
            actor: Any, as_of: datetime.date | None) -> KeyedStay:
    """Two people agree: the stay becomes a settlement (经办录入) and its claim is filed, by
    the person who keyed it, on the one road."""
    member = k.member
    bureau = _bureau_stay(member, k.begndate, k.enddate, k.hospital_code, k.mdtrt_id)
    if bureau is not None:
        raise Conflict(f"医保局的结算记录已经到达（结算ID {bureau.setl_id}），请按该结算记录申请理赔",
                       code="settlement_arrived")
    setl_id = f"{SETL_PREFIX}{k.pk:08d}"
    rec, clean = _parsed(member, k, amounts, setl_id)
    values = dict(clean)
    values["setl_time"] = values["setl_time"].replace(tzinfo=clock.BEIJING)
    values["diag_code"] = values["diag_code"] or None
    values["diag_name"] = values["diag_name"] or None
    now = timezone.now()
    s = Settlement(**values, version=1, is_current=True, content_hash=content_hash(clean),
                   raw=raw_text(rec), certno_bidx=blind_index(clean["certno"], field="id_number"),
                   member=member, matched_at=now, org_path=member.org_path,
                   fund_region=member.fund_region, source=SettlementSource.AGENT,
                   created_by=k.keyed_by)
    s.save(force_insert=True)
    # its claim is the one filed below: nothing is owed to the automatic road
    SettlementDecision.objects.create(settlement=s, decided_at=now, decision=DecisionKind.CLAIMED)
    event_record(action="settlement.received", actor=actor, obj=s,
                 object_type="claims.settlement",
                 after={"setl_id": setl_id, "version": 1, "matched": True,
                        "source": SettlementSource.AGENT, "keyed": k.pk})
    source = ClaimSource.AGENT if k.keyed_by.role == Role.AGENT else ClaimSource.AGENCY
    claim = claim_file(member=member, settlement=s, product_code=k.product_code,
                       actor=k.keyed_by, source=source, as_of=as_of)
    ClaimDocument.objects.filter(keyed=k).update(claim=claim)
    KeyedStay.objects.filter(pk=k.pk).update(
        entries=entries, amounts=amounts, status=KeyedStatus.ACCEPTED, checked_by=actor,
        checked_at=now, settlement=s, claim=claim)
    event_record(action="claim.keyed_checked", actor=actor, obj=k,
                 before={"status": k.status},
                 after={"status": KeyedStatus.ACCEPTED, "claim": claim.pk, "setl_id": setl_id,
                        "keyed_by": k.keyed_by_id, "entries": len(entries)})
    k.refresh_from_db()
    return k


def keyed_claim(k: KeyedStay) -> Claim | None:
    return Claim.objects.filter(pk=k.claim_id).first() if k.claim_id else None
