"""The bulk path gives the same fen, statuses, money and messages as the one-claim services."""

from __future__ import annotations

import datetime
import json
import re
from typing import Any

import pytest
from django.db import connection, connections, transaction  # noqa: F401 - connection: skipif

from huzhu.audit.services import chain_verify
from huzhu.claims.bulk import settlements_decide
from huzhu.claims.ingest import settlement_ingest
from huzhu.claims.models import Claim, ClaimPolicy, MemberPeriodUsage
from huzhu.claims.services import claim_file, claims_create_auto
from huzhu.ledger.models import Leg, Transaction
from huzhu.notices.models import OutboxMessage
from huzhu.notices.services import notices_enqueue_many
from huzhu.notices.templates import TemplateError
from huzhu.payouts.models import Payout
from huzhu.settlements.intake import settlements_receive
from huzhu.settlements.models import Settlement, SettlementDecision

from .conftest import MEDICAL, ledger_clean, record

AS_OF = datetime.date(2026, 6, 1)


def test_bulk_matches_the_services(claims_world):
    w = claims_world
    ClaimPolicy.objects.create(product_code=MEDICAL, auto_claim=True)
    recs = [record("B1", w.zhangsan.id_number, begin="2026-02-01", end="2026-02-03"),
            record("B2", w.zhangsan.id_number, begin="2026-03-01", end="2026-03-03"),
            record("B3", w.zhangsan.id_number, begin="2026-04-01", end="2026-04-03"),
            record("B4", w.chenba.id_number, begin="2026-04-02", end="2026-04-06"),
            record("B5", w.chenba.id_number, begin="2026-04-04", end="2026-04-08"),
            record("B6", w.chenba.id_number, insutype="999"),
            record("B7", w.sunqi.id_number)]
    report = settlements_receive(recs, actor=w.bureau, fund_region=w.province)
    assert report.created == 6 and [(e.record, e.field) for e in report.errors] == [(6, "insutype")]
    assert Settlement.objects.get(setl_id="B1").certno == w.zhangsan.id_number
    counts = settlements_decide(report.ids, actor=w.wangwu, as_of=AS_OF)
    got = {c.setl_id: (c.status, c.payable_fen, [r["code"] for r in c.risk])
           for c in Claim.objects.all()}
    assert got == {
        "B1": ("approved", 140_000, []), "B2": ("approved", 140_000, []),
        "B3": ("rejected", 0, []),  # the third claim of the year
        "B4": ("approved", 140_000, []), "B5": ("in_review", 140_000, ["OVERLAPPING_STAY"]),
    }
    assert counts == {"approved": 3, "rejected": 1, "in_review": 1}
    assert Claim.objects.get(setl_id="B3").assessment.usage["benefits"]["medical"]["claims"] == 2
    assert list(chain_verify()) == []
    assert ledger_clean() == []
    assert settlements_decide(report.ids, actor=w.wangwu, as_of=AS_OF) == {}
    assert Payout.objects.count() == 3 and Transaction.objects.filter(
        source_type="claims.claim").count() == 3


# --------------------------------------------------------------------------- same as one by one


def _ids() -> dict[int, str]:
    return dict(Claim.objects.values_list("pk", "setl_id"))


def _named(text: str, ids: dict[int, str]) -> str:
    """Claim ids differ between two runs; name each claim by its settlement instead."""
    return re.sub(r"\d+", lambda m: ids.get(int(m.group()), m.group()), text)


def _dims(account: Any) -> tuple:
    return (account.org_id, account.kind, account.payer_kind, account.product_code,
            account.period_code)


def snapshot() -> dict[str, Any]:
    """Everything approving and refusing claims touches, with claim ids named by setl_id."""
    ids = _ids()
    balances: dict[tuple, int] = {}
    for leg in Leg.objects.select_related("account"):
        balances[_dims(leg.account)] = balances.get(_dims(leg.account), 0) + leg.amount_fen
    payables = {}
    for t in Transaction.objects.filter(source_type="claims.claim").prefetch_related(
            "legs__account"):
        payables[_named(t.key, ids)] = (
            _named(t.memo, ids), t.business_date, ids[int(t.source_id)], t.fund_region_id,
            sorted((_dims(x.account), x.amount_fen) for x in t.legs.all()))
    return {
        "claims": {c.setl_id: (c.status, c.payable_fen, c.product_code, c.period_id,
                               c.enrollment_id, [r["code"] for r in c.risk], c.review_level,
                               c.due_on, c.decided_at is not None, c.source,
                               c.assessment.payable_fen, c.assessment.usage,
                               c.assessment.reasons, c.assessment.trace)
                   for c in Claim.objects.select_related("assessment")},
        "balances": balances,
        "payables": payables,
        "payouts": {ids[p.claim_id]: (p.kind, p.member_id, p.amount_fen, p.status, p.org_path,
                                      p.fund_region_id, p.paid_at)
                    for p in Payout.objects.all()},
        "usage": {(u.member_id, u.product_code, u.period_id): (u.granted_fen, u.claims)
                  for u in MemberPeriodUsage.objects.all()},
        "outbox": {_named(m.key, ids): (m.template, {k: _named(v, ids) if k == "claim" else v
                                                     for k, v in m.params.items()},
                                        m.phone, m.member_id, m.org_path, m.status)
                   for m in OutboxMessage.objects.filter(key__startswith="claim-")},
        "transitions": sorted(
            (ids[int(e.object_id)], (e.before or {}).get("status", "submitted"),
             e.after["status"], e.after["reason"])
            for e in _events("claim.transition") | _events("claim.filed")),
    }


def _events(action: str) -> Any:
    from huzhu.audit.models import Event

    return Event.objects.filter(action=action, object_type="claims.claim")


class Rollback(Exception):
    pass


def test_bulk_and_one_by_one_give_the_same_claims_money_and_messages(money_world):
    w = money_world
    # Before either run: 张三 already has one approved claim this year (usage row, payable).
    first = settlement_ingest(record=record("P1", w.zhangsan.id_number, begin="2026-01-10",
                                            end="2026-01-12"), actor=w.bureau).settlement
    claim_file(member=w.zhangsan, settlement=first, product_code=MEDICAL, actor=w.lisi,
               source="agent", as_of=AS_OF)
    ClaimPolicy.objects.create(product_code=MEDICAL, auto_claim=True,
                               review_threshold_fen=150_000)
    recs = [record("B1", w.zhangsan.id_number, begin="2026-02-01", end="2026-02-03"),
            record("B2", w.zhangsan.id_number, begin="2026-03-01", end="2026-03-03"),
            record("B3", w.chenba.id_number, begin="2026-04-02", end="2026-04-06",
                   inscp=900_000, hifp=500_000),
            record("B4", w.chenba.id_number, begin="2026-04-04", end="2026-04-08"),
            record("B5", w.chenba.id_number, begin="2025-06-01", end="2025-06-03"),  # no cover
            record("B6", w.chenba.id_number, begin="2026-08-01", end="2026-08-20",
                   inscp=9_000_000, hifp=1_000_000),  # over the review threshold
            record("B7", w.sunqi.id_number)]  # not enrolled
    report = settlements_receive(recs, actor=w.bureau, fund_region=w.province)
    assert report.created == 7 and not report.errors
    order = list(Settlement.objects.filter(pk__in=report.ids, member__isnull=False)
                 .select_related("member").order_by("member_id", "enddate", "id"))
    before = snapshot()

    try:
        with transaction.atomic():
            claims_create_auto(settlements=order, actor=w.wangwu, as_of=AS_OF)
            one_by_one = snapshot()
            raise Rollback
    except Rollback:
        pass
    assert snapshot() == before

    counts = settlements_decide(report.ids, actor=w.wangwu, as_of=AS_OF)
    bulk = snapshot()
    for part in bulk:
        assert bulk[part] == one_by_one[part], part
    assert counts == {"approved": 2, "rejected": 1, "in_review": 2}
    # and what the two agree on is right
    claims = bulk["claims"]
    assert {k: v[0] for k, v in claims.items()} == {
        "P1": "approved", "B1": "approved", "B2": "rejected", "B3": "approved",
        "B4": "in_review", "B6": "in_review"}
    assert (claims["B3"][1], claims["B4"][5], claims["B6"][1], claims["B6"][5]) == (
        100_000, ["OVERLAPPING_STAY"], 200_000, ["OVER_THRESHOLD"])
    assert claims["B4"][6] == 1 and claims["B4"][7] is not None  # review level 1, due date
    assert bulk["usage"][(w.zhangsan.pk, MEDICAL, w.period.pk)] == (280_000, 2)
    assert bulk["usage"][(w.chenba.pk, MEDICAL, w.period.pk)] == (claims["B3"][1], 1)
    assert set(bulk["payouts"]) == {"P1", "B1", "B3"}
    assert set(bulk["outbox"]) - set(before["outbox"]) == {
        "claim-approved:B1", "claim-rejected:B2:screen", "claim-approved:B3"}
    assert bulk["outbox"]["claim-approved:B3"][1]["card"] == "（未登记）"
    assert bulk["outbox"]["claim-approved:B1"][1] == {
        "name": "张三", "product": one_by_one["outbox"]["claim-approved:B1"][1]["product"],
        "claim": "B1", "amount": "1,400.00", "card": w.zhangsan.bank_card[-4:]}
    assert "超过本期理赔次数" in bulk["outbox"]["claim-rejected:B2:screen"][1]["reason"]
    assert len(bulk["payables"]) == 3
    assert ledger_clean() == []
    assert list(chain_verify()) == []
    # again: nothing new anywhere
    assert settlements_decide(report.ids, actor=w.wangwu, as_of=AS_OF) == {}
    assert snapshot() == bulk


def test_notices_enqueue_many_has_the_meaning_of_notice_enqueue(claims_world):
    from huzhu.notices.services import notice_enqueue

    w = claims_world
    params = {"name": "张三", "product": "住院", "claim": "1", "amount": "1.00", "card": "1234"}
    notice_enqueue(key="k1", template="CLAIM_APPROVED", phone="13800000001", params=params)
    written = notices_enqueue_many([
        {"key": "k1", "template": "CLAIM_APPROVED", "phone": "13800000009", "params": params},
        {"key": "k2", "template": "CLAIM_APPROVED", "phone": "13800000002", "params": params,
         "member_id": w.zhangsan.pk, "org_path": w.zhangsan.org_path},
        {"key": "k2", "template": "CLAIM_APPROVED", "phone": "13800000003", "params": params},
        {"key": "k3", "template": "CLAIM_APPROVED", "phone": "", "params": params}])
    assert written == 1
    rows = {m.key: m for m in OutboxMessage.objects.filter(key__in=["k1", "k2", "k3"])}
    assert set(rows) == {"k1", "k2"}
    assert rows["k1"].phone == "13800000001" and rows["k2"].phone == "13800000002"
    assert rows["k2"].params == params and rows["k2"].member_id == w.zhangsan.pk
    assert rows["k2"].status == "pending" and rows["k2"].org_path == w.zhangsan.org_path
    with pytest.raises(TemplateError):
        notices_enqueue_many([{"key": "k4", "template": "CLAIM_APPROVED", "phone": "1",
                               "params": params},
                              {"key": "k5", "template": "CLAIM_APPROVED", "phone": "1",
                               "params": {"name": "x"}}])
    with pytest.raises(TemplateError):
        notices_enqueue_many([{"key": "k6", "template": "NOPE", "phone": "1", "params": {}}])
    assert not OutboxMessage.objects.filter(key__in=["k4", "k5", "k6"]).exists()


@pytest.mark.skipif("connection.vendor != 'postgresql'",
                    reason="SQLite serialises every writer; the race needs PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_bulk_and_a_single_approval_racing_keep_the_claim_count(claims_world):
    import threading


    w = claims_world
    ClaimPolicy.objects.create(product_code=MEDICAL, auto_claim=True)
    report = settlements_receive(
        [record("R1", w.zhangsan.id_number, begin="2026-02-01", end="2026-02-03"),
         record("R2", w.zhangsan.id_number, begin="2026-03-01", end="2026-03-03")],
        actor=w.bureau, fund_region=w.province)
    # the third stay, filed by the agent at the same moment as the delivery is processed
    third = settlements_receive(
        [record("R3", w.zhangsan.id_number, begin="2026-04-01", end="2026-04-03")],
        actor=w.bureau, fund_region=w.province).ids[0]
    # The usage row exists already (an earlier claim made it), so nothing but the locks
    # orders the two writers.
    MemberPeriodUsage.objects.create(member=w.zhangsan, product_code=MEDICAL, period=w.period)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def run(fn: Any) -> None:
        try:
            barrier.wait()
            fn()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    def bulk() -> None:
        settlements_decide(report.ids, actor=w.wangwu, as_of=AS_OF)

    def single() -> None:
        claim_file(member=w.zhangsan, settlement=Settlement.objects.get(pk=third),
                   product_code=MEDICAL, actor=w.lisi, source="agent", as_of=AS_OF)

    threads = [threading.Thread(target=run, args=(f,)) for f in (bulk, single)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    statuses = sorted(Claim.objects.values_list("status", flat=True))
    assert statuses == ["approved", "approved", "rejected"]  # two claims a year, however raced
    usage = MemberPeriodUsage.objects.get(member=w.zhangsan, product_code=MEDICAL)
    approved = Claim.objects.filter(status="approved")
    assert (usage.claims, usage.granted_fen) == (2, sum(c.payable_fen for c in approved))
    assert Payout.objects.count() == 2
    assert Transaction.objects.filter(source_type="claims.claim").count() == 2
    assert ledger_clean() == []
    assert list(chain_verify()) == []


@pytest.mark.django_db(transaction=True)
def test_parts_hold_whole_members_and_decide_as_the_serial_loop(claims_world, monkeypatch):
    import huzhu.claims.bulk as bulk
    import huzhu.work.parts as parts

    w = claims_world
    ClaimPolicy.objects.create(product_code=MEDICAL, auto_claim=True)
    recs = [record("B1", w.zhangsan.id_number, begin="2026-02-01", end="2026-02-03"),
            record("B2", w.chenba.id_number, begin="2026-04-02", end="2026-04-06"),
            record("B3", w.zhangsan.id_number, begin="2026-03-01", end="2026-03-03"),
            record("B4", w.zhangsan.id_number, begin="2026-04-01", end="2026-04-03"),
            record("B5", w.chenba.id_number, begin="2026-04-04", end="2026-04-08"),
            record("B6", w.zhangsan.id_number, begin="2026-05-01", end="2026-05-03")]
    ids = settlements_receive(recs, actor=w.bureau, fund_region=w.province).ids
    monkeypatch.setattr(bulk, "CHUNK", 1)  # parts of about 2 settlements, whole members
    seen, real = [], parts.run_parts
    monkeypatch.setattr(parts, "run_parts", lambda task, calls: seen.append(
        sorted(sorted(Settlement.objects.get(pk=pk).setl_id for pk in c["settlement_ids"])
               for c in calls)) or real(task, calls))
    counts = settlements_decide(ids, actor=w.wangwu, as_of=AS_OF)
    assert seen == [[["B1", "B3", "B4", "B6"], ["B2", "B5"]]]  # one member a part, however many
    got = {c.setl_id: (c.status, [r["code"] for r in c.risk]) for c in Claim.objects.all()}
    assert got == {
        "B1": ("approved", []), "B2": ("approved", []), "B3": ("approved", []),
        "B4": ("rejected", []),  # the third claim of the year, in the same chunk
        "B5": ("in_review", ["OVERLAPPING_STAY"]),  # overlaps B2
        "B6": ("rejected", []),  # the fourth
    }
    assert counts == {"approved": 3, "rejected": 2, "in_review": 1}
    usage = MemberPeriodUsage.objects.get(member=w.zhangsan, product_code=MEDICAL)
    assert (usage.granted_fen, usage.claims) == (280_000, 2)
    assert Payout.objects.count() == 3
    assert set(OutboxMessage.objects.filter(key__startswith="claim-").values_list(
        "template", flat=True)) == {"CLAIM_APPROVED", "CLAIM_REJECTED"}
    assert ledger_clean() == []
    assert list(chain_verify()) == []


@pytest.mark.django_db(transaction=True)
def test_intake_parts_keep_each_setl_id_in_one_part_and_repeats_after(claims_world, monkeypatch):
    import huzhu.settlements.intake as intake

    w = claims_world
    monkeypatch.setattr(intake, "PART", 2)
    settlement_ingest(record=record("K1", w.chenba.id_number), actor=w.bureau)  # stored before
    recs = [record("A1", w.zhangsan.id_number),
            record("A2", w.chenba.id_number, begin="2026-04-02", end="2026-04-06"),
            record("A1", w.zhangsan.id_number, inscp=900_000),  # a correction, two parts later
            record("K1", w.chenba.id_number, inscp=800_000),  # a correction of a stored one
            record("A3", w.zhangsan.id_number, insutype="999"),  # refused
            record("A1", w.zhangsan.id_number, inscp=900_000),  # the correction again
            record("A4", w.sunqi.id_number)]
    seen, real = [], intake._ingest_part
    monkeypatch.setattr(intake, "_ingest_part", lambda part, **kw: seen.append(part)
                        or real(part, **kw))
    report = settlements_receive(recs, actor=w.bureau, fund_region=w.province)
    assert seen == [[0, 1], [3, 4], [6]]  # first records of each setl_id, two to a part
    assert (report.created, report.versions, report.unchanged) == (3, 2, 1)
    assert [(e.record, e.field) for e in report.errors] == [(5, "insutype")]
    got = Settlement.objects.order_by("setl_id", "version").values_list(
        "setl_id", "version", "is_current", "inscp_scp_amt_fen")
    assert list(got) == [("A1", 1, False, 1_000_000), ("A1", 2, True, 900_000),
                         ("A2", 1, True, 1_000_000), ("A4", 1, True, 1_000_000),
                         ("K1", 1, False, 1_000_000), ("K1", 2, True, 800_000)]
    assert [o for _i, (_pk, o) in sorted(report.outcomes.items())] == [
        "created", "created", "version", "version", "unchanged", "created"]


@pytest.mark.skipif("connection.vendor != 'postgresql'",
                    reason="parts side by side in two workers need a database server")
@pytest.mark.django_db(transaction=True)
def test_two_workers_deciding_parts_side_by_side_open_a_shared_account_once(claims_world,
                                                                           monkeypatch):
    """The ledger accounts are not open yet and two parts are decided at once, one by the
    caller and one by a worker: both reach the same new payable account. The lock order
    (ADR 0008) lets one wait for the other's commit; lock_timeout turns a hang into a failure."""
    import threading
    import time

    import huzhu.claims.bulk as bulk
    from huzhu.ledger.models import Account
    from huzhu.work.parts import _worker

    w = claims_world
    ClaimPolicy.objects.create(product_code=MEDICAL, auto_claim=True)
    assert not Account.objects.filter(code__startswith="2202").exists()
    recs = [record("D1", w.zhangsan.id_number, begin="2026-02-01", end="2026-02-03"),
            record("D2", w.chenba.id_number, begin="2026-04-02", end="2026-04-06")]
    ids = settlements_receive(recs, actor=w.bureau, fund_region=w.province).ids
    real = bulk._history

    def slow(member_ids):
        time.sleep(1.0)  # both parts read and assess before either writes
        return real(member_ids)

    monkeypatch.setattr(bulk, "_history", slow)
    monkeypatch.setattr(bulk, "CHUNK", 0)  # one member a part
    ran: list[int] = []

    def worker() -> None:
        from django.db import connections

        time.sleep(0.3)  # the parts are queued by then
        try:
            w_ = _worker()
            w_.run()
            ran.append(w_._run_tasks)
        finally:
            connections.close_all()

    db = connection.settings_dict["NAME"]
    with connection.cursor() as cursor:
        cursor.execute(f'ALTER DATABASE "{db}" SET lock_timeout = \'8s\'')
    try:
        t = threading.Thread(target=worker)
        t.start()
        counts = settlements_decide(ids, actor=w.wangwu, as_of=AS_OF)
        t.join(60)
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'ALTER DATABASE "{db}" RESET lock_timeout')
    assert ran == [1]  # the worker decided one part, the caller the other
    assert counts == {"approved": 2}
    assert Transaction.objects.filter(source_type="claims.claim").count() == 2
    assert Account.objects.filter(code__startswith="2202").count() == 1
    assert ledger_clean() == []


# --------------------------------------------------------------------------- one road


def _road_snapshot() -> dict[str, Any]:
    """:func:`snapshot` plus every settlement row and every event, ids and timestamps aside
    (claims named by settlement, settlements by ``setl_id`` and version). What differs by
    design between a file and pushes is left out: the import's own row and event, and each
    settlement's ``source`` and ``batch``."""
    from collections import Counter

    from huzhu.audit.models import Event

    out = snapshot()
    ids = _ids()
    skip = {"id", "batch", "source", "created_at", "matched_at", "created_by"}
    setl_names = {}
    rows = {}
    for s in Settlement.objects.all():
        setl_names[str(s.pk)] = f"{s.setl_id}/v{s.version}"
        rows[setl_names[str(s.pk)]] = {f.name: getattr(s, f.attname)
                                       for f in Settlement._meta.concrete_fields
                                       if f.name not in skip}
        decided = SettlementDecision.objects.filter(settlement=s).first()
        rows[setl_names[str(s.pk)]]["decision"] = decided and (decided.decided_at is not None,
                                                                decided.decision)
    out["settlements"] = rows

    def named(e: Any) -> str:
        if e.object_type == "claims.claim":
            return ids.get(int(e.object_id), e.object_id)
        if e.object_type == "claims.settlement":
            return setl_names.get(e.object_id, e.object_id)
        return e.object_type

    def plain(doc: Any) -> Any:
        if not isinstance(doc, dict):
            return doc
        return json.dumps({k: v for k, v in doc.items() if k != "source"}, sort_keys=True,
                          ensure_ascii=False)

    out["events"] = Counter(
        (e.action, named(e), plain(e.before), plain(e.after), e.actor_id, e.org_path)
        for e in Event.objects.exclude(action="settlement.imported")
        .exclude(object_type__in=["accounts.apitoken"]))
    return out


def _delivery(w: Any, n: int) -> list[dict[str, Any]]:
    """``n`` records in the order their stays end (as the bureau sends them): stays of 张三 and
    陈八 (enrolled), 孙七 (not), someone unknown, and a repeat. (A correction inside one
    delivery is stored before the first version is decided, so a file decides it once where
    pushes decide and then re-assess: not the same rows by design.)"""
    people = [w.zhangsan.id_number, w.chenba.id_number, w.sunqi.id_number, "110101199003078515"]
    recs = []
    for i in range(n):
        begin = datetime.date(2026, 1, 1) + datetime.timedelta(days=i * 330 // n)
        recs.append(record(f"R{i:05d}", people[i % 4], begin=begin.isoformat(),
                           end=(begin + datetime.timedelta(days=2)).isoformat(),
                           inscp=200_000 + (i * 7919) % 900_000, hifp=100_000,
                           # each at its own hospital: two stays of one person on the same
                           # dates at one hospital would be one stay settled again (ADR 0015)
                           fixmedins_code=f"H45{i:010d}"))
    recs.append(dict(recs[5]))  # the same record again
    return recs


ROAD_RECORDS = 2000


def test_a_file_and_single_pushes_write_the_same_rows_and_events(money_world):
    """The same 2,000 records imported as one file and pushed one at a time: the same rows in
    every table the road writes, events included."""
    from huzhu.claims.ingest import settlement_import_file

    from .conftest import jsonl

    w = money_world
    ClaimPolicy.objects.create(product_code=MEDICAL, auto_claim=True)
    recs = _delivery(w, ROAD_RECORDS)
    before = _road_snapshot()
    try:
        with transaction.atomic():
            report = settlement_import_file(path_or_bytes=jsonl(*recs), file_name="d.jsonl",
                                            actor=w.bureau, as_of=AS_OF)
            assert not report.errors and report.unchanged == 1
            as_file = _road_snapshot()
            raise Rollback
    except Rollback:
        pass
    assert _road_snapshot() == before
    for rec in recs:
        settlement_ingest(record=rec, actor=w.bureau, as_of=AS_OF)
    pushed = _road_snapshot()
    for part in pushed:
        assert pushed[part] == as_file[part], part
    assert len(as_file["settlements"]) == ROAD_RECORDS
    assert sum(n for (action, *_rest), n in as_file["events"].items()
               if action == "claim.filed") > ROAD_RECORDS // 3
