"""One stay, several settlements: which of them counts (docs/adr/0015).

The bureau settles a stay again under a new ``setl_id`` (a refund, then the settlement
again; or a settlement that supersedes the first), and reverses one with a refund (2208 /
2305: ``refd_setl_flag`` 1, its amounts negative). The settlements of one stay are the
current ones of one fund region with the same ``mdtrt_id``, or of the same person
(``certno``), hospital and dates. Of them exactly one counts, or none:

- in order of settlement time, each refund cancels the latest settlement before it with the
  same total (else the latest one before it);
- the latest settlement left counts (:func:`effective`); none when all were refunded.

A stay keyed from papers (经办录入, ``source`` agent: docs/adr/0023) is one of the stay's
settlements too (same person and dates, one-day or not, and the same hospital when the papers
gave its code) but counts only until the bureau's own record of the stay arrives.

Only that one may carry the stay's claims: the others are decided without claims, and claims
made on one that no longer counts move to the one that does, or are withdrawn
(:mod:`huzhu.claims.resettle`). Pure reading: no writes.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, replace
from typing import Any

from django.db import connection
from django.db.models import BooleanField, Q
from django.db.models.expressions import RawSQL

from huzhu.bulk import among, pg_array
from huzhu.pii.crypto import index_aliases, index_keyring

from .models import Settlement, SettlementSource


@dataclass(frozen=True)
class StayRow:
    pk: int
    fund_region_id: int
    mdtrt_id: str
    certno_bidx: str
    fixmedins_code: str
    begndate: datetime.date
    enddate: datetime.date
    setl_time: datetime.datetime
    medfee_fen: int
    member_id: int | None
    keyed: bool = False  # keyed from papers (经办录入), not the bureau's own record

    @property
    def refund(self) -> bool:
        return self.medfee_fen < 0


_COLS = ("pk", "fund_region_id", "mdtrt_id", "certno_bidx", "fixmedins_code", "begndate",
         "enddate", "setl_time", "medfee_sumamt_fen", "member_id", "source")


def _row(values: tuple) -> StayRow:
    (pk, region, mdtrt, bidx, code, begin, end, setl_time, medfee, member, source) = values
    return StayRow(pk, region, mdtrt, bidx, code, begin, end, setl_time, medfee, member,
                   keyed=source == SettlementSource.AGENT)


def effective(rows: list[StayRow]) -> int | None:
    """The settlement of a stay that counts (see the module text), or None. A stay keyed
    from papers (经办录入) counts only until the bureau's own record of it arrives."""
    if any(not r.keyed for r in rows):
        rows = [r for r in rows if not r.keyed]
    live: list[StayRow] = []
    for r in sorted(rows, key=lambda r: (r.setl_time, r.pk)):
        if not r.refund:
            live.append(r)
            continue
        match = next((x for x in reversed(live) if x.medfee_fen == -r.medfee_fen),
                     live[-1] if live else None)
        if match is not None:
            live.remove(match)
    return live[-1].pk if live else None


def _person_match(person: set[tuple[str, datetime.date, datetime.date]]) -> Any:
    """A filter of the current settlements with one of ``person``'s (index, admission,
    discharge): on PostgreSQL the index lookup by ``certno_bidx`` and the exact three, else
    by ``certno_bidx`` only (the caller drops the others)."""
    keys = sorted(person)
    by_index = among(Settlement, "certno_bidx", {k[0] for k in keys}, "text")
    if connection.vendor != "postgresql" or not keys:
        return by_index
    table = connection.ops.quote_name(Settlement._meta.db_table)
    cols = ", ".join(f"{table}.{connection.ops.quote_name(c)}"
                     for c in ("certno_bidx", "begndate", "enddate"))
    exact = RawSQL(f"({cols}) IN (SELECT * FROM unnest(%s::text[], %s::date[], %s::date[]))",
                   [pg_array(k[i] for k in keys) for i in range(3)],
                   output_field=BooleanField())
    return Q(by_index) & Q(exact)


def stays_of(ids: list[int]) -> dict[int, list[StayRow]]:
    """For each of settlements ``ids`` that is a refund or shares its stay with another current
    settlement of its fund region: the stay's current settlements (itself included). Three
    queries, whatever the number of ids (the 100,000-record delivery pays them once a part)."""
    mine = [_row(r) for r in Settlement.objects.filter(among(Settlement, "id", ids))
            .values_list(*_COLS)]
    if not mine:
        return {}
    found: dict[int, StayRow] = {}
    mdtrts = {r.mdtrt_id for r in mine if r.mdtrt_id}
    alias = {r.certno_bidx: r.certno_bidx for r in mine}
    if len(index_keyring()) > 1:
        # An index key rotation is under way (huzhu keys rotate --index): a person's older
        # settlements may still be indexed under the old key, newer ones under the new. Look
        # up by every key, and group by the index under the current one.
        alias = index_aliases(set(Settlement.objects.filter(among(Settlement, "id", ids))
                                  .values_list("certno", flat=True)), field="id_number")
        mine = [replace(r, certno_bidx=alias.get(r.certno_bidx, r.certno_bidx)) for r in mine]
    # By person only the rows of the same dates as one of ``mine`` can join its group (the
    # hospital and the length of the stay are checked below), under any key of the person's
    # index: only those are read, not every settlement the person ever had (by stay, every
    # row of its mdtrt_id).
    keys_of: dict[str, list[str]] = defaultdict(list)
    for key, current in alias.items():
        keys_of[current].append(key)
    person = {(key, r.begndate, r.enddate) for r in mine for key in keys_of[r.certno_bidx]}
    for by_person_q, q in ((True, _person_match(person)),
                           (False, among(Settlement, "mdtrt_id", mdtrts, "text"))):
        for r in Settlement.objects.filter(q, is_current=True).values_list(*_COLS):
            if by_person_q and (r[3], r[5], r[6]) not in person:
                continue  # another stay of the person (read on SQLite only): no group
            row = _row(r)
            bidx = alias.get(row.certno_bidx, row.certno_bidx)
            # Indexed under the current key (every row but during a rotation): as read.
            found[row.pk] = row if bidx == row.certno_bidx else replace(row, certno_bidx=bidx)
    by_mdtrt: dict[tuple, list[StayRow]] = defaultdict(list)
    by_person: dict[tuple, list[StayRow]] = defaultdict(list)
    for r in found.values():
        if r.mdtrt_id:
            by_mdtrt[(r.fund_region_id, r.mdtrt_id)].append(r)
        by_person[(r.fund_region_id, r.certno_bidx, r.begndate, r.enddate)].append(r)
    out = {}
    for r in mine:
        group = {x.pk: x for x in by_mdtrt.get((r.fund_region_id, r.mdtrt_id), [])
                 if r.mdtrt_id}
        group.update({x.pk: x for x in by_person.get((r.fund_region_id, r.certno_bidx,
                                                      r.begndate, r.enddate), [])
                      if _same_stay(r, x)})
        group.setdefault(r.pk, r)
        if len(group) > 1 or r.refund:
            out[r.pk] = sorted(group.values(), key=lambda x: (x.setl_time, x.pk))
    return out


def _same_stay(a: StayRow, b: StayRow) -> bool:
    """Two settlements of one person with the same dates: the same stay when at the same
    hospital and not a one-day visit (two visits of one day are two stays). A stay keyed from
    papers (经办录入) is the bureau's stay of the same person and dates, one day or not, and at
    the same hospital when the papers gave its code."""
    if a.keyed or b.keyed:
        return not a.fixmedins_code or not b.fixmedins_code or a.fixmedins_code == b.fixmedins_code
    return a.fixmedins_code == b.fixmedins_code and a.enddate > a.begndate
