"""The left menu, built from the user's permissions."""

from __future__ import annotations

from typing import Any, TypedDict

from django.http import HttpRequest
from django.urls import reverse

from huzhu.accounts.roles import Perm

MENU: list[tuple[str, str, Perm | None]] = [
    ("首页", "web:home", None),
    ("驾驶舱", "insights:cockpit_home", Perm.VIEW_INSIGHTS),
    ("组织架构", "web:org_tree", Perm.VIEW_ORGS),
    ("参保单位", "web:unit_list", Perm.VIEW_UNITS),
    ("会员管理", "web:member_list", Perm.VIEW_MEMBERS),
    ("参保进度", "enrollment:dashboard", Perm.MANAGE_UNITS),
    ("理赔", "claims:list", Perm.VIEW_MEMBERS),
    ("审核工作台", "claims:queue", Perm.REVIEW_CLAIMS),
    ("代办理赔", "claims:file_start", Perm.FILE_CLAIMS),
    ("缴费通知", "billing:invoice_list", Perm.POST_LEDGER),
    ("代付批次", "payouts:index", Perm.MANAGE_PAYOUTS),
    ("规则更正与追回", "claims:corrections", Perm.REVIEW_CLAIMS),
    ("规则更正与追回", "claims:corrections", Perm.MANAGE_PAYOUTS),  # no role holds both
    ("未匹配结算数据", "claims:unmatched", Perm.MANAGE_UNITS),
    ("基金账务", "ledger:index", Perm.VIEW_LEDGER),
    ("节假日安排", "claims:calendar", Perm.MANAGE_CALENDAR),
    ("操作日志", "web:event_list", Perm.VIEW_AUDIT),
    ("登录日志", "web:login_log", Perm.VIEW_LOGIN_LOG),
    ("双因素认证管理", "web:second_factor_admin", Perm.RESET_SECOND_FACTOR),
    ("用户角色", "web:user_roles", Perm.MANAGE_ROLES),
    ("接口令牌", "web:token_list", Perm.MANAGE_TOKENS),
]


class MenuItem(TypedDict):
    label: str
    url: str
    active: bool


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"menu": []}
    items: list[MenuItem] = []
    for label, name, perm in MENU:
        if user.role == "member" and name == "claims:list":
            continue  # a member's claims are 我的理赔
        if user.role == "member" and name == "claims:file_start":
            label, name = "我的理赔", "claims:mine"
        if name == "claims:calendar" and getattr(getattr(user, "organisation", None),
                                                 "parent_id", 0) is not None:
            continue  # the national calendar is entered at the province only
        if perm is None or user.can(perm):
            url = reverse(name)
            items.append({"label": label, "url": url, "active": False})
    # The one entry whose address is the longest prefix of this page is the active one.
    matches = [i for i in items if request.path == i["url"]
               or (i["url"] != "/" and request.path.startswith(i["url"]))]
    if matches:
        max(matches, key=lambda i: len(i["url"]))["active"] = True
    if user.role == "agent" and user.unit_id:
        url = reverse("enrollment:unit", args=[user.unit_id])
        items.insert(2, {"label": "单位参保", "url": url, "active": request.path.startswith(url)})
        bills = reverse("billing:unit_invoices", args=[user.unit_id])
        items.insert(3, {"label": "缴费与收据", "url": bills,
                         "active": request.path.startswith(bills)})
    return {"menu": items}
