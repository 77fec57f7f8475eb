"""The synthetic demo province behind ``huzhu demo seed``.

A regional union (广西壮族自治区总工会, the fund region), its 14 real cities and 111 real
county-level unions with their division codes, three province industry unions and organ work
committees, grassroots unions and units in proportion to the number of members, one agent per
unit, and the members themselves.

Deterministic: the same ``members`` and ``seed`` give the same rows (ids included) on an empty
database. Ages are taken at ``REFERENCE_DATE``, not today. Personal data is encrypted with the
platform's cipher; AES-GCM nonces are random by design (a nonce derived from the seed would be
reused across seeds), so only the ciphertext bytes differ between two runs — every decrypted value
and every blind index is identical.

Fast: rows are built as tuples (encrypting with the platform's cipher, blind indexes with the key
schedule done once) and written in chunks of ``CHUNK`` rows with ``executemany`` on SQLite and
``COPY`` on PostgreSQL, all inside one transaction so an interrupted seed leaves nothing behind.
For large loads the member table's plain indexes (those backing no constraint) and, on
PostgreSQL, its foreign keys are dropped inside that transaction and put back once at the end
(adding a foreign key back checks every loaded row). Primary keys are assigned here and the PostgreSQL
sequences reset afterwards. No audit events are written: seeding is not a user action.
"""

from __future__ import annotations

import bisect
import datetime
import itertools
import random
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connections, models, transaction

from huzhu.pii.crypto import blind_index_function, cipher

from . import names
from .geography import PROVINCE_CODE, City, County, guangxi
from .identities import social_credit_code

REFERENCE_DATE = datetime.date(2026, 1, 1)
REFERENCE_TIME = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
MIN_AGE, MAX_AGE, MODE_AGE = 18, 60, 36
MEMBERS_PER_UNIT = 25  # average; sizes are heavy-tailed
SPECIAL_UNIT_SHARE = 0.05  # units whose union hangs under an industry union or organ committee
JOINT_UNION_SHARE = 0.2  # chance that a run of small units shares one 联合基层工会
CHUNK = 25_000
BULK_INDEX_THRESHOLD = 50_000  # from this many members, rebuild plain indexes after the load

# Shares of the member population (the tests check these within tolerances).
NEW_FORM_SHARE = 0.06
HARDSHIP_SHARE = 0.015
MODEL_WORKER_SHARE = 0.004
PHONE_SHARE = 0.97
CARD_SHARE = 0.96
MALE_SHARE = 0.55

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def id_check_digit(body17: str) -> str:
    """GB 11643 check character of the first 17 digits."""
    total = 0
    for w, ch in zip(_ID_WEIGHTS, body17, strict=True):
        total += w * (ord(ch) - 48)
    return _ID_CHECK[total % 11]


def luhn_digit(body: str) -> str:
    """Luhn check digit to append to ``body``."""
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = ord(ch) - 48
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def _fast_blind_index(field_name: str) -> Callable[[str], str]:
    """``blind_index(value, field=field_name)``, with the HMAC key schedule done once."""
    return blind_index_function(field_name)


# --------------------------------------------------------------------------- plan of the tree


@dataclass
class OrgRow:
    id: int
    name: str
    kind: str
    parent: OrgRow | None
    code: str = ""
    is_fund_region: bool = False
    path: str = ""
    depth: int = 0
    fund_region_id: int | None = None


@dataclass
class UnitRow:
    id: int
    name: str
    uscc: str
    org: OrgRow
    county: County
    address: str
    size: int = 0


@dataclass
class Summary:
    members: int = 0
    seed: int = 0
    orgs: Counter = field(default_factory=Counter)
    units: int = 0
    agents: int = 0
    counts: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    skipped: bool = False
    existing_members: int = 0


def _weighted(rng: random.Random, pairs: Sequence[tuple[Any, int]]) -> Callable[[], Any]:
    values = [p[0] for p in pairs]
    cum = list(itertools.accumulate(p[1] for p in pairs))
    total = cum[-1]
    rand = rng.random

    def pick() -> Any:
        return values[bisect.bisect_right(cum, rand() * total)]

    return pick


class _Plan:
    """The organisations and units of one (members, seed), with ids from the given offsets."""

    def __init__(self, members: int, seed: int, org_start: int, unit_start: int):
        self.rng = random.Random(f"huzhu-demo/{seed}/tree")
        self.orgs: list[OrgRow] = []
        self.units: list[UnitRow] = []
        self._names: set[str] = set()
        self._next_org = org_start
        self._build(members, unit_start)

    def _org(self, name: str, kind: str, parent: OrgRow | None, code: str = "",
             fund_region: bool = False) -> OrgRow:
        self._next_org += 1
        org = OrgRow(self._next_org, name, kind, parent, code, fund_region)
        org.path = f"{parent.path if parent else '/'}{org.id}/"
        org.depth = parent.depth + 1 if parent else 0
        org.fund_region_id = org.id if fund_region else (parent.fund_region_id if parent else None)
        self.orgs.append(org)
        return org

    def _build(self, members: int, unit_start: int) -> None:
        rng = self.rng
        cities: tuple[City, ...] = guangxi()
        province = self._org("广西壮族自治区总工会", "province", None, PROVINCE_CODE, True)
        province_specials = [
            self._org(n, "industry", province) for n in names.PROVINCE_INDUSTRY_UNIONS
        ] + [self._org(names.PROVINCE_ORGAN_COMMITTEE, "organ_committee", province)]
        city_orgs: list[tuple[City, OrgRow, OrgRow, list[tuple[County, OrgRow]]]] = []
        for city in cities:
            city_org = self._org(f"{city.name}总工会", "city", province, city.code)
            organ = self._org(f"{city.name}直属机关工会工作委员会", "organ_committee", city_org)
            counties = [
                (county, self._org(f"{county.name}总工会", "county", city_org, county.code))
                for county in city.counties
            ]
            city_orgs.append((city, city_org, organ, counties))

        # County weights: the capital and the big cities are larger; urban districts more so.
        big = {"450100": 3.0, "450200": 2.2, "450300": 1.8, "450900": 1.4, "450800": 1.3}
        county_slots: list[tuple[City, County, OrgRow, OrgRow]] = []
        weights: list[float] = []
        for city, _city_org, organ, counties in city_orgs:
            for county, county_org in counties:
                county_slots.append((city, county, county_org, organ))
                urban = 2.0 if county.name.endswith("区") else 1.0
                weights.append(big.get(city.code, 1.0) * urban)
        cum = list(itertools.accumulate(weights))

        n_units = max(12, round(members / MEMBERS_PER_UNIT)) if members else 0
        # Each unit: its home county (division code of its USCC and its members' ID numbers)
        # and the union it hangs under (its county's union, or a special one).
        placed: dict[int, list[tuple[County, City, str]]] = {}
        parents: dict[int, OrgRow] = {}
        for _ in range(n_units):
            i = bisect.bisect_right(cum, rng.random() * cum[-1])
            city, county, county_org, organ = county_slots[i]
            r = rng.random()
            if r < SPECIAL_UNIT_SHARE * 0.6:
                parent, style = organ, "organ"
            elif r < SPECIAL_UNIT_SHARE:
                parent = province_specials[rng.randrange(len(province_specials))]
                style = "organ" if parent.kind == "organ_committee" else "public"
            else:
                parent = county_org
                style = "public" if rng.random() < 0.12 else "enterprise"
            parents[parent.id] = parent
            placed.setdefault(parent.id, []).append((county, city, style))

        form = _weighted(rng, names.UNIT_FORMS)
        unit_id = unit_start
        for parent_id in sorted(placed):
            parent = parents[parent_id]
            todo = placed[parent_id]
            k = 0
            while k < len(todo):
                if (parent.kind == "county" and len(todo) - k >= 2
                        and rng.random() < JOINT_UNION_SHARE):
                    take = min(rng.randint(2, 5), len(todo) - k)
                    county = todo[k][0]
                    area = names.JOINT_UNION_AREAS[rng.randrange(len(names.JOINT_UNION_AREAS))]
                    grassroots = self._org(f"{county.name}{area}联合工会委员会", "grassroots",
                                           parent)
                else:
                    take, grassroots = 1, None
                for county, city, style in todo[k:k + take]:
                    unit_id += 1
                    name = self._unit_name(city, county, style, form)
                    org = grassroots or self._org(f"{name}工会委员会", "grassroots", parent)
                    road = names.ROADS[rng.randrange(len(names.ROADS))]
                    address = f"{city.name}{county.name}{road}{rng.randint(1, 399)}号"
                    self.units.append(UnitRow(
                        unit_id, name, social_credit_code(county.code, unit_id), org, county,
                        address,
                    ))
                k += take

        # Heavy-tailed unit sizes summing to ``members``; every unit has at least one member.
        if self.units:
            spare = members - len(self.units)
            w = [rng.lognormvariate(0.0, 1.2) for _ in self.units]
            total = sum(w)
            sizes = [1 + int(spare * x / total) for x in w] if spare > 0 else [0] * len(w)
            left = members - sum(sizes)
            i = 0
            while left > 0:
                sizes[i % len(sizes)] += 1
                left -= 1
                i += 1
            for unit, size in zip(self.units, sizes, strict=True):
                unit.size = size
        # Members are numbered roster by roster (a unit's members together), the units' rosters
        # in random order across the province, as enrollment happens over time.
        self.enrollment = list(self.units)
        rng.shuffle(self.enrollment)

    def _unit_name(self, city: City, county: County, style: str, form: Callable[[], str]) -> str:
        """A unit name not used before in this plan."""
        rng = self.rng
        if style == "organ":
            name = f"{city.name}{names.ORGAN_UNITS[rng.randrange(len(names.ORGAN_UNITS))]}"
        elif style == "public":
            name = f"{county.name}{names.PUBLIC_UNITS[rng.randrange(len(names.PUBLIC_UNITS))]}"
        else:
            name = ""
        for attempt in range(4):
            if name and name not in self._names:
                break
            brand = names.UNIT_BRANDS[rng.randrange(len(names.UNIT_BRANDS))]
            trade = names.UNIT_TRADES[rng.randrange(len(names.UNIT_TRADES))]
            place = city.name[:-1] if attempt < 2 else f"{city.name}{county.name}"
            name = f"{place}{brand}{trade}{form()}"
        base, k = name, 1
        while name in self._names:
            k += 1
            name = f"{base}第{k}分公司"
        self._names.add(name)
        return name


# --------------------------------------------------------------------------- people


class _People:
    """Draws names, phones, birth dates and identifiers from one random stream."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.surname = _weighted(rng, names.SURNAMES)
        lo = REFERENCE_DATE.replace(year=REFERENCE_DATE.year - MAX_AGE - 1).toordinal() + 1
        hi = REFERENCE_DATE.replace(year=REFERENCE_DATE.year - MIN_AGE).toordinal()
        mode = REFERENCE_DATE.replace(year=REFERENCE_DATE.year - MODE_AGE).toordinal()
        self.lo, self.hi, self.mode = lo, hi, mode
        self.dates = [
            datetime.date.fromordinal(o).strftime("%Y%m%d") for o in range(lo, hi + 1)
        ]
        self.used: set[int] = set()

    def name(self, male: bool) -> str:
        rng = self.rng
        pool = names.MALE_GIVEN if male else names.FEMALE_GIVEN
        given = pool[rng.randrange(len(pool))]
        if rng.random() < 0.7:
            given += pool[rng.randrange(len(pool))]
        return self.surname() + given

    def phone(self) -> str:
        rng = self.rng
        prefix = names.MOBILE_PREFIXES[rng.randrange(len(names.MOBILE_PREFIXES))]
        return f"{prefix}{rng.randrange(100_000_000):08d}"

    def id_number(self, region: str, male: bool) -> str:
        """A fresh valid ID number in ``region`` (unique within this run)."""
        rng = self.rng
        lo, span = self.lo, len(self.dates)
        region_key = int(region) * span
        while True:
            day = int(rng.triangular(lo, self.hi + 1, self.mode)) - lo
            if day >= span:
                day = span - 1
            order = rng.randrange(500) * 2 + (1 if male else 0)
            key = (region_key + day) * 1000 + order
            if key not in self.used:
                self.used.add(key)
                break
        body = f"{region}{self.dates[day]}{order:03d}"
        return body + id_check_digit(body)


# --------------------------------------------------------------------------- writing


def _model_columns(model: type[models.Model], given: Sequence[str]) -> tuple[list[str], tuple]:
    """Column names for ``given`` attnames plus constant defaults for any other column."""
    extra_cols: list[str] = []
    extra_vals: list[Any] = []
    by_att = {f.attname: f for f in model._meta.concrete_fields}
    missing = [a for a in given if a not in by_att]
    if missing:
        raise RuntimeError(f"{model.__name__} has no column(s) {missing}")
    cols = [by_att[a].column for a in given]
    for att, f in by_att.items():
        if att in given:
            continue
        if not f.has_default() and not f.null:
            raise RuntimeError(f"demo seed does not know how to fill {model.__name__}.{att}")
        extra_cols.append(f.column)
        extra_vals.append(f.get_default() if f.has_default() else None)
    return cols + extra_cols, tuple(extra_vals)


class _Writer:
    def __init__(self, alias: str):
        self.alias = alias
        self.connection = connections[alias]
        self.vendor = self.connection.vendor
        ops = self.connection.ops
        self.now = ops.adapt_datetimefield_value(REFERENCE_TIME)

    def prepare(self) -> None:
        """Settings for the bulk load, local to this connection or transaction."""
        with self.connection.cursor() as cursor:
            if self.vendor == "sqlite":
                cursor.execute("PRAGMA cache_size=-500000")  # this connection: 500 MB
            elif self.vendor == "postgresql":
                cursor.execute("SET LOCAL synchronous_commit = off")
                cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")

    def drop_plain_indexes(self, model: type[models.Model]) -> list[str]:
        """Drop the table's indexes that back no constraint; return the SQL to recreate them.

        Must run inside the loading transaction (DDL is transactional on both databases), so a
        failed load leaves the schema as it was. Building an index once over the loaded rows
        is several times faster than maintaining it row by row.
        """
        table = model._meta.db_table
        with self.connection.cursor() as cursor:
            if self.vendor == "postgresql":
                cursor.execute(
                    "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x"
                    " JOIN pg_class i ON i.oid = x.indexrelid"
                    " WHERE x.indrelid = %s::regclass"
                    " AND NOT EXISTS (SELECT 1 FROM pg_constraint c"
                    "                 WHERE c.conindid = x.indexrelid)",
                    [self.connection.ops.quote_name(table)],
                )
            elif self.vendor == "sqlite":
                cursor.execute(
                    "SELECT name, sql FROM sqlite_master"
                    " WHERE type = 'index' AND tbl_name = %s AND sql IS NOT NULL",
                    [table],
                )
            else:
                return []
            found = cursor.fetchall()
            for name, _sql in found:
                cursor.execute(f"DROP INDEX {self.connection.ops.quote_name(name)}")
        return [sql for _name, sql in found]

    def drop_foreign_keys(self, model: type[models.Model]) -> list[str]:
        """PostgreSQL: drop the table's foreign keys; return the SQL that adds them back.

        Checking three foreign keys per row costs more than the COPY itself; adding a
        constraint back validates every loaded row in one pass. Pending deferred checks of the
        rows written so far are run first (a table with pending trigger events cannot be
        altered). Inside the loading transaction, like the index rebuild.
        """
        if self.vendor != "postgresql":
            return []
        qn = self.connection.ops.quote_name
        table = qn(model._meta.db_table)
        with self.connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
                " WHERE conrelid = %s::regclass AND contype = 'f' ORDER BY conname",
                [table],
            )
            found = cursor.fetchall()
            for name, _definition in found:
                cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {qn(name)}")
        return [f"ALTER TABLE {table} ADD CONSTRAINT {qn(name)} {definition}"
                for name, definition in found]

    def run(self, statements: Sequence[str]) -> None:
        with self.connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)

    def write(self, model: type[models.Model], attnames: Sequence[str],
              rows: Sequence[tuple[Any, ...]]) -> None:
        """Insert rows (tuples in ``attnames`` order); call inside the loading transaction."""
        cols, extra = _model_columns(model, attnames)
        if extra:
            rows = [r + extra for r in rows]
        qn = self.connection.ops.quote_name
        table = qn(model._meta.db_table)
        col_sql = ", ".join(qn(c) for c in cols)
        with self.connection.cursor() as cursor:
            if self.vendor == "postgresql":
                with cursor.cursor.copy(f"COPY {table} ({col_sql}) FROM STDIN") as copy:
                    write_row = copy.write_row
                    for row in rows:
                        write_row(row)
            else:
                marks = ", ".join(["%s"] * len(cols))
                cursor.executemany(f"INSERT INTO {table} ({col_sql}) VALUES ({marks})", rows)

    def finish(self, seeded: Sequence[type[models.Model]]) -> None:
        from django.core.management.color import no_style

        with self.connection.cursor() as cursor:
            if self.vendor == "postgresql":
                for sql in self.connection.ops.sequence_reset_sql(no_style(), list(seeded)):
                    cursor.execute(sql)
                for model in seeded:
                    cursor.execute(f"ANALYZE {self.connection.ops.quote_name(model._meta.db_table)}")
            elif self.vendor == "sqlite":
                cursor.execute("PRAGMA optimize")


ORG_COLS = ("id", "name", "kind", "parent_id", "path", "depth", "is_fund_region",
            "fund_region_id", "code", "created_at", "updated_at")
UNIT_COLS = ("id", "name", "uscc", "uscc_warning_confirmed", "organisation_id", "org_path",
             "fund_region_id", "address", "created_at", "updated_at")
AGENT_COLS = ("id", "unit_id", "name", "phone", "phone_bidx", "is_active", "created_at",
              "updated_at")
MEMBER_COLS = (
    "id", "name", "id_number", "id_number_bidx", "birth_date", "gender", "phone", "phone_bidx",
    "bank_card", "bank_card_warning_confirmed", "bank_name", "bank_cnaps", "insurance_type",
    "is_union_member", "employment_status", "is_hardship", "is_model_worker",
    "is_new_form_worker", "unit_id", "organisation_id", "org_path", "fund_region_id",
    "created_at", "updated_at",
)


def _shipped_cnaps() -> dict[str, str]:
    """The shipped bank list's 联行号 by bank name: a demo member at a listed bank holds it
    as chosen; one at a bank the list lacks (广西农村信用社 …) keeps the name alone."""
    from huzhu.payouts.banklist import SHIPPED, parse_csv

    return {r["银行名称"]: r["联行号"] for r in parse_csv(SHIPPED.read_bytes())}


def _max_id(model: type[models.Model], alias: str) -> int:
    return model._default_manager.using(alias).aggregate(m=models.Max("pk"))["m"] or 0


def seed(members: int, seed: int, *, using: str = "default",
         progress: Callable[[int, int], None] | None = None) -> Summary:
    """Load the demo province. Refuses if members exist (ids and ID numbers would clash)."""
    from huzhu.members.models import Member
    from huzhu.organisations.models import Agent, Organisation, Unit

    if members < 0:
        raise ValueError("members must be >= 0")
    if Member.objects.using(using).exists():
        raise RuntimeError("数据库中已有会员数据，演示数据只能载入没有会员的数据库")
    started = time.perf_counter()
    summary = Summary(members=members, seed=seed)
    plan = _Plan(members, seed, _max_id(Organisation, using), _max_id(Unit, using))
    writer = _Writer(using)
    # One transaction for the whole load: a failed or interrupted seed leaves nothing behind,
    # and the member table's plain indexes can be dropped and rebuilt inside it.
    with transaction.atomic(using=using):
        writer.prepare()
        _load(plan, writer, summary, seed, progress)
        writer.finish([Organisation, Unit, Agent, Member])
    summary.seconds = time.perf_counter() - started
    return summary


def _load(plan: _Plan, writer: _Writer, summary: Summary, seed: int,
          progress: Callable[[int, int], None] | None) -> None:
    from huzhu.members.models import Member
    from huzhu.organisations.models import Agent, Organisation, Unit

    using = writer.alias
    members = summary.members
    now = writer.now
    enc = cipher().encrypt
    writer.write(Organisation, ORG_COLS, [
        (o.id, o.name, o.kind, o.parent.id if o.parent else None, o.path, o.depth,
         o.is_fund_region, o.fund_region_id, o.code, now, now)
        for o in plan.orgs
    ])
    summary.orgs = Counter(o.kind for o in plan.orgs)
    writer.write(Unit, UNIT_COLS, [
        (u.id, u.name, u.uscc, False, u.org.id, u.org.path, u.org.fund_region_id, u.address,
         now, now)
        for u in plan.units
    ])
    summary.units = len(plan.units)

    people = _People(random.Random(f"huzhu-demo/{seed}/people"))
    phone_bidx = _fast_blind_index("phone")
    id_bidx = _fast_blind_index("id_number")
    agent_start = _max_id(Agent, using)
    agent_rows = []
    for i, unit in enumerate(plan.units, start=1):
        male = people.rng.random() < 0.5
        number = people.phone()
        agent_rows.append((agent_start + i, unit.id, people.name(male),
                           enc(number, field="organisations.agent.phone"), phone_bidx(number),
                           True, now, now))
    writer.write(Agent, AGENT_COLS, agent_rows)
    summary.agents = len(agent_rows)
    del agent_rows

    bulk = members >= BULK_INDEX_THRESHOLD
    restore_fks = writer.drop_foreign_keys(Member) if bulk else []
    rebuild = writer.drop_plain_indexes(Member) if bulk else []
    counts = summary.counts
    done = 0
    chunk: list[tuple] = []
    for row in _member_rows(plan, people, enc, id_bidx, phone_bidx, now, counts):
        chunk.append(row)
        if len(chunk) >= CHUNK:
            writer.write(Member, MEMBER_COLS, chunk)
            done += len(chunk)
            chunk = []
            if progress:
                progress(done, members)
    if chunk:
        writer.write(Member, MEMBER_COLS, chunk)
        done += len(chunk)
        if progress:
            progress(done, members)
    writer.run(restore_fks)  # validates every loaded row's references
    if rebuild and writer.vendor == "postgresql":
        writer.run(["SET CONSTRAINTS ALL IMMEDIATE"])  # no pending trigger events before DDL
    writer.run(rebuild)


def _member_rows(plan: _Plan, people: _People, enc: Callable[..., bytes],
                 id_bidx: Callable[[str], str], phone_bidx: Callable[[str], str], now: Any,
                 counts: Counter) -> Iterable[tuple]:
    rng = people.rng
    rand = rng.random
    bank = _weighted(rng, [((n, p), w) for n, p, w in names.BANKS])
    cnaps_of = _shipped_cnaps()
    name_of, phone_of, id_of = people.name, people.phone, people.id_number
    f_id, f_phone, f_card = "members.member.id_number", "members.member.phone", \
        "members.member.bank_card"
    member_id = 0
    for unit in plan.enrollment:
        region = unit.county.code
        org = unit.org
        org_id, org_path, region_id, unit_id = org.id, org.path, org.fund_region_id, unit.id
        for _ in range(unit.size):
            member_id += 1
            male = rand() < MALE_SHARE
            idn = id_of(region, male)
            birth = f"{idn[6:10]}-{idn[10:12]}-{idn[12:14]}"
            new_form = rand() < NEW_FORM_SHARE
            r = rand()
            if new_form:
                insurance = "resident" if r < 0.65 else ("employee" if r < 0.9 else "none")
                employment = "flexible"
                union = rand() < 0.8
            else:
                insurance = "employee" if r < 0.965 else ("resident" if r < 0.99 else "none")
                r = rand()
                employment = "employed" if r < 0.97 else ("left" if r < 0.99 else "flexible")
                union = rand() < 0.94
            hardship = rand() < HARDSHIP_SHARE
            model_worker = rand() < MODEL_WORKER_SHARE
            if rand() < PHONE_SHARE:
                phone = phone_of()
                phone_ct, phone_ix = enc(phone, field=f_phone), phone_bidx(phone)
            else:
                phone_ct, phone_ix = None, ""
            if rand() < CARD_SHARE:
                bank_name, prefix = bank()
                body = f"{prefix}{rng.randrange(1_000_000_000_000):012d}"
                card_ct = enc(body + luhn_digit(body), field=f_card)
            else:
                bank_name, card_ct = "", None
            counts["male"] += male
            counts[insurance] += 1
            counts["union"] += union
            counts["hardship"] += hardship
            counts["model_worker"] += model_worker
            counts["new_form"] += new_form
            counts["phone"] += phone_ct is not None
            counts["card"] += card_ct is not None
            yield (
                member_id, name_of(male), enc(idn, field=f_id), id_bidx(idn), birth,
                "M" if male else "F", phone_ct, phone_ix, card_ct, False, bank_name,
                cnaps_of.get(bank_name, ""), insurance,
                union, employment, hardship, model_worker, new_form, unit_id, org_id, org_path,
                region_id, now, now,
            )


def summary_lines(s: Summary) -> list[str]:
    """The Chinese summary printed by the command."""
    if s.skipped:
        return [f"数据库中已有 {s.existing_members:,} 名会员，跳过演示数据载入（--if-empty）。"]
    n = s.members or 1
    c = s.counts

    def pct(key: str) -> str:
        return f"{100 * c[key] / n:.1f}%"

    kinds = s.orgs
    return [
        f"已载入演示省份（种子 {s.seed}），用时 {s.seconds:.1f} 秒：",
        f"  工会组织 {sum(kinds.values()):,} 个：自治区总工会 {kinds['province']} 个、"
        f"市总工会 {kinds['city']} 个、县（区）总工会 {kinds['county']} 个、"
        f"产业工会 {kinds['industry']} 个、机关工委 {kinds['organ_committee']} 个、"
        f"基层工会 {kinds['grassroots']:,} 个",
        f"  参保单位 {s.units:,} 家，经办人 {s.agents:,} 名",
        f"  会员 {s.members:,} 名：男性 {pct('male')}；职工医保 {pct('employee')}、"
        f"居民医保 {pct('resident')}、未参保 {pct('none')}；工会会员 {pct('union')}；"
        f"困难职工 {pct('hardship')}；劳模/工匠 {pct('model_worker')}；"
        f"新就业形态 {pct('new_form')}；有手机号 {pct('phone')}；有银行卡 {pct('card')}",
        f"  年龄按 {REFERENCE_DATE:%Y-%m-%d} 计算，在 {MIN_AGE}–{MAX_AGE} 岁之间；"
        "统筹区为自治区总工会。",
        "  批量载入不写审计日志（载入演示数据不是用户操作）。",
    ]

