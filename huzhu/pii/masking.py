"""The one masking pattern for personal data shown on screen (TRUST.md S-12).

- name: first and last character kept, the middle masked: 张*三, 欧阳**锋; two characters: 张*
- resident ID: first 6 and last 4 kept: 110101********1234
- phone: first 3 and last 4 kept: 138****1234
- bank card: first 4 and last 4 kept, grouped by 4: 6222 **** **** 3029
"""

from __future__ import annotations


def mask_name(name: str) -> str:
    if not name:
        return ""
    if len(name) == 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_id_number(value: str) -> str:
    if not value:
        return ""
    if len(value) <= 10:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_phone(value: str) -> str:
    if not value:
        return ""
    if len(value) < 8:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_bank_card(value: str) -> str:
    if not value:
        return ""
    if len(value) < 9:
        return "*" * len(value)
    middle_groups = max(1, (len(value) - 8 + 3) // 4)
    return " ".join([value[:4], *(["****"] * middle_groups), value[-4:]])
