"""Settlement records in: the one road for a push of one record, a file of three and a
delivery of 100,000 (docs/adr/0004, 0008). Storing and matching only: deciding is the claims
app's, which calls this and then decides (:mod:`huzhu.claims.ingest`).

:func:`settlements_receive` checks who delivers for which fund region, validates each record,
stores it (new ``setl_id``: set-wise by COPY, in parts run by the task workers; a ``setl_id``
stored before or repeated in the delivery: one by one, in record order, under that
``setl_id``'s row lock, as a new version or nothing when unchanged), matches it to a member of
that fund region only, and writes one ``settlement.received`` event per stored row. Each
matched row is stored with its owed decision row (:class:`SettlementDecision`) in the same
transaction, so a crash between storing and deciding leaves work the worker finds.
:func:`settlements_match` matches unmatched ones again (a member registered since).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from huzhu import clock
from huzhu.accounts.roles import Perm
from huzhu.actors import Actor
from huzhu.audit.services import event_record, events_record_many
from huzhu.bulk import among, fewer_collections, insert_rows, reserve_ids
from huzhu.errors import DomainError, NotAllowed
from huzhu.members.models import Member
from huzhu.organisations.models import Organisation
from huzhu.pii.crypto import blind_index, blind_indexes, cipher, index_aliases, index_keyring

from .format import SettlementError, content_hash, parse_record, raw_text, unwrap
from .models import AMOUNT_FIELDS, Settlement, SettlementDecision

PART = settings.BULK_PART  # records a part (HUZHU_BULK_PART)
CREATED, VERSION, UNCHANGED = "created", "version", "unchanged"
OUTCOME_ZH = {CREATED: "新增", VERSION: "更正（新版本）", UNCHANGED: "重复（未改变）"}


def receiving_region(actor: Actor, fund_region: Organisation | None = None) -> Organisation:
    """The fund region a delivery is received for, checked against who delivers it.

    A user delivers only with the permission to receive settlements (the bureau interface's
    machine account of a fund region) and only for their own fund region; without a user (a
    command run by the operator), the region given, or the only fund region there is."""
    if actor is not None and getattr(actor, "pk", None) is not None:
        if not actor.can(Perm.RECEIVE_SETTLEMENTS):
            raise NotAllowed("无权报送医保结算数据（须使用本统筹区的医保数据接口账号）")
        org = getattr(actor, "organisation", None)
        own = org.fund_region if org is not None and org.fund_region_id else None
        if own is None:
            raise NotAllowed("该账号未归属统筹区，不能报送医保结算数据")
        if fund_region is not None and fund_region.pk != own.pk:
            raise NotAllowed(f"无权为{fund_region.name}报送医保结算数据")
        return own
    if fund_region is not None:
        return fund_region
    regions = list(Organisation.objects.filter(is_fund_region=True)[:2])
    if len(regions) == 1:
        return regions[0]
    raise DomainError("无法确定结算数据所属的统筹区：请指定统筹区", code="no_region")


@dataclass
class Receipt:
    """What a delivery did: per record (in order) its outcome and stored settlement id, or
    its refusal; and the counts."""

    created: int = 0
    versions: int = 0
    unchanged: int = 0
    matched: int = 0
    errors: list[SettlementError] = field(default_factory=list)
    outcomes: dict[int, tuple[int, str]] = field(default_factory=dict)  # index → (id, outcome)

    @property
    def ids(self) -> list[int]:
        """The stored settlement of each good record, in record order."""
        return [pk for _i, (pk, _o) in sorted(self.outcomes.items())]

    def count(self, outcome: str, matched: bool) -> None:
        if outcome == CREATED:
            self.created += 1
        elif outcome == VERSION:
            self.versions += 1
        else:
            self.unchanged += 1
        self.matched += outcome != UNCHANGED and matched


SETTLEMENT_COLS = (
    "id", "setl_id", "version", "is_current", "content_hash", "raw", "mdtrt_id", "psn_no",
    "psn_name", "certno", "certno_bidx", "gend", "brdy", "insutype", "med_type", "begndate",
    "enddate", "setl_time", "fixmedins_code", "fixmedins_name", "hosp_lv", "diag_code",
    "diag_name", *(f"{n}_fen" for n in AMOUNT_FIELDS), "member_id", "matched_at", "org_path",
    "fund_region_id", "source", "batch_id", "created_by_id", "created_at")
_MEMBER, _PATH = SETTLEMENT_COLS.index("member_id"), SETTLEMENT_COLS.index("org_path")
_OTHER_REGION = ("setl_id", "该结算ID已由其他统筹区报送，不能在本统筹区报送或更正")


def _setl_key(raw: Any) -> str:
    """The ``setl_id`` a record will have once parsed (``parse_record`` strips it)."""
    value = raw.get("setl_id") if isinstance(raw, dict) else None
    return "" if value is None else str(value).strip()


def settlements_receive(records: list[Any], *, actor: Actor, fund_region: Organisation | None = None,
                        source: str = "api", batch: Any = None,
                        numbers: list[int] | None = None) -> Receipt:
    """Receive ``records`` (parsed JSON objects, or :class:`SettlementError` for one that
    could not be read) for the caller's fund region; see the module text. ``numbers``: each
    record's number in its file (default 1, 2, …), used in the refusals. Stores and matches
    only: each matched row is owed its decision (the claims app's to make)."""
    region = receiving_region(actor, fund_region)
    numbers = numbers or list(range(1, len(records) + 1))
    records = [unwrap(raw) for raw in records]  # the platform's envelopes, 4101 lists
    receipt = Receipt()
    first: list[int] = []
    later: list[int] = []
    keys: set[str] = set()
    for i, raw in enumerate(records):
        if isinstance(raw, SettlementError):
            raw.record = numbers[i]
            receipt.errors.append(raw)
            continue
        key = _setl_key(raw)
        if key and key in keys:
            later.append(i)
            continue
        keys.add(key)
        first.append(i)
    parts = [first[i:i + PART] for i in range(0, len(first), PART)]
    from huzhu.work.parts import run_parts

    from .tasks import store_part

    common: dict[str, Any] = {"actor_id": getattr(actor, "pk", None), "region_id": region.pk,
                              "source": source, "batch_id": getattr(batch, "pk", None)}
    if len(parts) <= 1 or connection.in_atomic_block:
        results = [_ingest_part(part, records=records, numbers=numbers, **common)
                   for part in parts]
    else:  # parts for the task workers: the records travel encrypted (personal data)
        from huzhu.work.parts import payloads_drop

        blobs = [part_blob([(i, numbers[i], records[i]) for i in part]) for part in parts]
        try:
            results = run_parts(store_part, [{"blob_id": b, **common} for b in blobs])
        finally:
            payloads_drop(blobs)
    for stored, unchanged, known, refused in results:
        for i, pk, matched in stored:
            receipt.outcomes[i] = (pk, CREATED)
            receipt.count(CREATED, matched)
        for i, pk in unchanged:
            receipt.outcomes[i] = (pk, UNCHANGED)
            receipt.count(UNCHANGED, False)
        later.extend(known)
        receipt.errors.extend(SettlementError(*e) for e in refused)
    for i in sorted(later):
        try:
            clean = refund_filled(parse_record(records[i]), region.pk)
            s, outcome = _store_one(clean, records[i], actor=actor, source=source,
                                    region=region, batch=batch)
        except SettlementError as exc:
            exc.record, exc.setl_id = numbers[i], _setl_key(records[i])
            receipt.errors.append(exc)
            continue
        receipt.outcomes[i] = (s.pk, outcome)
        receipt.count(outcome, s.member_id is not None)
    receipt.errors.sort(key=lambda e: e.record)
    return receipt


BLOB_FIELD = "work.settlement_part.z"  # JSON, zlib-compressed, then sealed


def part_blob(items: list[tuple[int, int, Any]]) -> int:
    """A part's records, ``(index, record number, record)``, stored encrypted for the task
    that stores them (:func:`huzhu.work.parts.payload_put`); its id. Compressed before it is
    sealed (sealed bytes do not compress): a fifth of the bytes to write, log and read."""
    import json
    import zlib

    from huzhu.work.parts import payload_put

    data = zlib.compress(json.dumps(items, ensure_ascii=False).encode(), 1)
    return payload_put(cipher().encrypt_bytes(data, field=BLOB_FIELD))


def ingest_blob(blob_id: int, **common: Any) -> tuple[list, list, list, list]:
    """:func:`_ingest_part` of a part stored as :func:`part_blob` (the task's body). Nothing
    when its caller has removed it already (it gave up waiting; a re-run repairs)."""
    import json
    import zlib

    from huzhu.work.parts import payload_get

    token = payload_get(blob_id)
    if token is None:
        return [], [], [], []
    with fewer_collections():
        items = json.loads(zlib.decompress(cipher().decrypt_bytes(token, field=BLOB_FIELD)))
        records = {i: raw for i, _n, raw in items}
        numbers = {i: n for i, n, _raw in items}
        return _ingest_part([i for i, _n, _raw in items], records=records, numbers=numbers,
                            **common)


def _received(s: dict[str, Any], region_path: str) -> dict[str, Any]:
    """The ``settlement.received`` event of one stored row."""
    return {"action": "settlement.received", "object_type": "claims.settlement",
            "object_id": str(s["id"]), "org_path": s["org_path"] or region_path,
            "after": {"setl_id": s["setl_id"], "version": s["version"],
                      "matched": s["member_id"] is not None, "source": s["source"]}}


# What a refund without person fields (a 2208/2305 result) takes from the settlement it reverses.
_PERSON = ("certno", "gend", "brdy", "insutype", "begndate", "enddate", "psn_no", "psn_name",
           "med_type", "fixmedins_code", "fixmedins_name", "hosp_lv", "diag_code", "diag_name")


def refund_filled(clean: dict[str, Any], region_id: int) -> dict[str, Any]:
    """A refund without person fields (``certno`` ""), given those of the settlement it
    reverses: the latest of the same ``mdtrt_id`` in this fund region (only: another region's
    stay is not found). Refused when there is none yet. Any other record as it is."""
    if clean["certno"]:
        return clean
    original = (Settlement.objects.filter(fund_region_id=region_id, mdtrt_id=clean["mdtrt_id"],
                                          is_current=True, medfee_sumamt_fen__gte=0)
                .order_by("-setl_time", "-id").first())
    if original is None:
        raise SettlementError("mdtrt_id", (
            f"退费结算未带人员信息，本统筹区也没有就诊ID {clean['mdtrt_id']} 的原结算记录："
            f"请先报送原结算，或报送带人员信息的退费记录（5203 结算信息查询）"))
    out = dict(clean)
    for name in _PERSON:
        if not out.get(name):
            out[name] = getattr(original, name) or out.get(name)
    out["diag_code"], out["diag_name"] = out["diag_code"] or "", out["diag_name"] or ""
    return out


def _ingest_part(part: list[int], *, records: Any, numbers: Any,
                 actor_id: int | None, region_id: int, source: str, batch_id: int | None
                 ) -> tuple[list[tuple[int, int, bool]], list[tuple[int, int]], list[int],
                            list[tuple]]:
    """Parse, encrypt, match and COPY the records at ``part`` (indexes into ``records``, each
    the first of its ``setl_id`` in the delivery). Returns ``(index, new id, matched)`` of
    each stored, ``(index, id)`` of each received before unchanged, the indexes that are new
    versions of a stored ``setl_id`` (for :func:`_store_one`), and
    the refusals as ``(field, message, record number, setl_id)`` (plain tuples cross a
    process boundary). A concurrent delivery storing one of the same new ``setl_id`` first
    makes the part read again which are stored (at most three tries)."""
    from huzhu.accounts.models import User

    refused: list[tuple] = []
    clean: list[tuple[dict, Any, int]] = []
    for i in part:
        raw = records[i]
        try:
            clean.append((refund_filled(parse_record(raw), region_id), raw, i))
        except SettlementError as exc:
            refused.append((exc.field, exc.message, numbers[i], _setl_key(raw)))
    region = Organisation.objects.get(pk=region_id)
    actor = User.objects.filter(pk=actor_id).first() if actor_id else None
    c = cipher()
    aad = {f: f"claims.settlement.{f}" for f in ("raw", "certno", "diag_code", "diag_name")}
    for attempt in range(3):
        known: dict[str, tuple[int, dict[str, int]]] = {}  # setl_id → region, {hash: id}
        for setl_id, digest, pk, rid in Settlement.objects.filter(among(
                Settlement, "setl_id", {v["setl_id"] for v, _, _ in clean}, "text")
                ).values_list("setl_id", "content_hash", "id", "fund_region_id"):
            known.setdefault(setl_id, (rid, {}))[1][digest] = pk
        again: list[int] = []
        unchanged: list[tuple[int, int]] = []
        elsewhere: list[tuple] = []
        for v, _raw, i in clean:
            if v["setl_id"] not in known:
                continue
            rid, hashes = known[v["setl_id"]]
            before = hashes.get(content_hash(v))
            if rid != region_id:
                elsewhere.append((_OTHER_REGION[0], _OTHER_REGION[1], numbers[i], v["setl_id"]))
            elif before is not None:
                unchanged.append((i, before))  # received before: nothing to store
            else:
                again.append(i)  # a new version: one by one, under the row lock
        fresh = [(v, raw, i, blind_index(v["certno"], field="id_number"))
                 for v, raw, i in clean if v["setl_id"] not in known]
        alias = index_aliases({v["certno"] for v, *_ in fresh}, field="id_number")
        members = {alias[b]: pk for b, pk in Member.objects.filter(
            among(Member, "id_number_bidx", alias, "text"),
            fund_region_id=region_id).values_list("id_number_bidx", "id")}
        paths = dict(Member.objects.filter(among(Member, "id", members.values()))
                     .values_list("id", "org_path"))
        now = timezone.now()
        rows, events = [], []
        for v, raw, _i, bidx in fresh:
            mid = members.get(bidx)
            rows.append([
                None, v["setl_id"], 1, True, content_hash(v),
                c.encrypt(raw_text(raw), field=aad["raw"]), v["mdtrt_id"], v["psn_no"],
                v["psn_name"], c.encrypt(v["certno"], field=aad["certno"]), bidx, v["gend"],
                v["brdy"], v["insutype"], v["med_type"], v["begndate"], v["enddate"],
                v["setl_time"].replace(tzinfo=clock.BEIJING), v["fixmedins_code"], v["fixmedins_name"],
                v["hosp_lv"],
                c.encrypt(v["diag_code"], field=aad["diag_code"]) if v["diag_code"] else None,
                c.encrypt(v["diag_name"], field=aad["diag_name"]) if v["diag_name"] else None,
                *(v[f"{n}_fen"] for n in AMOUNT_FIELDS), mid, now if mid else None,
                paths.get(mid, "") if mid else "", region_id, source, batch_id, actor_id, now])
        try:
            with transaction.atomic():
                ids = reserve_ids(Settlement, len(rows))
                for pk, row in zip(ids, rows, strict=True):
                    row[0] = pk
                    events.append(_received({"id": pk, "setl_id": row[1], "version": 1,
                                             "member_id": row[_MEMBER], "org_path": row[_PATH],
                                             "source": source}, region.path))
                insert_rows(Settlement, SETTLEMENT_COLS, [tuple(row) for row in rows])
                insert_rows(SettlementDecision, ("settlement_id", "decided_at", "decision"),
                            [(row[0], None, "") for row in rows if row[_MEMBER] is not None])
                events_record_many(events, actor=actor)
        except IntegrityError:
            if attempt == 2:
                raise
            continue
        stored = [(i, pk, row[_MEMBER] is not None)
                  for (_v, _raw, i, _b), pk, row in zip(fresh, ids, rows, strict=True)]
        return stored, unchanged, again, refused + elsewhere
    raise AssertionError("unreachable")


def _store_one(clean: dict[str, Any], raw: Any, *, actor: Actor, source: str,
               region: Organisation, batch: Any) -> tuple[Settlement, str]:
    """Store a record whose ``setl_id`` may be stored already: nothing when its content was
    received before, else the next version. Under the current version's row lock, so
    versions of one ``setl_id`` arriving at once are numbered one after another. A
    ``setl_id`` of another fund region is refused."""
    setl_id = clean["setl_id"]
    digest = content_hash(clean)
    while True:
        try:
            with transaction.atomic():
                current = (Settlement.objects.select_for_update(no_key=True)
                           .filter(setl_id=setl_id, is_current=True).first())
                if current is None and Settlement.objects.filter(setl_id=setl_id).exists():
                    continue  # a version committed meanwhile: read the new current one
                if current is not None and current.fund_region_id != region.pk:
                    raise SettlementError(*_OTHER_REGION)
                same = Settlement.objects.filter(setl_id=setl_id, content_hash=digest).first()
                if same is not None:
                    return same, UNCHANGED
                last = current.version if current is not None else 0
                if current is not None:
                    Settlement.objects.filter(pk=current.pk).update(is_current=False)
                    # the new version is owed the decision the old one may still be owed
                    SettlementDecision.objects.filter(settlement_id=current.pk,
                                                      decided_at__isnull=True).delete()
                member = Member.objects.filter(
                    id_number_bidx__in=blind_indexes(clean["certno"], field="id_number"),
                    fund_region_id=region.pk).first()
                values = dict(clean)
                values["setl_time"] = values["setl_time"].replace(tzinfo=clock.BEIJING)
                values["diag_code"] = values["diag_code"] or None
                values["diag_name"] = values["diag_name"] or None
                s = Settlement(
                    **values, version=last + 1, is_current=True, content_hash=digest,
                    raw=raw_text(raw), certno_bidx=blind_index(clean["certno"], field="id_number"),
                    member=member, matched_at=timezone.now() if member else None,
                    org_path=member.org_path if member else "", fund_region=region,
                    source=source, batch=batch,
                    created_by=actor if getattr(actor, "pk", None) else None)
                s.save(force_insert=True)
                if member is not None:
                    SettlementDecision.objects.create(settlement=s)
                row = {"id": s.pk, "setl_id": setl_id, "version": s.version,
                       "member_id": s.member_id, "org_path": s.org_path, "source": source}
                events_record_many([{**_received(row, region.path), "actor": actor}])
                return s, VERSION if last else CREATED
        except IntegrityError:  # the same setl_id's first version committed meanwhile
            continue


def settlements_match(settlements: Any, *, actor: Actor = None) -> list[int]:
    """Match the unmatched current settlements among ``settlements`` (a queryset) again (a
    member may have registered since): each one matched gets its owed decision row in the same
    transaction. Returns the ids of those that found their member."""
    pending = list(settlements.filter(member__isnull=True, is_current=True))
    if not pending:
        return []
    # A rotation of the index key (huzhu keys rotate --index) moves a person's rows in every
    # table together, but a settlement received meanwhile is indexed under the new key while
    # its member may not be yet: with more than one key configured, match by every key.
    if len(index_keyring()) > 1:
        alias = index_aliases({s.certno for s in pending}, field="id_number")
        for s in pending:
            s.certno_bidx = alias.get(s.certno_bidx, s.certno_bidx)
    else:
        alias = {s.certno_bidx: s.certno_bidx for s in pending}
    members = {(alias[m.id_number_bidx], m.fund_region_id): m for m in Member.objects.filter(
        id_number_bidx__in=list(alias))}
    matched = []
    now = timezone.now()
    with transaction.atomic():
        for s in pending:
            member = members.get((s.certno_bidx, s.fund_region_id))
            if member is None:
                continue
            if not Settlement.objects.filter(pk=s.pk, member__isnull=True).update(
                    member=member, matched_at=now, org_path=member.org_path):
                continue  # matched meanwhile
            SettlementDecision.objects.get_or_create(settlement_id=s.pk)
            s.member, s.matched_at, s.org_path = member, now, member.org_path
            matched.append(s.pk)
            event_record(action="settlement.matched", actor=actor, obj=s,
                         object_type="claims.settlement",
                         after={"setl_id": s.setl_id, "version": s.version, "member": member.pk})
    return matched
