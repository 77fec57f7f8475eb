"""Chinese names for what an event holds: object types, before/after keys and values."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from django.apps import apps

# Object types that are not models (exports of reports) and keys of before/after that are not a
# model's fields; a model's own fields are named by their ``verbose_name``.
EXTRA_TYPES = {
    "ledger.statement": "账户明细",
    "ledger.trial_balance": "试算平衡表",
    "audit.event": "事件日志",
    # Settlements were a model of the claims app when these events began.
    "claims.settlement": "结算数据",
    "payouts.line": "代付明细",
    # Reports (huzhu/insights, ADR 0019).
    "insights.annual_report": "基金年度报告",
    "insights.unit_bulletin": "单位运行通报",
}
KEY_LABELS = {
    "action": "操作", "amount_fen": "金额", "as_of": "截至", "assessment": "核算",
    "attempt": "尝试次数", "bank_ref": "银行流水号", "claim": "理赔", "date": "日期",
    "debit_fen": "借方金额", "document": "材料", "due_on": "到期日", "end": "结束",
    "enrollments": "参保记录", "failed": "失败", "field": "字段", "file": "文件",
    "filters": "筛选条件", "invoice": "缴费通知", "kind": "类型", "level": "审核级次",
    "lines": "行数", "locked_until": "锁定至", "member": "会员", "name": "名称",
    "new_fen": "新金额", "number": "编号", "paid": "已缴", "password": "密码",
    "payable_fen": "应付金额", "phone": "手机号", "premium_fen": "保费", "product": "产品",
    "reason": "原因", "reason_code": "原因代码", "resolution": "处理结果", "role": "角色",
    "rows": "行数", "sent_fen": "已发送金额", "setl_id": "结算编号", "shares": "份数",
    "size": "大小", "skipped_rows": "跳过行数", "start": "开始", "status": "状态",
    "user": "用户", "username": "用户名", "version": "版本", "was_fen": "原金额",
    "actor": "操作人", "date_from": "起始日期", "date_to": "截止日期",
    "object_type": "对象类型", "object_id": "对象编号", "org": "组织", "unit": "单位",
    # Accounts and tokens (huzhu/accounts/trail.py, tokens.py).
    "is_active": "启用", "is_staff": "可进入系统配置", "is_superuser": "超级用户",
    "email": "电子邮箱", "first_name": "名", "last_name": "姓", "ids": "编号",
    "method": "请求方法", "path": "接口地址", "scopes": "接口范围", "region": "数据范围",
    "prefix": "令牌前缀", "expires_at": "到期时间", "revoked_at": "吊销时间",
    # Reports and disclosures (huzhu/insights).
    "format": "格式", "members": "人数", "claims": "理赔件数", "cases": "赔付案例数",
    "benefits_fen": "互助金支出", "income_fen": "互助金收入", "digest": "内容摘要值",
    # Policy scenarios and product-version drafts (huzhu/insights/simulator.py, products/drafts.py).
    "code": "产品编号", "effective_from": "启用日期", "document_sha256": "规则文件摘要",
    "source": "来源", "base": "起点版本", "period": "保障期", "before_fen": "起点给付",
    "after_fen": "草稿给付", "draft": "产品版本草稿",
    "product_version": "产品版本", "offers_moved": "改为新版本的产品提供", "note": "意见",
}
OUTCOMES = {"ok": "成功", "failed": "失败", "denied": "拒绝", "locked": "已锁定",
            "address_locked": "地址暂被拒绝", "expired": "已过期", "revoked": "已吊销",
            "out_of_scope": "超出所属用户的范围"}


@cache
def object_types() -> list[tuple[str, str]]:
    """(``app.model``, Chinese name) of every project model and report an event may be about."""
    types = {m._meta.label_lower: str(m._meta.verbose_name) for m in apps.get_models()
             if m.__module__.startswith("huzhu.")}
    types.update(EXTRA_TYPES)
    return sorted(types.items())


def object_type_label(object_type: str) -> str:
    return dict(object_types()).get(object_type, object_type)


def outcome_label(outcome: str) -> str:
    return OUTCOMES.get(outcome, outcome)


def key_label(object_type: str, key: str) -> str:
    if key in KEY_LABELS:
        return KEY_LABELS[key]
    try:
        model = apps.get_model(object_type)
        return str(model._meta.get_field(key).verbose_name)
    except (LookupError, ValueError):
        return key
    except Exception:  # noqa: BLE001 - FieldDoesNotExist and friends: show the raw key
        return key


def value_text(key: str, value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    if key == "role" and isinstance(value, str):
        from huzhu.accounts.roles import Role

        return dict(Role.choices).get(value, value)
    if key == "scopes" and isinstance(value, dict):
        from huzhu.accounts.tokens import LEVEL_LABELS, area_label

        return "；".join(f"{area_label(a)}：{LEVEL_LABELS.get(v, v)}" for a, v in value.items())
    if key.endswith("_fen") and isinstance(value, int):
        return f"{value / 100:,.2f} 元"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def before_after_rows(event: Any) -> list[tuple[str, str, str]]:
    """(字段, 修改前, 修改后) for every key of the event's before and after."""
    before = event.before if isinstance(event.before, dict) else {}
    after = event.after if isinstance(event.after, dict) else {}
    keys = list(dict.fromkeys([*before, *after]))
    return [(key_label(event.object_type, k),
             value_text(k, before.get(k)) if k in before else "—",
             value_text(k, after.get(k)) if k in after else "—") for k in keys]
