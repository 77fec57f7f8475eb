"""TRUST S-16: only the personal fields in the minimum-necessary list are stored."""

from __future__ import annotations

import re

from django.apps import apps

from huzhu.pii.fields import EncryptedTextField
from huzhu.pii.inventory import NOT_PERSONAL, PI_INVENTORY

# A field is suspected personal by its type (encrypted) or by its name.
_PERSONAL_NAME = re.compile(
    r"name|phone|mobile|tel|id_number|cert|card|account_no|diag|addr|email|birth|brdy|gend"
)


def _fields() -> dict[str, object]:
    found = {}
    for model in apps.get_models():
        if not model.__module__.startswith("huzhu."):
            continue
        for field in model._meta.concrete_fields:
            found[f"{model._meta.label}.{field.name}"] = field
    return found


def test_every_personal_looking_field_is_listed():
    unlisted = [
        label for label, field in _fields().items()
        if (isinstance(field, EncryptedTextField) or _PERSONAL_NAME.search(label.rsplit(".", 1)[1]))
        and label not in PI_INVENTORY and label not in NOT_PERSONAL
    ]
    assert unlisted == [], (
        "新的个人信息字段须写入 huzhu/pii/inventory.py 的 PI_INVENTORY（说明用途与保护方式），"
        f"或写入 NOT_PERSONAL 说明为何不是个人信息：{unlisted}")


def test_the_list_names_real_fields_and_says_the_truth_about_encryption():
    fields = _fields()
    missing = [label for label in (*PI_INVENTORY, *NOT_PERSONAL) if label not in fields]
    assert missing == []
    wrong = [
        label for label, entry in PI_INVENTORY.items()
        if (entry.protection == "encrypted") != isinstance(fields[label], EncryptedTextField)
    ]
    assert wrong == []
    assert set(PI_INVENTORY).isdisjoint(NOT_PERSONAL)


def test_sensitive_categories_are_never_plain():
    """PIPL art. 28: ID documents, bank accounts and health data are sensitive; the phone is
    kept with them (JR/T 0171 C2). None of them may be stored as plain text."""
    sensitive = {"身份证件号码", "银行账号", "健康医疗信息", "手机号码"}
    plain = [label for label, entry in PI_INVENTORY.items()
             if entry.category in sensitive and entry.protection == "plain"]
    assert plain == []
    assert {e.category for e in PI_INVENTORY.values()} >= sensitive
