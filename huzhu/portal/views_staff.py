"""Staff pages: the knowledge base (edited at the association) with a box to try the robot,
and the 工单 of members in the user's subtree, answered by SMS."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from huzhu.actors import AuthedRequest
from huzhu.errors import DomainError
from huzhu.web.paging import paginate

from .access import may_answer, may_edit_kb, tickets_visible_to
from .models import KnowledgeEntry, TicketStatus, Topic
from .services import robot_ask, ticket_reply


class EntryForm(forms.Form):
    slug = forms.CharField(label="编号", max_length=60, error_messages={"required": "编号不能为空"})
    topic = forms.ChoiceField(label="分类", choices=[("", "请选择"), *Topic.choices])
    question = forms.CharField(label="问题", max_length=200,
                               error_messages={"required": "问题不能为空"})
    phrasings = forms.CharField(label="其他问法（每行一个）", required=False,
                                widget=forms.Textarea(attrs={"rows": 3}))
    answer = forms.CharField(label="答案", max_length=2000,
                             error_messages={"required": "答案不能为空"}, widget=forms.Textarea(attrs={"rows": 6}))
    active = forms.BooleanField(label="启用", required=False, initial=True)


@login_required
def kb_list(request: AuthedRequest) -> HttpResponse:
    if not may_answer(request.user):
        raise Http404
    q = request.GET.get("q", "").strip()
    qs = KnowledgeEntry.objects.order_by("topic", "id")
    if q:
        qs = qs.filter(question__icontains=q) | qs.filter(answer__icontains=q)
    reply = None
    trial = request.GET.get("try", "").strip()
    if trial:
        try:
            reply = robot_ask(user=request.user, question=trial)
        except DomainError as exc:
            messages.error(request, exc.message)
    return render(request, "portal/staff/kb_list.html", {
        "page": paginate(request, qs, per_page=50), "q": q, "trial": trial, "reply": reply,
        "may_edit": may_edit_kb(request.user)})


@login_required
def kb_edit(request: AuthedRequest, pk: int | None = None) -> HttpResponse:
    if not may_edit_kb(request.user):
        raise Http404
    entry = None
    if pk is not None:
        entry = KnowledgeEntry.objects.filter(pk=pk).first()
        if entry is None:
            raise Http404("知识库条目不存在")
    initial = ({f: getattr(entry, f) for f in ("slug", "topic", "question", "phrasings",
                                               "answer", "active")} if entry else None)
    form = EntryForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            saved = kb_save_view(request, entry, form)
        except DomainError as exc:
            for field, msgs in exc.field_errors.items():
                for m in msgs:
                    form.add_error(field if field in form.fields else None, m)
            if not exc.field_errors:
                form.add_error(None, exc.message)
        else:
            messages.success(request, f"知识库条目“{saved.question}”已保存")
            return redirect("service:kb_list")
    return render(request, "portal/staff/kb_edit.html", {"form": form, "entry": entry})


def kb_save_view(request: AuthedRequest, entry: KnowledgeEntry | None, form: EntryForm
                 ) -> KnowledgeEntry:
    from .services import kb_save

    return kb_save(actor=request.user, entry=entry, data=form.cleaned_data)


@login_required
def tickets(request: AuthedRequest) -> HttpResponse:
    if not may_answer(request.user):
        raise Http404
    status = request.GET.get("status", TicketStatus.OPEN)
    qs = tickets_visible_to(request.user).select_related("member", "replied_by")
    if status in TicketStatus.values:
        qs = qs.filter(status=status)
    return render(request, "portal/staff/tickets.html", {
        "page": paginate(request, qs.order_by("-id"), per_page=50), "status": status,
        "statuses": TicketStatus.choices})


@login_required
@require_POST
def ticket_answer(request: AuthedRequest, pk: int) -> HttpResponse:
    ticket = tickets_visible_to(request.user).filter(pk=pk).select_related("member").first()
    if ticket is None:
        raise Http404("工单不存在")
    try:
        ticket_reply(actor=request.user, ticket=ticket, reply=request.POST.get("reply", ""))
    except DomainError as exc:
        messages.error(request, f"工单 {pk}：{exc.message}")
    else:
        messages.success(request, f"工单 {pk} 已回复，回复已用短信发给会员")
    return redirect("service:tickets")
