"""The breach runbook's first step (TRUST S-27; PIPL art. 57): who is affected, and what to tell them.

Given an incident — every member under an organisation (a lost laptop with a city's export, a
leaked database copy of a region), or everything one account saw in a time window (a stolen
login) — :func:`breach_members` lists the affected members and :func:`breach_notice` writes the
notice PIPL art. 57 requires, to the regulator and to each person: the kinds of personal
information involved, the cause, the possible harm, what the association has done, what the
person can do, and whom to contact. The list is written masked; the notice names no person.
"""

from __future__ import annotations

import datetime
import io
from dataclasses import dataclass

from django.db.models import QuerySet

from huzhu import clock
from huzhu.accounts.models import User
from huzhu.audit.models import Action, Event
from huzhu.members.access import members_visible_to
from huzhu.members.models import Member
from huzhu.organisations.models import Organisation
from huzhu.pii.masking import mask_id_number, mask_name, mask_phone
from huzhu.sheets import Sheet, workbook

# What each kind of data is, and what its leak can do (the notice's "可能造成的危害").
KINDS: dict[str, tuple[str, str]] = {
    "姓名": ("姓名", "被用于冒充身份或精准诈骗"),
    "身份证号": ("居民身份证号码", "被冒用办理业务、实施电信网络诈骗"),
    "手机号": ("手机号码", "收到骚扰电话、诈骗短信"),
    "银行卡号": ("银行账号", "收到以退款、理赔为名的诈骗，或被他人尝试盗刷"),
    "诊断": ("疾病诊断与就医信息", "健康隐私被他人知悉，可能遭受歧视或骚扰"),
}


class BreachError(ValueError):
    """The incident was described in a way the runbook cannot act on."""


@dataclass(frozen=True)
class Incident:
    kinds: tuple[str, ...]
    cause: str
    measures: str
    contact: str
    occurred: str  # when it happened or was found, as the operator states it

    def __post_init__(self) -> None:
        unknown = [k for k in self.kinds if k not in KINDS]
        if unknown or not self.kinds:
            raise BreachError(f"信息种类只能是：{'、'.join(KINDS)}（收到：{'、'.join(unknown) or '空'}）")
        for label, text in (("原因", self.cause), ("已采取的补救措施", self.measures),
                            ("联系方式", self.contact), ("发生时间", self.occurred)):
            if not text.strip():
                raise BreachError(f"请填写{label}")


def breach_members(*, org_code: str = "", username: str = "",
                   since: datetime.date | None = None, until: datetime.date | None = None
                   ) -> tuple[QuerySet[Member], str]:
    """The affected members and a sentence saying how they were chosen."""
    if bool(org_code) == bool(username):
        raise BreachError("请指定 --org（某组织及其下级的全部会员）或 --user（某账号在时间段内"
                          "能看到的会员）其中之一")
    if org_code:
        org = Organisation.objects.filter(code=org_code).first()
        if org is None:
            raise BreachError(f"找不到组织代码为 {org_code} 的组织")
        return (Member.objects.filter(org_path__startswith=org.path),
                f"{org.name}及其下级组织的全部会员")
    user = User.objects.filter(username=username).first()
    if user is None:
        raise BreachError(f"找不到用户名为 {username} 的账号")
    if since is None or until is None or since > until:
        raise BreachError("按账号查找时须给出 --since 和 --until（起日不晚于止日）")
    start, end = clock.day_start(since), clock.day_start(until + datetime.timedelta(days=1))
    events = Event.objects.filter(actor_id=user.pk, created_at__gte=start, created_at__lt=end)
    exported = events.filter(action=Action.EXPORT, object_type="members.member").exists()
    if exported:
        # An export holds any of the members the account could see: take them all.
        return (members_visible_to(user),
                f"账号 {user} 在 {since} 至 {until} 期间导出过会员名单，按其数据范围内的全部会员计")
    revealed = events.filter(action=Action.PII_REVEALED, object_type="members.member",
                             outcome="ok").values_list("object_id", flat=True)
    ids = {int(i) for i in revealed if i.isdigit()}
    return (Member.objects.filter(pk__in=ids),
            f"账号 {user} 在 {since} 至 {until} 期间查看过完整个人信息的会员")


def breach_notice(incident: Incident, *, affected: int, chosen_by: str) -> str:
    kinds = "、".join(KINDS[k][0] for k in incident.kinds)
    harms = "；".join(f"{KINDS[k][0]}可能{KINDS[k][1]}" for k in incident.kinds)
    advice = ["对自称工会、互助会、医保或银行工作人员的来电和短信保持警惕，互助会不会索要验证码、"
              "密码，也不会要求转账"]
    if "银行卡号" in incident.kinds:
        advice.append("留意银行卡交易提醒，发现异常立即联系发卡银行挂失")
    if "身份证号" in incident.kinds:
        advice.append("可通过国家政务服务平台等渠道查询名下是否有异常登记")
    return "\n".join([
        "个人信息安全事件告知书",
        "",
        f"发生时间：{incident.occurred}",
        f"涉及人数：{affected} 人（{chosen_by}）",
        f"涉及的个人信息种类：{kinds}",
        f"事件原因：{incident.cause}",
        f"可能造成的危害：{harms}。",
        f"我会已采取的补救措施：{incident.measures}",
        "您可以采取的措施：" + "；".join(advice) + "。",
        f"联系方式：{incident.contact}",
        "",
        "依据《中华人民共和国个人信息保护法》第五十七条，本告知同时报送履行个人信息保护职责的部门。",
        f"生成时间：{clock.local(clock.now()):%Y-%m-%d %H:%M}（北京时间）",
    ]) + "\n"


def affected_workbook(members: QuerySet[Member]) -> bytes:
    """The affected members, masked (the list travels by e-mail and on paper)."""
    out = io.BytesIO()
    book = workbook(out)
    sheet = Sheet(book, "涉及人员")
    sheet.row(0, 0, ["会员编号", "姓名", "身份证号", "手机号", "所属单位"])
    rows = members.select_related("unit").order_by("id")
    for i, m in enumerate(rows.iterator(chunk_size=2000), start=1):
        sheet.row(i, 0, [m.pk, mask_name(m.name), mask_id_number(m.id_number or ""),
                         mask_phone(m.phone or ""), m.unit.name if m.unit else ""])
    book.close()
    return out.getvalue()
