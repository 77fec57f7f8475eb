"""What the portal writes: a question asked of the robot (answered, or turned into a 工单),
a staff reply to a 工单 (sent by SMS), and a knowledge-base entry saved by staff."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from huzhu import clock
from huzhu.accounts.roles import Role
from huzhu.audit.models import Action
from huzhu.audit.services import atomic_events, event_record
from huzhu.errors import DomainError
from huzhu.members.models import Member
from huzhu.notices.services import notice_enqueue

from .models import KnowledgeEntry, Ticket, TicketStatus, Topic
from .robot import Found, best

# A member asking where their own claim stands.
MY_CLAIM = re.compile(
    r"(我的|我那笔|我那个|我家|我).{0,6}(理赔|申请|报销|互助金|钱)"
    r".{0,8}(到哪|进度|怎么样|批|审|到账|到了|状态|结果|没|了吗|呢)"
    r"|(我的|我).{0,4}(钱|互助金).{0,6}(到|打|发)")
SMS_REPLY_CHARS = 60


@dataclass
class Reply:
    text: str
    entry: Found | None = None
    others: list[Found] = field(default_factory=list)
    claims: list[dict[str, Any]] = field(default_factory=list)
    ticket: Ticket | None = None
    score: float = 0.0


def _own_claims(member: Member) -> list[dict[str, Any]]:
    from huzhu.claims.models import Claim
    from huzhu.claims.story import claim_story
    from huzhu.payouts.shown import claim_state_label, claims_shown

    rows = list(claims_shown(Claim.objects.filter(member=member))
                .select_related("product_version", "settlement", "assessment")
                .order_by("-id")[:3])
    out = []
    for c in rows:
        story = claim_story(c)
        last = story.steps[-1] if story.steps else None
        out.append({"pk": c.pk, "product": c.product_version.name,
                    "stay": (f"{c.settlement.begndate:%Y-%m-%d} 至 {c.settlement.enddate:%Y-%m-%d}"
                             if c.settlement else f"{c.event_date:%Y-%m-%d}"),
                    "state": claim_state_label(c), "last": last.title if last else "",
                    "todo": story.todo})
    return out


def robot_ask(*, user: Any, question: str) -> Reply:
    """Answer ``question``. A member asking about their own claim gets its status; a question
    the knowledge base cannot answer becomes a 工单 for the member's union (one event)."""
    question = " ".join((question or "").split())[:300]
    if not question:
        raise DomainError("请输入您的问题", field_errors={"question": ["请输入您的问题"]})
    member = getattr(user, "member", None) if getattr(user, "role", "") == Role.MEMBER else None
    if member is not None and MY_CLAIM.search(question):
        claims = _own_claims(member)
        if claims:
            return Reply("您最近的理赔情况如下（点编号可以看详细的时间线）：", claims=claims)
        entry, score, others = best(question)
        return Reply("您还没有理赔记录。" + (entry.answer if entry else ""), entry=entry,
                     others=others, score=score)
    entry, score, others = best(question)
    if entry is not None:
        return Reply(entry.answer, entry=entry, others=others, score=score)
    if member is None:
        return Reply("抱歉，这个问题我还答不上来。请换个说法，或联系工作人员。", others=others,
                     score=score)
    with atomic_events():
        ticket = Ticket.objects.create(member=member, org_path=member.org_path,
                                       question=question, best_score=score)
        event_record(action=Action.TICKET_OPENED, actor=user, obj=ticket,
                     after={"best_score": round(score, 2)})
    return Reply(f"这个问题我还答不上来，已转给工作人员（工单 {ticket.pk}），"
                 "回复会用短信发到您登记的手机号，也可以在“消息”里查看。",
                 others=others, ticket=ticket, score=score)


def ticket_reply(*, actor: Any, ticket: Ticket, reply: str) -> Ticket:
    reply = (reply or "").strip()
    if not reply:
        raise DomainError("请填写回复内容", field_errors={"reply": ["请填写回复内容"]})
    if len(reply) > 500:
        raise DomainError("回复不能超过 500 字", field_errors={"reply": ["回复不能超过 500 字"]})
    with atomic_events():
        locked = Ticket.objects.select_for_update().get(pk=ticket.pk)
        if locked.status == TicketStatus.ANSWERED:
            raise DomainError(f"工单 {ticket.pk} 已经回复过")
        locked.reply, locked.status = reply, TicketStatus.ANSWERED
        locked.replied_by, locked.replied_at = actor, timezone.now()
        locked.save()
        member = locked.member
        short = reply if len(reply) <= SMS_REPLY_CHARS else reply[:SMS_REPLY_CHARS - 1] + "…"
        notice_enqueue(key=f"ticket-reply:{locked.pk}", template="TICKET_REPLY",
                       phone=member.phone or "", member_id=member.pk, org_path=member.org_path,
                       params={"name": member.name, "ticket": str(locked.pk), "reply": short})
        event_record(action=Action.TICKET_REPLIED, actor=actor, obj=locked,
                     after={"sms": bool(member.phone), "length": len(reply)})
    return locked


ENTRY_FIELDS = ("slug", "topic", "question", "phrasings", "answer", "active")


def kb_save(*, actor: Any, entry: KnowledgeEntry | None, data: dict[str, Any]) -> KnowledgeEntry:
    """Create or change one entry; refuse a blank question or answer, an unknown topic or a
    slug already taken, naming the field."""
    errors: dict[str, list[str]] = {}
    slug = str(data.get("slug", "")).strip()
    if not re.fullmatch(r"[a-z0-9-]{2,60}", slug):
        errors["slug"] = ["编号只能用小写字母、数字和连字符，2–60 个字符"]
    elif KnowledgeEntry.objects.filter(slug=slug).exclude(
            pk=entry.pk if entry is not None else 0).exists():
        errors["slug"] = [f"编号“{slug}”已被其他条目使用"]
    if data.get("topic") not in Topic.values:
        errors["topic"] = ["请选择分类"]
    for name, label in (("question", "问题"), ("answer", "答案")):
        if not str(data.get(name, "")).strip():
            errors[name] = [f"{label}不能为空"]
    if errors:
        first = next(iter(errors.values()))[0]
        where = f"知识库条目 {entry.pk}" if entry else "新条目"
        raise DomainError(f"{where}未保存：{first}", field_errors=errors)
    with atomic_events():
        before = {f: getattr(entry, f) for f in ENTRY_FIELDS} if entry else None
        entry = entry or KnowledgeEntry()
        for f in ENTRY_FIELDS:
            value = data.get(f)
            setattr(entry, f, bool(value) if f == "active" else str(value or "").strip())
        entry.updated_by = actor
        entry.save()
        after = {f: getattr(entry, f) for f in ENTRY_FIELDS}
        changed = [f for f in ENTRY_FIELDS if before is None or before[f] != after[f]]
        event_record(action=Action.KB_SAVED, actor=actor, obj=entry,
                     before={f: before[f] for f in changed} if before else None,
                     after={f: after[f] for f in changed})
    return entry


def member_messages(member: Member, limit: int = 100) -> list[dict[str, Any]]:
    """The SMS sent (or queued) to the member, newest first, as they read them; a
    verification code is shown as ●●●●●● (it was only for that moment)."""
    from huzhu.notices.models import OutboxMessage
    from huzhu.notices.templates import render
    from huzhu.pii.masking import mask_phone

    out = []
    for m in OutboxMessage.objects.filter(member_id=member.pk).order_by("-id")[:limit]:
        params = dict(m.params)
        if m.template == "VERIFY_CODE":
            params["code"] = "●●●●●●"
        try:
            text = render(m.template, params)
        except ValueError:
            text = "（短信模板已停用）"
        out.append({"text": text, "phone": mask_phone(m.phone or ""),
                    "at": clock.local(m.sent_at or m.created_at),
                    "status": m.get_status_display()})
    return out
