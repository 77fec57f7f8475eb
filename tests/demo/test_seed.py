"""``huzhu demo seed``: a deterministic, valid, plausibly proportioned demo province."""

from __future__ import annotations

import hashlib
import io
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from stdnum import luhn

from huzhu.demo import generator
from huzhu.demo.generator import REFERENCE_DATE
from huzhu.demo.geography import guangxi
from huzhu.members.models import Member
from huzhu.organisations.models import Agent, Organisation, Unit
from huzhu.pii.crypto import blind_index
from huzhu.pii.identifiers import check_phone, check_resident_id, check_uscc

pytestmark = pytest.mark.django_db


def seed(members: int = 300, seed: int = 2026, **kw: Any) -> str:
    out = io.StringIO()
    call_command("demo_seed", members=members, seed=seed, stdout=out, **kw)
    return out.getvalue()


def data_hash() -> str:
    """A digest of every seeded row, personal data decrypted (ciphertexts use random nonces)."""
    h = hashlib.sha256()
    for model in (Organisation, Unit, Agent, Member):
        fields = [f.attname for f in model._meta.concrete_fields]
        for obj in model.objects.order_by("pk"):
            h.update(repr([getattr(obj, f) for f in fields]).encode())
    return h.hexdigest()


def wipe() -> None:
    with connection.cursor() as cursor:
        for model in (Member, Agent, Unit, Organisation):
            cursor.execute(f"DELETE FROM {connection.ops.quote_name(model._meta.db_table)}")


def test_same_seed_gives_the_same_rows_and_another_seed_does_not(monkeypatch: Any) -> None:
    seed(300, 7)
    first = data_hash()
    wipe()
    monkeypatch.setattr(generator, "CHUNK", 37)  # chunk boundaries do not change the data
    seed(300, 7)
    assert data_hash() == first
    wipe()
    seed(300, 8)
    assert data_hash() != first


def test_every_id_number_is_valid_in_its_county_with_an_age_of_18_to_60() -> None:
    seed(300, 3)
    counties = {c.code for city in guangxi() for c in city.counties}
    members = list(Member.objects.select_related("unit"))
    assert len(members) == 300
    assert len({m.id_number for m in members}) == 300
    for m in members:
        rid = check_resident_id(m.id_number)
        assert rid.birth_date == m.birth_date and rid.gender == m.gender
        assert m.id_number[:6] in counties
        assert m.id_number[:6] == m.unit.uscc[2:8]  # the unit's home county
        age = REFERENCE_DATE.year - m.birth_date.year - (
            (REFERENCE_DATE.month, REFERENCE_DATE.day) < (m.birth_date.month, m.birth_date.day)
        )
        assert 18 <= age <= 60
        assert m.id_number_bidx == blind_index(m.id_number, field="id_number")
        if m.phone:
            assert check_phone(m.phone) == m.phone
            assert m.phone_bidx == blind_index(m.phone, field="phone")
        else:
            assert m.phone_bidx == ""
        if m.bank_card:
            assert luhn.is_valid(m.bank_card) and len(m.bank_card) == 19
            assert m.bank_name
        assert m.org_path == m.unit.org_path


def test_tree_units_and_agents_are_consistent() -> None:
    out = seed(600, 11)
    assert "已载入演示省份" in out and "不写审计日志" in out
    orgs = {o.pk: o for o in Organisation.objects.all()}
    province = Organisation.objects.get(kind="province")
    assert province.name == "广西壮族自治区总工会" and province.is_fund_region
    assert province.code == "450000"
    assert Organisation.objects.filter(kind="city").count() == 14
    assert Organisation.objects.filter(kind="county").count() == 111
    assert Organisation.objects.filter(kind="industry").exists()
    assert Organisation.objects.filter(kind="organ_committee").exists()
    assert Organisation.objects.get(code="450100").name == "南宁市总工会"
    assert Organisation.objects.get(code="450103").name == "青秀区总工会"
    for org in orgs.values():
        parent = orgs.get(org.parent_id)
        assert org.path == f"{parent.path if parent else '/'}{org.pk}/"
        assert org.depth == (parent.depth + 1 if parent else 0)
        assert org.fund_region_id == province.pk
    for unit in Unit.objects.all():
        assert check_uscc(unit.uscc).warnings == []
        assert unit.org_path == orgs[unit.organisation_id].path
        assert orgs[unit.organisation_id].kind == "grassroots"
    assert Unit.objects.values("name").distinct().count() == Unit.objects.count()
    assert Agent.objects.count() == Unit.objects.count()
    for agent in Agent.objects.all():
        assert agent.phone_bidx == blind_index(check_phone(agent.phone), field="phone")
    for m in Member.objects.all():
        assert m.org_path == orgs[m.organisation_id].path
        assert m.fund_region_id == province.pk
    assert not Unit.objects.filter(members__isnull=True).exists()


def test_proportions_are_roughly_as_intended() -> None:
    n = 4000
    seed(n, 5)
    qs = Member.objects

    def share(**kw: Any) -> float:
        return qs.filter(**kw).count() / n

    assert 0.86 <= share(insurance_type="employee") <= 0.96
    assert 0.03 <= share(insurance_type="resident") <= 0.10
    assert 0.003 <= share(insurance_type="none") <= 0.03
    assert 0.88 <= share(is_union_member=True) <= 0.97
    assert 0.007 <= share(is_hardship=True) <= 0.025
    assert 0.001 <= share(is_model_worker=True) <= 0.01
    assert 0.04 <= share(is_new_form_worker=True) <= 0.08
    assert 0.50 <= share(gender="M") <= 0.60
    assert 0.94 <= 1 - share(phone__isnull=True) <= 0.99
    assert 0.02 <= share(bank_card__isnull=True) <= 0.06
    # New-form workers are mostly on resident insurance and flexibly employed.
    new_form = qs.filter(is_new_form_worker=True)
    assert new_form.filter(insurance_type="resident").count() > new_form.count() / 2
    assert not new_form.exclude(employment_status="flexible").exists()
    # Units are in proportion to members (about 25 each), heavy-tailed.
    units = Unit.objects.count()
    assert n / 40 <= units <= n / 15
    sizes = sorted((u.members.count() for u in Unit.objects.all()), reverse=True)
    assert sizes[0] > 5 * (n / units)
    # Ages spread over the range.
    years = {m.birth_date.year for m in qs.only("birth_date")}
    assert min(years) <= 1970 and max(years) >= 2003


def test_if_empty_does_nothing_when_members_exist() -> None:
    seed(300, 1, if_empty=True)
    before = data_hash()
    out = seed(300, 1, if_empty=True)
    assert "跳过" in out
    assert Member.objects.count() == 300
    assert data_hash() == before
    with pytest.raises(CommandError, match="已有"):
        seed(300, 1)


def test_sequences_continue_after_the_seeded_ids() -> None:
    """Ids are assigned explicitly; new rows made the normal way get fresh ones."""
    from huzhu.organisations.models import OrgKind
    from huzhu.organisations.services import org_create

    seed(300, 2)
    top = Organisation.objects.order_by("-pk").first()
    province = Organisation.objects.get(kind="province")
    org = org_create(actor=None, name="新建基层工会", kind=OrgKind.GRASSROOTS, parent=province)
    assert org.pk > top.pk


def test_zero_members_gives_just_the_tree() -> None:
    seed(0, 1)
    assert Member.objects.count() == 0 and Unit.objects.count() == 0
    assert Organisation.objects.filter(kind="county").count() == 111


def test_ciphertexts_are_not_plaintext() -> None:
    seed(300, 4)
    member = Member.objects.first()
    with connection.cursor() as cursor:
        cursor.execute("SELECT id_number, phone, bank_card FROM members_member WHERE id = %s",
                       [member.pk])
        raw = cursor.fetchone()
    for value, plain in zip(raw, (member.id_number, member.phone, member.bank_card),
                            strict=True):
        if plain:
            assert plain.encode() not in bytes(value)


def test_bulk_path_rebuilds_the_same_indexes(monkeypatch: Any) -> None:
    """Large loads drop the member table's plain indexes (and foreign keys on PostgreSQL) and
    put them back: same data, same indexes and constraints as the row-by-row path."""

    def indexes() -> dict[str, Any]:
        with connection.cursor() as cursor:
            found = connection.introspection.get_constraints(cursor, Member._meta.db_table)
        return {name: (c["columns"], c["unique"], c["index"], c["foreign_key"])
                for name, c in found.items()}

    before = indexes()
    seed(300, 9)
    small = data_hash()
    wipe()
    monkeypatch.setattr(generator, "BULK_INDEX_THRESHOLD", 1)
    monkeypatch.setattr(generator, "CHUNK", 100)
    seed(300, 9)
    assert data_hash() == small
    assert indexes() == before
