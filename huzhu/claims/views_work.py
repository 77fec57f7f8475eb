"""Claim work pages: the reviewer's queue and decisions, filing a claim with documents (agent,
agency point or the member), the member's own claims, appeals, resubmission, documents."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from huzhu import clock
from huzhu.accounts.roles import Perm, Role
from huzhu.actors import AuthedRequest
from huzhu.audit.services import atomic_events
from huzhu.enrollment.models import Enrollment, EnrollmentStatus
from huzhu.errors import DomainError
from huzhu.members.access import member_get_for_user, members_visible_to
from huzhu.payouts.shown import ClaimState, claim_state_label, claims_shown
from huzhu.pii.crypto import blind_indexes
from huzhu.pii.identifiers import IdentifierError, check_resident_id
from huzhu.settlements.models import Settlement
from huzhu.web.paging import paginate

from .access import claim_get_for_user, claims_visible_to
from .calendar import UNKNOWN_LABEL, deadline_known, known_years
from .documents import MAX_BYTES, document_read, documents_add
from .models import Claim, ClaimDocument, ClaimSource, DocumentKind, ReviewAction
from .review import (
    REJECT_REASONS,
    claim_appeal,
    claim_resubmit,
    claim_review,
    level_of,
    levels_of,
    review_queue,
)
from .services import claim_file
from .status import ClaimStatus

# --------------------------------------------------------------------------- review


@login_required
def queue(request: AuthedRequest) -> HttpResponse:
    if not request.user.can(Perm.REVIEW_CLAIMS):
        raise Http404
    from huzhu.organisations.access import organisations_visible_to

    qs = review_queue(request.user).select_related("member", "product_version")
    today = clock.today()
    # A province reviewer's queue holds every level: narrow it by level, union and deadline.
    f = {k: request.GET.get(k, "").strip() for k in ("level", "org", "due")}
    if f["level"].isdigit():
        qs = qs.filter(review_level=int(f["level"]))
    orgs = organisations_visible_to(request.user).exclude(kind="grassroots").order_by("path")
    if f["org"].isdigit():
        org = orgs.filter(pk=int(f["org"])).first()
        qs = qs.filter(org_path__startswith=org.path) if org else qs.none()
    if f["due"] == "overdue":
        qs = qs.filter(due_on__lt=today)
    elif f["due"] == "today":
        qs = qs.filter(due_on=today)
    page = paginate(request, qs, per_page=50, count=False)
    names: dict[int, dict[int, str]] = {}
    known = known_years({c.due_on.year for c in page.rows if c.due_on} | {today.year})
    for c in page.rows:
        c.deadline_unknown = bool(c.due_on and (c.due_on.year not in known
                                                or today.year not in known))
        levels = names.setdefault(c.fund_region_id, {lv.level: lv.name
                                                      for lv in levels_of(c.fund_region_id)})
        c.level_name = levels.get(c.review_level, f"第 {c.review_level} 级")
        c.overdue = bool(c.due_on and c.due_on < today)
        c.due_today = c.due_on == today
    region = getattr(request.user.organisation, "fund_region_id", None) or getattr(
        request.user.organisation, "pk", None)
    return render(request, "claims/queue.html", {
        "page": page, "today": today, "unknown_label": UNKNOWN_LABEL, "f": f,
        "levels": levels_of(region) if region else [], "orgs": orgs[:300]})


class ReviewForm(forms.Form):
    # No decision is chosen for the reviewer: the first entry is blank, and the form sits below
    # the data it decides on.
    action = forms.ChoiceField(label="审核意见", choices=[
        ("", "请选择审核意见"), (ReviewAction.APPROVE, "审核通过"), (ReviewAction.RETURN, "退回补件"),
        (ReviewAction.REJECT, "不予给付"), (ReviewAction.ESCALATE, "提交上级")])
    reason_code = forms.ChoiceField(label="不予给付原因", required=False,
                                    choices=[("", "（不予给付时必选）"), *REJECT_REASONS.items()])
    note = forms.CharField(label="审核说明", required=False, max_length=500,
                           widget=forms.Textarea(attrs={"rows": 2}))


@login_required
@require_POST
def review(request: AuthedRequest, pk: int) -> HttpResponse:
    claim = claim_get_for_user(request.user, pk)
    form = ReviewForm(request.POST)
    if not form.is_valid():
        messages.error(request, "审核未提交：请选择审核意见")
        return redirect("claims:detail", pk=pk)
    d = form.cleaned_data
    try:
        claim = claim_review(claim, actor=request.user, action=d["action"],
                             reason_code=d["reason_code"], note=d["note"])
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("claims:detail", pk=pk)
    claim.refresh_from_db()
    messages.success(request, f"理赔 {pk} 已处理：{claim_state_label(claim)}")
    return redirect("claims:queue")


class AppealForm(forms.Form):
    note = forms.CharField(label="申诉理由", max_length=500, widget=forms.Textarea(attrs={"rows": 3}))


@login_required
@require_POST
def appeal(request: AuthedRequest, pk: int) -> HttpResponse:
    claim = claim_get_for_user(request.user, pk)
    if request.user.role != Role.MEMBER and not request.user.can(Perm.FILE_CLAIMS):
        raise PermissionDenied
    try:
        claim_appeal(claim, actor=request.user, note=request.POST.get("note", ""))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "申诉已提交，将由上级审核。")
    return redirect("claims:detail", pk=pk)


# --------------------------------------------------------------------------- documents


class MultiFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultiFileField(forms.FileField):
    """Several files in one input; their content is checked by the documents service."""

    def clean(self, data: Any, initial: Any = None) -> Any:
        if isinstance(data, list | tuple):
            return [super(MultiFileField, self).clean(d, initial) for d in data]
        return super().clean(data, initial)


class DocumentsForm(forms.Form):
    kind = forms.ChoiceField(label="材料类型", choices=DocumentKind.choices,
                             initial=DocumentKind.DISCHARGE)
    # A field, not BaseForm.files: the form's metaclass moves declared fields to base_fields.
    files = MultiFileField(label="材料文件（照片或 PDF，可多选）", required=False,
                            widget=MultiFileInput(attrs={"accept": "image/jpeg,image/png,application/pdf"})
                            )  # type: ignore[assignment]  # see above: not the uploaded files


CAMERA = {"accept": "image/*", "capture": "environment"}


def camera_ready(form: forms.Form) -> forms.Form:
    """A member files from the phone: the files input opens the camera (photos only)."""
    form.fields["files"].widget.attrs.update(CAMERA)
    form.fields["files"].label = "材料照片（点此拍照，可多张）"
    return form


def _uploaded(request: AuthedRequest, kind: str) -> list[tuple[str, str, bytes]]:
    out = []
    for f in request.FILES.getlist("files"):
        name = f.name or ""  # an uploaded file always has a name and a size
        if (f.size or 0) > MAX_BYTES:
            raise DomainError(f"“{name[:60]}”超过 {MAX_BYTES // 1024 // 1024} MB 上限",
                              field_errors={"files": [f"“{name[:60]}”超过 10 MB 上限"]})
        out.append((kind, name, f.read()))
    return out


def _may_file(user: Any) -> bool:
    return user.is_authenticated and user.can(Perm.FILE_CLAIMS)


@login_required
@require_POST
def documents_upload(request: AuthedRequest, pk: int) -> HttpResponse:
    """Add documents to a claim (e.g. after a return), and resubmit a returned claim."""
    claim = claim_get_for_user(request.user, pk)
    if not _may_file(request.user):
        raise PermissionDenied
    try:
        with atomic_events():
            files = _uploaded(request, request.POST.get("kind", DocumentKind.OTHER))
            if files:
                documents_add(claim=claim, files=files, actor=request.user)
            if request.POST.get("resubmit") and claim.status == ClaimStatus.RETURNED:
                claim_resubmit(claim, actor=request.user, note=request.POST.get("note", ""))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "材料已上传" + ("，理赔已重新提交审核" if request.POST.get("resubmit")
                                             else ""))
    return redirect("claims:detail", pk=pk)


@login_required
def document(request: AuthedRequest, pk: int, doc_id: int) -> HttpResponse:
    claim = claim_get_for_user(request.user, pk)
    doc = ClaimDocument.objects.filter(pk=doc_id, claim=claim).first()
    if doc is None:
        raise Http404
    return document_response(doc, request.user)


def document_response(doc: ClaimDocument, user: Any) -> HttpResponse:
    """A claim document (or a keyed stay's photo) decrypted for ``user``, recorded as seen,
    shown inline and never cached."""
    data = document_read(document=doc, actor=user)
    response = HttpResponse(data, content_type=doc.content_type)
    response["Content-Disposition"] = f"inline; filename=document-{doc.pk}"
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --------------------------------------------------------------------------- filing


class FindMemberForm(forms.Form):
    id_number = forms.CharField(label="会员身份证号", max_length=20)


@login_required
def file_start(request: AuthedRequest) -> HttpResponse:
    """Step 1: whose claim. A member files their own; an agent or agency point finds the
    member by ID number (posted, so the number never lands in a URL)."""
    if not _may_file(request.user):
        raise Http404
    if request.user.role == Role.MEMBER:
        return redirect("claims:file_member", member_id=request.user.member_id)
    form = FindMemberForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            rid = check_resident_id(form.cleaned_data["id_number"])
        except IdentifierError as exc:
            form.add_error("id_number", str(exc))
        else:
            member = members_visible_to(request.user).filter(
                id_number_bidx__in=blind_indexes(rid.number, field="id_number")).first()
            if member is None:
                form.add_error("id_number", "在您的管理范围内没有这位会员")
            else:
                return redirect("claims:file_member", member_id=member.pk)
    return render(request, "claims/file_start.html", {"form": form})


def _source_of(user: Any) -> str:
    return {Role.MEMBER: ClaimSource.MEMBER, Role.AGENT: ClaimSource.AGENT}.get(
        user.role, ClaimSource.AGENCY)


class FileForm(DocumentsForm):
    settlement = forms.ChoiceField(label="医保结算记录",
                                   widget=forms.Select(attrs={"style": "width:600px"}))
    product = forms.ChoiceField(label="申请的保障项目")

    def __init__(self, *args: Any, settlements: list[Settlement], products: list[tuple[str, str]],
                 claimed: Collection[str] = (), **kwargs: Any):
        """``claimed``: the setl_ids among ``settlements`` already claimed for some product."""
        super().__init__(*args, **kwargs)
        settlement, product = self.fields["settlement"], self.fields["product"]
        assert isinstance(settlement, forms.ChoiceField) and isinstance(product, forms.ChoiceField)
        settlement.choices = [
            (s.pk, f"{s.begndate:%Y-%m-%d} 至 {s.enddate:%Y-%m-%d} · {s.fixmedins_name} · "
                   f"医疗费 {s.medfee_sumamt_fen // 100:,}.{s.medfee_sumamt_fen % 100:02d} 元"
                   + ("（已申请其他保障项目）" if s.setl_id in claimed else ""))
            for s in settlements]
        product.choices = products
        self.order_fields(["settlement", "product", "kind", "files"])


@login_required
def file_member(request: AuthedRequest, member_id: int) -> HttpResponse:
    """Step 2: the settlement, the product and the documents."""
    if not _may_file(request.user):
        raise Http404
    member, _ = member_get_for_user(request.user, member_id)
    enrolled = (Enrollment.objects.filter(member=member, status=EnrollmentStatus.ACTIVE)
                .select_related("product_version").order_by("-period__coverage_start"))
    products: dict[str, str] = {}
    for e in enrolled:
        products.setdefault(e.product_version.code, e.product_version.name)
    # Only stays still open to a claim for some product the member holds: one claim per
    # settlement and product (a second filing is refused all the same, naming the first).
    recent = list(Settlement.objects.filter(member=member, is_current=True)
                  .order_by("-enddate")[:200])
    claimed: dict[str, set[str]] = {}
    for setl_id, code in Claim.objects.filter(
            setl_id__in=[x.setl_id for x in recent]).values_list("setl_id", "product_code"):
        claimed.setdefault(setl_id, set()).add(code)
    settlements = [x for x in recent if set(products) - claimed.get(x.setl_id, set())][:50]
    form = FileForm(request.POST or None, request.FILES or None, settlements=settlements,
                    products=list(products.items()),
                    claimed={x.setl_id for x in settlements if claimed.get(x.setl_id)})
    if request.user.role == Role.MEMBER:
        camera_ready(form)
    if request.method == "POST" and form.is_valid():
        s = next(x for x in settlements if str(x.pk) == form.cleaned_data["settlement"])
        try:
            with atomic_events():
                files = _uploaded(request, form.cleaned_data["kind"])
                claim = claim_file(member=member, settlement=s,
                                   product_code=form.cleaned_data["product"], actor=request.user,
                                   source=_source_of(request.user))
                if files:
                    documents_add(claim=claim, files=files, actor=request.user)
        except DomainError as exc:
            placed = False
            for field, msgs in exc.field_errors.items():
                for m in msgs:
                    form.add_error(field if field in form.fields else None, m)
                    placed = True
            if not placed:
                form.add_error(None, exc.message)
        else:
            claim.refresh_from_db()
            messages.success(request, f"理赔 {claim.pk} 已提交：{claim_state_label(claim)}")
            return redirect("claims:detail", pk=claim.pk)
    from .keyed import may_key

    return render(request, "claims/file.html", {
        "form": form, "member": member, "settlements": settlements, "products": products,
        "may_key": may_key(request.user)})


# --------------------------------------------------------------------------- the member's own


# The member's progress bar, by the state shown (an approved claim: its payment's).
MEMBER_STEPS = [
    ("已提交", {ClaimState.SUBMITTED}),
    ("审核中", {ClaimState.IN_REVIEW, ClaimState.RETURNED}),
    ("已核准", {ClaimState.APPROVED, ClaimState.PAYING, ClaimState.PAYMENT_FAILED}),
    ("已到账", {ClaimState.PAID}),
]


@login_required
def mine(request: AuthedRequest) -> HttpResponse:
    """A member's own claims, each with where it stands."""
    if request.user.role != Role.MEMBER:
        raise Http404
    from .story import claim_story

    rows = list(claims_shown(claims_visible_to(request.user))
                .select_related("product_version", "settlement", "assessment")
                .order_by("-id")[:100])
    for i, c in enumerate(rows):
        c.story = claim_story(c) if i < 20 else None
        reached = next((i for i, (_, s) in enumerate(MEMBER_STEPS) if c.shown_status in s),
                       None)
        c.steps = [(label, reached is not None and i <= reached)
                   for i, (label, _) in enumerate(MEMBER_STEPS)]
    return render(request, "claims/mine.html", {"claims": rows})


def review_context(user: Any, claim: Claim) -> dict[str, Any]:
    """What the claim page shows of review: the acts so far and whether this user may act."""
    from .review import may_act_at

    reviews = list(claim.reviews.select_related("actor").order_by("id"))
    for r in reviews:  # a reason by its Chinese name, never its code
        r.reason_zh = (REJECT_REASONS.get(r.reason_code, "")  # type: ignore[attr-defined]
                       if r.reason_code else "")
    doc_form = DocumentsForm()
    if user.role == Role.MEMBER:
        camera_ready(doc_form)
    ctx: dict[str, Any] = {"reviews": reviews,
                           "documents": claim.documents.order_by("id"),
                           "doc_form": doc_form, "may_file": _may_file(user)}
    if claim.status == ClaimStatus.IN_REVIEW:
        lv = level_of(claim)
        ctx["level"] = lv
        ctx["deadline_unknown"] = (UNKNOWN_LABEL if not deadline_known(
            claim.due_on, since=claim.level_since) else "")
        ctx["review_form"] = ReviewForm() if may_act_at(user, claim, lv) else None
    ctx["may_appeal"] = (claim.status == ClaimStatus.REJECTED and _may_file(user)
                         and not claim.reviews.filter(action=ReviewAction.APPEAL).exists())
    ctx["appeal_form"] = AppealForm()
    payout = claim.payouts.prefetch_related("lines__batch").first()
    ctx["payout"] = payout
    if payout is not None:
        from huzhu.payouts.services import payout_requeued_for_card

        ctx["payout_requeued"] = payout_requeued_for_card(payout)
    return ctx
