"""The union tree: materialised paths, moves that carry the subtree, fund regions."""

from __future__ import annotations

import pytest

from huzhu.errors import DomainError
from huzhu.members.access import members_visible_to
from huzhu.members.models import Member
from huzhu.organisations.models import Organisation, OrgKind, Unit
from huzhu.organisations.services import org_create, org_move, org_update


def test_paths_nest(world):
    assert world.province.path == f"/{world.province.pk}/"
    assert world.grassroots_a.path == (
        f"/{world.province.pk}/{world.city_a.pk}/{world.county_a.pk}/{world.grassroots_a.pk}/"
    )
    assert world.grassroots_a.depth == 3
    assert world.zhangsan.fund_region_id == world.province.pk


def test_moving_a_county_moves_its_units_members_and_scope(world):
    org_move(actor=world.sysadmin, org=world.county_a, new_parent=world.city_b)
    county = Organisation.objects.get(pk=world.county_a.pk)
    assert county.parent_id == world.city_b.pk and county.path.startswith(world.city_b.path)
    grassroots = Organisation.objects.get(pk=world.grassroots_a.pk)
    assert grassroots.path == f"{county.path}{grassroots.pk}/" and grassroots.depth == 3
    assert Unit.objects.get(pk=world.unit_a.pk).org_path == grassroots.path
    assert Member.objects.get(pk=world.zhangsan.pk).org_path == grassroots.path
    # 赵六 of 柳州 now sees 张三; the 南宁 staff no longer would.
    assert world.zhangsan in members_visible_to(world.zhaoliu)


def test_a_node_cannot_move_under_itself(world):
    with pytest.raises(DomainError):
        org_move(actor=None, org=world.city_a, new_parent=world.grassroots_a)
    with pytest.raises(DomainError):
        org_move(actor=None, org=world.city_a, new_parent=world.city_a)


def test_flagging_a_city_as_fund_region_reassigns_its_subtree(world):
    org_update(actor=None, org=world.city_a, name=world.city_a.name, kind=OrgKind.CITY,
               is_fund_region=True)
    assert Organisation.objects.get(pk=world.grassroots_a.pk).fund_region_id == world.city_a.pk
    assert Member.objects.get(pk=world.zhangsan.pk).fund_region_id == world.city_a.pk
    assert Member.objects.get(pk=world.sunqi.pk).fund_region_id == world.province.pk


def test_moving_into_another_region_changes_fund_region(world):
    org_update(actor=None, org=world.city_b, name=world.city_b.name, kind=OrgKind.CITY,
               is_fund_region=True)
    org_move(actor=None, org=world.county_a, new_parent=world.city_b)
    assert Member.objects.get(pk=world.zhangsan.pk).fund_region_id == world.city_b.pk
    assert Unit.objects.get(pk=world.unit_a.pk).fund_region_id == world.city_b.pk


def test_sibling_prefix_is_not_a_subtree(world):
    # Paths end in "/", so node 1 never matches node 12's subtree.
    extra = [org_create(actor=None, name=f"第{i}工会", kind=OrgKind.GRASSROOTS,
                        parent=world.county_b) for i in range(12)]
    for org in extra:
        inside = Organisation.objects.filter(path__startswith=org.path)
        assert list(inside) == [org]


def test_org_update_refuses_blank_name_and_unknown_kind(world):
    for name, kind in [("  ", OrgKind.CITY), ("南宁", "planet")]:
        with pytest.raises(DomainError):
            org_update(actor=None, org=world.city_a, name=name, kind=kind, is_fund_region=False)
    assert Organisation.objects.get(pk=world.city_a.pk).name == "南宁市总工会"


def test_units_hang_only_under_grassroots_industry_or_organ_unions(world):
    from huzhu.demo.identities import social_credit_code
    from huzhu.organisations.services import unit_create

    with pytest.raises(DomainError, match="只能隶属于"):
        unit_create(actor=None, name="县直单位", uscc=social_credit_code("450103", 77),
                    organisation=world.county_a)
    assert not Unit.objects.filter(name="县直单位").exists()
