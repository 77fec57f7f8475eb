"""产品版本: product versions written in the browser (issue 14 part 4, ADR 0020): upload or edit
a TOML document, see ``rules check`` problems in Chinese with their line, the diff against the
version it replaces and a sample claim explained under both; propose it from a date; a second
person approves (never the proposer) and it is activated."""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from huzhu import clock
from huzhu.accounts.roles import Perm
from huzhu.actors import AuthedRequest
from huzhu.errors import DomainError

from . import drafts
from .models import DraftStatus, ProductDraft, ProductVersion
from .services import product_from_document, product_rules

MAX_UPLOAD = 200_000  # bytes: a product file is a few kB


def _scope(user: Any) -> str:
    org = getattr(user, "organisation", None)
    if org is None or not user.can(Perm.MANAGE_PRODUCTS):
        raise Http404
    return str(org.path)


def _drafts(path: str) -> Any:
    return ProductDraft.objects.filter(org_path__startswith=path).select_related(
        "base", "created_by", "proposed_by", "decided_by", "result")


@login_required
def index(request: AuthedRequest) -> HttpResponse:
    path = _scope(request.user)
    versions = ProductVersion.objects.only("id", "code", "version", "name", "loaded_at").order_by(
        "code", "-loaded_at")
    return render(request, "products/index.html", {
        "versions": versions, "drafts": _drafts(path)[:100]})


def _document_from(request: AuthedRequest) -> str:
    upload = request.FILES.get("file")
    if upload is not None:
        if (upload.size or 0) > MAX_UPLOAD:
            raise DomainError(f"上传的规则文件“{upload.name}”太大（超过 200 KB）", code="upload")
        try:
            return upload.read().decode("utf-8").replace("\r\n", "\n")
        except UnicodeDecodeError:
            raise DomainError(f"上传的规则文件“{upload.name}”不是 UTF-8 文本", code="upload") from None
    return request.POST.get("document", "").replace("\r\n", "\n")


@login_required
def draft_new(request: AuthedRequest) -> HttpResponse:
    """A new draft from a stored version (its document to edit, or a file uploaded)."""
    path = _scope(request.user)
    base = get_object_or_404(ProductVersion, pk=request.GET.get("base") or request.POST.get("base")
                             or 0)
    document = base.document
    if request.method == "POST":
        try:
            document = _document_from(request)
            draft = drafts.draft_save(actor=request.user, base=base, document=document,
                                      org_path=path, source="在页面中编写")
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"草稿 {draft.version} 已保存")
            return redirect("products:draft", draft.pk)
    return render(request, "products/draft_new.html", {"base": base, "document": document})


def _explain(claim: Any, product: Any) -> dict[str, Any]:
    from huzhu.claims.assess import claim_day, claim_facts, usage_for
    from huzhu.enrollment.models import Enrollment, EnrollmentStatus
    from huzhu.rules import scalar

    held = tuple(Enrollment.objects.filter(
        member_id=claim.member_id, period_id=claim.period_id,
        status=EnrollmentStatus.ACTIVE).values_list("product_version__code", flat=True))
    day = claim_day(claim)
    facts = claim_facts(claim, claim.settlement, claim.enrollment, held, day)
    a = scalar.assess(facts, product, usage_for(claim), day)
    names = {b.id: b.name for b in product.benefits}
    return {"payable_fen": a.payable_fen, "steps": [s.zh for s in a.trace],
            "lines": [{"name": names.get(ln.benefit_id, ln.benefit_id),
                       "payable_fen": ln.payable_fen} for ln in a.lines]}


def _sample(request: AuthedRequest, draft: ProductDraft, path: str) -> dict[str, Any] | None:
    from huzhu.claims.models import Claim

    if draft.base is None:
        return None
    claims = Claim.objects.filter(product_code=draft.code, org_path__startswith=path)
    wanted = request.GET.get("claim", "").strip()
    claim = (claims.filter(pk=int(wanted)).first() if wanted.isdigit()
             else claims.exclude(payable_fen=0).order_by("-id").first())
    if claim is None:
        return {"missing": wanted or True}
    claim = Claim.objects.select_related("member", "settlement", "enrollment__period",
                                         "enrollment__product_version").get(pk=claim.pk)
    product, _ = product_from_document(draft.code, draft.document, draft.base.lists_document)
    return {"claim": claim, "before": _explain(claim, product_rules(draft.base)),
            "after": _explain(claim, product) if product is not None else None}


@login_required
def draft_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    path = _scope(request.user)
    draft = get_object_or_404(_drafts(path), pk=pk)
    editable = draft.status in (DraftStatus.DRAFT, DraftStatus.REJECTED)
    if request.method == "POST" and editable:
        try:
            document = _document_from(request)
            drafts.draft_save(actor=request.user, base=draft.base, document=document,
                              org_path=draft.org_path, draft=draft)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, "草稿已保存")
            return redirect("products:draft", draft.pk)
    lists = draft.base.lists_document if draft.base else {}
    uid = request.user.pk
    return render(request, "products/draft.html", {
        "draft": draft, "editable": editable,
        "problems": drafts.check(draft.code, draft.document, lists),
        "diff": drafts.diff(draft.base.document if draft.base else "", draft.document),
        "sample": _sample(request, draft, path),
        "can_decide": (draft.status == DraftStatus.PROPOSED
                       and uid not in (draft.proposed_by_id, draft.created_by_id)),
        "today": clock.today().isoformat()})


@login_required
@require_POST
def draft_propose(request: AuthedRequest, pk: int) -> HttpResponse:
    draft = get_object_or_404(_drafts(_scope(request.user)), pk=pk)
    try:
        when = datetime.date.fromisoformat(request.POST.get("effective_from", ""))
    except ValueError:
        messages.error(request, "启用日期：请填写日期（年-月-日）")
        return redirect("products:draft", draft.pk)
    try:
        drafts.draft_propose(actor=request.user, draft=draft, effective_from=when)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"已提请审批，须由另一人批准后自 {when} 启用")
    return redirect("products:draft", draft.pk)


@login_required
@require_POST
def draft_decide(request: AuthedRequest, pk: int) -> HttpResponse:
    draft = get_object_or_404(_drafts(_scope(request.user)), pk=pk)
    note = request.POST.get("note", "")
    try:
        if request.POST.get("decision") == "approve":
            version = drafts.draft_approve(actor=request.user, draft=draft, note=note)
            messages.success(request, f"已批准：{version.name}（{version.version}）"
                                      f"自 {draft.effective_from} 启用")
        else:
            drafts.draft_reject(actor=request.user, draft=draft, note=note)
            messages.success(request, "已退回起草人修改")
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("products:draft", draft.pk)
