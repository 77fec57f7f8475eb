"""Per fund region payout settings (代付设置), edited by finance at the province: the
association's paying account (付款账号, 户名, 开户行 from the bank list), the bank file format
its bank takes, and the fund-balance floor (``balance.py``). Each save is one audited event
with the settings before and after.

The paying account is the association's own corporate account, not a person's: it is kept in
clear and shown in full to finance (ADR 0017); the bank files that carry it are sealed anyway
because they hold members' card numbers (ADR 0012).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from django.db.models import QuerySet

from huzhu.accounts.roles import Perm
from huzhu.actors import Actor
from huzhu.audit.services import atomic_events, event_record
from huzhu.errors import DomainError, NotAllowed
from huzhu.organisations.models import Organisation, OrgKind
from huzhu.rules.money import MoneyError, format_yuan, parse_yuan

from . import banklist, formats
from .models import PayoutRegionSetting

_ACCOUNT = re.compile(r"^\d{6,32}$")


def may_edit_settings(user: Any) -> bool:
    org = getattr(user, "organisation", None)
    return (org is not None and getattr(user, "is_authenticated", False)
            and user.can(Perm.MANAGE_PAYOUTS) and org.kind == OrgKind.PROVINCE)


def regions_editable_by(user: Any) -> QuerySet[Organisation]:
    """The fund regions whose settings ``user`` may edit: finance at a province, for the fund
    regions in its subtree."""
    if not may_edit_settings(user):
        return Organisation.objects.none()
    return Organisation.objects.filter(is_fund_region=True,
                                       path__startswith=user.organisation.path).order_by("path")


def setting_of(region: Organisation) -> PayoutRegionSetting:
    return (PayoutRegionSetting.objects.filter(fund_region=region).select_related("payer_bank")
            .first() or PayoutRegionSetting(fund_region=region))


def _shown(s: PayoutRegionSetting) -> dict[str, Any]:
    return {"adapter": s.adapter, "payer_account": s.payer_account, "payer_name": s.payer_name,
            "payer_bank": s.payer_bank.cnaps if s.payer_bank_id and s.payer_bank else "",
            "balance_floor_fen": s.balance_floor_fen}


@atomic_events()
def region_setting_save(*, region: Organisation, actor: Actor, adapter: str, payer_account: str,
                        payer_name: str, payer_bank_cnaps: str,
                        balance_floor: str) -> PayoutRegionSetting:
    if not may_edit_settings(actor) or not regions_editable_by(actor).filter(
            pk=region.pk).exists():
        raise NotAllowed("只有省级协会财务可以修改本省统筹区的代付设置")
    errors: dict[str, list[str]] = {}
    if adapter not in formats.registry():
        errors["adapter"] = ["请选择银行文件格式"]
    account = re.sub(r"[\s-]", "", unicodedata.normalize("NFKC", payer_account or ""))
    if account and not _ACCOUNT.match(account):
        errors["payer_account"] = ["付款账号应为 6–32 位数字"]
    name = unicodedata.normalize("NFKC", payer_name or "").strip()
    if len(name) > 100:
        errors["payer_name"] = ["付款账户名称不能超过 100 个字"]
    bank = None
    if (payer_bank_cnaps or "").strip():
        bank = banklist.by_cnaps(payer_bank_cnaps)
        if bank is None:
            errors["payer_bank"] = ["请从银行名录中选择付款账户开户行"]
    try:
        floor = parse_yuan((balance_floor or "0").strip() or "0")
        if floor < 0:
            errors["balance_floor"] = ["余额下限不能为负数"]
    except MoneyError:
        floor = 0
        errors["balance_floor"] = ["余额下限应为最多两位小数的元金额"]
    if adapter in formats.registry() and formats.get(adapter).needs_payer and not errors \
            and not (account and name and bank):
        errors["payer_account"] = [f"{formats.get(adapter).label}须填写付款账号、户名和开户行"]
    if errors:
        first = next(iter(errors.values()))[0]
        raise DomainError(f"{region.name} 的代付设置未保存：{first}", field_errors=errors)
    Organisation.objects.select_for_update().filter(pk=region.pk).first()
    s = setting_of(region)
    before = _shown(s) if s.pk else {}
    s.adapter, s.payer_account, s.payer_name = adapter, account, name
    s.payer_bank, s.balance_floor_fen, s.updated_by = bank, floor, actor
    s.save()
    after = _shown(s)
    if before != after:
        event_record(action="payout.region_setting_changed", actor=actor, obj=s,
                     org_path=region.path, before=before, after=after)
    return s


def floor_text(s: PayoutRegionSetting) -> str:
    return format_yuan(s.balance_floor_fen)
