"""Documents filed with a claim: photos (JPEG, PNG) and PDFs, checked by their content, not
their name; at most :data:`MAX_BYTES` each and :data:`MAX_PER_CLAIM` a claim. The bytes are
sealed (``huzhu.pii.files``: AES-256-GCM, the claim document bound as associated data) under
``settings.DOCUMENTS_DIR`` (outside the web root) with a random name; reading one is an event.
"""

from __future__ import annotations

import hashlib
import secrets
from pathlib import Path
from typing import Any

from django.conf import settings

from huzhu.actors import Actor
from huzhu.audit.services import atomic_events, event_record
from huzhu.errors import DomainError
from huzhu.pii.files import sealed_read, sealed_write

from .models import Claim, ClaimDocument, DocumentKind, KeyedStay

MAX_BYTES = 10 * 1024 * 1024
MAX_PER_CLAIM = 20
AAD = "claims.claimdocument.content"

# (magic bytes, content type, extension)
SIGNATURES = (
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"%PDF-", "application/pdf", "pdf"),
)


class DocumentError(DomainError):
    code = "document_invalid"


def sniff(data: bytes) -> str | None:
    for magic, content_type, _ in SIGNATURES:
        if data.startswith(magic):
            return content_type
    return None


def _check(name: str, data: bytes) -> str:
    label = f"“{name[:60]}”"
    if not data:
        raise DocumentError(f"{label}是空文件", field_errors={"documents": [f"{label}是空文件"]})
    if len(data) > MAX_BYTES:
        msg = f"{label}超过 {MAX_BYTES // 1024 // 1024} MB 上限（{len(data) / 1024 / 1024:.1f} MB）"
        raise DocumentError(msg, field_errors={"documents": [msg]})
    content_type = sniff(data)
    if content_type is None:
        msg = f"{label}不是 JPEG、PNG 图片或 PDF 文件（按文件内容判断，与扩展名无关）"
        raise DocumentError(msg, field_errors={"documents": [msg]})
    if content_type == "application/pdf" and b"%%EOF" not in data[-2048:]:
        msg = f"{label}不是完整的 PDF 文件（文件可能已损坏或未上传完整）"
        raise DocumentError(msg, field_errors={"documents": [msg]})
    return content_type


def _path(storage_name: str) -> Path:
    return Path(settings.DOCUMENTS_DIR) / storage_name[:2] / storage_name


@atomic_events()
def documents_add(*, claim: Claim | None = None, files: list[tuple[str, str, bytes]],
                  actor: Actor, keyed: KeyedStay | None = None) -> list[ClaimDocument]:
    """Add ``(kind, file name, bytes)`` documents to a claim (or to a stay keyed from papers,
    before it has a claim); all or none. The same content twice on one claim is kept once."""
    owner: Any = claim if claim is not None else keyed
    assert owner is not None
    checked = []
    for kind, name, data in files:
        if kind not in DocumentKind.values:
            raise DocumentError(f"未知的材料类型：{kind}", field_errors={"kind": ["未知的材料类型"]})
        checked.append((kind, name, data, _check(name, data)))
    have = owner.documents.count()
    if have + len(checked) > MAX_PER_CLAIM:
        msg = f"每笔理赔最多 {MAX_PER_CLAIM} 份材料（已有 {have} 份）"
        raise DocumentError(msg, field_errors={"documents": [msg]})
    out, written = [], []
    try:
        for kind, name, data, content_type in checked:
            digest = hashlib.sha256(data).hexdigest()
            same = owner.documents.filter(sha256=digest).first()
            if same is not None:
                out.append(same)
                continue
            storage = secrets.token_hex(20)
            path = _path(storage)
            sealed_write(path, data, label=f"{AAD}:{storage}")
            written.append(path)
            doc = ClaimDocument.objects.create(
                claim=claim, keyed=keyed, kind=kind, file_name=Path(name).name[:200] or "材料",
                content_type=content_type, size=len(data), sha256=digest, storage_name=storage,
                uploaded_by=actor if getattr(actor, "pk", None) else None)
            event_record(action="claim.document", actor=actor, obj=owner,
                         after={"document": doc.pk, "kind": kind, "size": len(data),
                                "type": content_type})
            out.append(doc)
    except Exception:
        for path in written:  # nothing half-stored when the transaction rolls back
            path.unlink(missing_ok=True)
        raise
    return out


def document_read(*, document: ClaimDocument, actor: Actor) -> bytes:
    """The document's bytes, checked against its digest; every read is an event."""
    path = _path(document.storage_name)
    if not path.exists():  # removed when the member was anonymised (huzhu/privacy)
        raise DomainError("该材料已按保存期限清除", code="document_purged")
    data = sealed_read(path, label=f"{AAD}:{document.storage_name}")
    if hashlib.sha256(data).hexdigest() != document.sha256:
        raise DomainError("材料文件校验失败", code="document_corrupt")
    event_record(action="claim.document_viewed", actor=actor,
                 obj=document.claim if document.claim_id else document.keyed,
                 after={"document": document.pk})
    return data
