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
    ("保障期与参保任务", "scheme:periods", Perm.MANAGE_SCHEME),
    ("理赔", "claims:list", Perm.VIEW_MEMBERS),
    ("审核工作台", "claims:queue", Perm.REVIEW_CLAIMS),
    ("代办理赔", "claims:file_start", Perm.FILE_CLAIMS),
    ("缴费通知", "billing:invoice_list", Perm.POST_LEDGER),
    ("代付批次", "payouts:index", Perm.MANAGE_PAYOUTS),
    ("慰问金", "payouts:consolations", Perm.CONSOLATION),
    ("规则更正与追回", "claims:corrections", Perm.REVIEW_CLAIMS),
    ("规则更正与追回", "claims:corrections", Perm.MANAGE_PAYOUTS),  # no role holds both
    ("未匹配结算数据", "claims:unmatched", Perm.MANAGE_UNITS),
    ("完整号码导出复核", "enrollment:pi_exports", Perm.REVEAL_PII),
    ("重病关怀", "care:list", Perm.MANAGE_CARE),
    ("基金账务", "ledger:index", Perm.VIEW_LEDGER),
    ("年度报告", "insights:report_index", Perm.VIEW_INSIGHTS),
    ("基金公示", "insights:disclosure_list", Perm.VIEW_INSIGHTS),
    ("政策模拟", "insights:simulator", Perm.SIMULATE_POLICY),
    ("产品版本", "products:index", Perm.MANAGE_PRODUCTS),
    ("风险共担结算", "ledger:risk_sharing", Perm.POST_LEDGER),
    ("节假日安排", "claims:calendar", Perm.MANAGE_CALENDAR),
    ("操作日志", "web:event_list", Perm.VIEW_AUDIT),
    ("登录日志", "web:login_log", Perm.VIEW_LOGIN_LOG),
    ("双因素认证管理", "web:second_factor_admin", Perm.RESET_SECOND_FACTOR),
    ("账号管理", "web:staff_accounts", Perm.MANAGE_USERS),
    ("账号解锁与密码重置", "web:security_accounts", Perm.MANAGE_ROLES),
    ("用户角色", "web:user_roles", Perm.MANAGE_ROLES),
    ("接口令牌", "web:token_list", Perm.MANAGE_TOKENS),
]


# A member's whole menu: the portal's pages, never a staff page (issue 17).
MEMBER_MENU: list[tuple[str, str]] = [
    ("我的保障", "portal:home"),
    ("我的理赔", "claims:mine"),
    ("申请理赔", "claims:file_start"),
    ("银行卡", "portal:card"),
    ("我的收据", "portal:receipts"),
    ("消息", "portal:messages"),
    ("常见问题", "portal:faq"),
    ("在线问答", "portal:ask"),
]

# Staff pages of the member service, for those who answer members (REVIEW_CLAIMS).
SERVICE_MENU: list[tuple[str, str]] = [("会员工单", "service:tickets"), ("知识库", "service:kb_list")]


class MenuItem(TypedDict):
    label: str
    url: str
    active: bool


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"menu": []}
    items: list[MenuItem] = []
    if user.role == "member":
        items = [{"label": label, "url": reverse(name), "active": False}
                 for label, name in MEMBER_MENU]
        _mark_active(request, items)
        return {"menu": items}
    for label, name, perm in MENU:
        if name == "claims:calendar" and getattr(getattr(user, "organisation", None),
                                                 "parent_id", 0) is not None:
            continue  # the national calendar is entered at the province only
        if perm is None or user.can(perm):
            url = reverse(name)
            items.append({"label": label, "url": url, "active": False})
    if user.can(Perm.REVIEW_CLAIMS) and getattr(user, "organisation_id", None):
        items.extend({"label": label, "url": reverse(name), "active": False}
                     for label, name in SERVICE_MENU)
    _mark_active(request, items)
    if user.role == "agent" and user.unit_id:
        url = reverse("enrollment:unit", args=[user.unit_id])
        items.insert(2, {"label": "单位参保", "url": url, "active": request.path.startswith(url)})
        bills = reverse("billing:unit_invoices", args=[user.unit_id])
        items.insert(3, {"label": "缴费与收据", "url": bills,
                         "active": request.path.startswith(bills)})
        bulletin = reverse("insights:report_bulletin", args=[user.unit_id])
        items.insert(4, {"label": "运行通报", "url": bulletin,
                         "active": request.path.startswith(bulletin)})
    return {"menu": items}


def _mark_active(request: HttpRequest, items: list[MenuItem]) -> None:
    """The one entry whose address is the longest prefix of this page is the active one."""
    matches = [i for i in items if request.path == i["url"]
               or (i["url"] != "/" and request.path.startswith(i["url"]))]
    if matches:
        max(matches, key=lambda i: len(i["url"]))["active"] = True
