"""Product versions written in the browser (issue 14 part 4, ADR 0020): a draft is edited and
checked as ``huzhu rules check`` checks a file (problems in Chinese with their line), compared
with the version it replaces (a line diff and a sample claim explained under both), proposed by
one person and approved by another, who activates it from a date.

Activation stores the document as a new :class:`ProductVersion` (a stored version never changes;
a correction is a new version) and moves the offers of periods whose coverage starts on or after
that date from the old version to the new one. Enrollments already made keep their version and
every claim keeps the version it was assessed under (``Claim.product_version`` and each
``Assessment.product_version``); a correction of claims already assessed is ``huzhu claims
reassess``. Every step is an audited event with before and after.
"""

from __future__ import annotations

import datetime
import difflib
import hashlib
import re
import tomllib
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from huzhu.actors import Actor
from huzhu.audit.services import event_record
from huzhu.errors import DomainError

from .models import DraftStatus, Offer, ProductDraft, ProductVersion
from .services import product_from_document

_ENGLISH = re.compile(r"\s*\((?=[^()]*[A-Za-z])[^()\u4e00-\u9fff]*\)")
_TOML_AT = re.compile(r"\(at line (\d+), column (\d+)\)")
_KEY_PART = re.compile(r"^([A-Za-z0-9_-]+)(?:\[(\d+)\])?$")


@dataclass(frozen=True)
class Problem:
    line: int | None
    key: str
    message: str

    def __str__(self) -> str:
        where = f"第 {self.line} 行" if self.line else "文件"
        return f"{where}{'（' + self.key + '）' if self.key else ''}：{self.message}"


def _zh(problem: str) -> str:
    """The Chinese part of a catalog message (the reader adds an English gloss in brackets)."""
    text = _ENGLISH.sub("", problem).strip()
    return text or problem


def _line_of(document: str, key: str) -> int | None:
    """Best line for a catalog key path such as ``benefits[1].tiers`` (1-based)."""
    lines = document.splitlines()
    lo, hi, found = 0, len(lines), None
    table = ""
    for part in key.split("."):
        m = _KEY_PART.match(part)
        if not m:
            break
        name, index = m.group(1), m.group(2)
        table = f"{table}.{name}" if table else name
        if index is not None:
            header = re.compile(r"^\s*\[\[\s*" + re.escape(table) + r"\s*\]\]")
            hits = [i for i in range(lo, hi) if header.match(lines[i])]
            if int(index) < len(hits):
                start = hits[int(index)]
                nxt = [i for i in range(start + 1, hi) if lines[i].lstrip().startswith("[")
                       and not lines[i].lstrip().lstrip("[").startswith(table + ".")]
                lo, hi, found = start, (nxt[0] if nxt else hi), start + 1
                continue
        assign = re.compile(r"^\s*" + re.escape(name) + r"\s*=")
        header = re.compile(r"^\s*\[\[?\s*" + re.escape(table) + r"\s*\]\]?")
        hit = next((i for i in range(lo, hi) if assign.match(lines[i]) or header.match(lines[i])),
                   None)
        if hit is None:
            break
        found = hit + 1
        lo = hit
    return found


def check(code: str, document: str, lists: dict[str, str]) -> list[Problem]:
    """Every problem ``rules check`` finds in ``document`` read as ``<code>.toml``, in Chinese
    with its line number."""
    product, issues = product_from_document(code, document, lists)
    out = []
    for issue in issues:
        m = _TOML_AT.search(issue.problem)
        line = int(m.group(1)) if m else _line_of(document, issue.key)
        message = _zh(issue.problem)
        if m:
            message = "不是有效的 TOML：第 " + m.group(1) + " 行第 " + m.group(2) + " 列有语法错误"
        out.append(Problem(line, issue.key, message))
    return out


def document_version(document: str) -> str:
    try:
        return str(tomllib.loads(document).get("version", ""))
    except tomllib.TOMLDecodeError:
        return ""


def _state(d: ProductDraft) -> dict[str, Any]:
    return {"code": d.code, "version": d.version, "status": d.status,
            "effective_from": d.effective_from.isoformat() if d.effective_from else None,
            "document_sha256": hashlib.sha256(d.document.encode()).hexdigest()[:16],
            "lines": len(d.document.splitlines())}


def draft_save(*, actor: Actor, base: ProductVersion, document: str, org_path: str,
               draft: ProductDraft | None = None, source: str = "") -> ProductDraft:
    """Create or edit a draft of a new version of ``base``'s product. The document may still
    have problems (they are shown); its version must be new."""
    version = document_version(document) or (draft.version if draft else "")
    if draft is not None and draft.status not in (DraftStatus.DRAFT, DraftStatus.REJECTED):
        raise DomainError("草稿已提请审批或已启用，不能再修改", code="draft_locked")
    if not version:
        raise DomainError("规则文件须写明 version（新版本号）", code="draft_version")
    if version == base.version or ProductVersion.objects.filter(code=base.code,
                                                                version=version).exists():
        raise DomainError(f"版本号 {version} 已存在：新版本须使用新的版本号", code="draft_version")
    with transaction.atomic():
        before = _state(draft) if draft else None
        if draft is None:
            draft = ProductDraft.objects.create(
                code=base.code, base=base, version=version, document=document, source=source,
                org_path=org_path, created_by=actor if getattr(actor, "pk", None) else None)
        else:
            draft.document, draft.version, draft.status = document, version, DraftStatus.DRAFT
            draft.save(update_fields=["document", "version", "status", "updated_at"])
        event_record(action="product.draft_saved", actor=actor, obj=draft, before=before,
                     after={**_state(draft), "source": source or draft.source})
    return draft


def draft_propose(*, actor: Actor, draft: ProductDraft, effective_from: datetime.date
                  ) -> ProductDraft:
    """Ask for approval: only a draft without problems, activated from a date."""
    if draft.status not in (DraftStatus.DRAFT, DraftStatus.REJECTED):
        raise DomainError("只有草稿可以提请审批", code="draft_state")
    lists = draft.base.lists_document if draft.base else {}
    problems = check(draft.code, draft.document, lists)
    if problems:
        raise DomainError(f"规则文件还有 {len(problems)} 处问题，不能提请审批：{problems[0]}",
                          code="draft_invalid")
    with transaction.atomic():
        before = _state(draft)
        draft.status, draft.effective_from = DraftStatus.PROPOSED, effective_from
        draft.proposed_by = actor if getattr(actor, "pk", None) else None
        draft.proposed_at = timezone.now()
        draft.save()
        event_record(action="product.draft_proposed", actor=actor, obj=draft, before=before,
                     after=_state(draft))
    return draft


def draft_reject(*, actor: Actor, draft: ProductDraft, note: str) -> ProductDraft:
    if draft.status != DraftStatus.PROPOSED:
        raise DomainError("只有待审批的草稿可以退回", code="draft_state")
    if not note.strip():
        raise DomainError("退回须写明理由", code="draft_note")
    with transaction.atomic():
        before = _state(draft)
        draft.status, draft.decision_note = DraftStatus.REJECTED, note.strip()[:200]
        draft.decided_by = actor if getattr(actor, "pk", None) else None
        draft.decided_at = timezone.now()
        draft.save()
        event_record(action="product.draft_rejected", actor=actor, obj=draft, before=before,
                     after={**_state(draft), "note": draft.decision_note})
    return draft


def draft_approve(*, actor: Actor, draft: ProductDraft, note: str = "") -> ProductVersion:
    """The second person approves: the draft becomes a stored version, and the offers of
    periods starting on or after its date move to it (four eyes: never the proposer)."""
    pk = getattr(actor, "pk", None)
    with transaction.atomic():
        draft = ProductDraft.objects.select_for_update().get(pk=draft.pk)
        if draft.status != DraftStatus.PROPOSED:
            raise DomainError("只有待审批的草稿可以批准", code="draft_state")
        if pk is None or pk in (draft.proposed_by_id, draft.created_by_id):
            raise DomainError("提请人和起草人不能批准自己的草稿：须由另一人审批（双人复核）",
                              code="four_eyes")
        lists = draft.base.lists_document if draft.base else {}
        product, issues = product_from_document(draft.code, draft.document, lists)
        if product is None:
            raise DomainError("规则文件有问题，不能启用", code="draft_invalid")
        if ProductVersion.objects.filter(code=draft.code, version=product.version).exists():
            raise DomainError(f"版本号 {product.version} 已存在", code="draft_version")
        h = hashlib.sha256(draft.document.encode())
        for name, text in sorted(lists.items()):
            h.update(b"\0" + name.encode() + b"\0" + text.encode())
        version = ProductVersion.objects.create(
            code=draft.code, version=product.version, name=product.name,
            document=draft.document, lists_document=lists, digest=h.hexdigest())
        before = _state(draft)
        draft.status, draft.result, draft.decision_note = DraftStatus.APPROVED, version, note[:200]
        draft.decided_by, draft.decided_at = actor, timezone.now()
        draft.save()
        moved = []
        if draft.base is not None and draft.effective_from is not None:
            for offer in Offer.objects.filter(product_version=draft.base,
                                              period__coverage_start__gte=draft.effective_from,
                                              organisation__path__startswith=draft.org_path):
                offer.product_version = version
                offer.save(update_fields=["product_version"])
                moved.append(offer.pk)
        event_record(action="product.version_approved", actor=actor, obj=draft, before=before,
                     after={**_state(draft), "product_version": version.pk,
                            "offers_moved": moved, "note": note[:200]})
    return version


@dataclass(frozen=True)
class DiffLine:
    kind: str  # "same" | "added" | "removed" | "gap"
    old: int | None
    new: int | None
    text: str


def diff(old: str, new: str, context: int = 3) -> list[DiffLine]:
    """A line diff of two documents (changed lines with ``context`` lines around them)."""
    a, b = old.splitlines(), new.splitlines()
    out: list[DiffLine] = []
    for group in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_grouped_opcodes(context):
        if out:
            out.append(DiffLine("gap", None, None, "…"))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                out += [DiffLine("same", i1 + k + 1, j1 + k + 1, a[i1 + k]) for k in range(i2 - i1)]
                continue
            out += [DiffLine("removed", i + 1, None, a[i]) for i in range(i1, i2)]
            out += [DiffLine("added", None, j + 1, b[j]) for j in range(j1, j2)]
    return out
