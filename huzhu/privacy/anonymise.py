"""Anonymising members after the retention period (TRUST S-26; PIPL art. 19 and 47).

A member whose last cover ended more than ``retention years`` ago, and who has nothing left
open (no claim in review or returned, no payment not yet paid, no benefit owed back), loses
every personal field the platform holds about them: name, ID number and its blind index,
phone, card, bank; in their settlement records the name, document number, birth date, the
bureau's person number, the diagnosis and the raw record; the account and name on their
payment lines; the phone on their messages; their claim documents (files deleted). What stays
is pseudonymous: the member row (with its id, birth year, gender, unit and flags), the
amounts, the ledger (never touched) and the event log (which only ever held masked values).

Each member is done in its own transaction, marked ``anonymised_at``; running again skips
those done and finishes those not yet done, so a run killed half way is repaired by the next.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from huzhu import clock
from huzhu.actors import Actor
from huzhu.audit.services import event_record
from huzhu.claims.models import Claim, ClaimDocument, ClaimEvent, Recovery, RecoveryStatus
from huzhu.claims.status import ClaimStatus
from huzhu.enrollment.models import Enrollment
from huzhu.members.models import Member
from huzhu.notices.models import OutboxMessage, OutboxStatus
from huzhu.payouts.models import Payout, PayoutLine, PayoutStatus
from huzhu.pii.crypto import blind_index
from huzhu.settlements.models import Settlement

ANONYMOUS_NAME = "已匿名化"
PURGED_FILE_NAME = "已按保存期限清除"

_OPEN_CLAIMS = (ClaimStatus.SUBMITTED, ClaimStatus.IN_REVIEW, ClaimStatus.RETURNED)
_OPEN_PAYOUTS = (PayoutStatus.PAYABLE, PayoutStatus.BATCHED, PayoutStatus.SENT,
                 PayoutStatus.FAILED)


def _token(member_id: int) -> str:
    return f"ANON-{member_id}"


def members_due(*, retention_years: int, today: datetime.date | None = None
                ) -> tuple[list[int], dict[str, int]]:
    """The ids of members whose retention period is over and who have nothing open, and how
    many were held back for each reason."""
    today = today or clock.today()
    try:
        cutoff = today.replace(year=today.year - retention_years)
    except ValueError:  # 29 February
        cutoff = today.replace(year=today.year - retention_years, day=28)
    last_cover = (Enrollment.objects.values("member_id")
                  .annotate(end=Max("period__coverage_end")))
    covered_since = {row["member_id"] for row in last_cover.filter(end__gte=cutoff)}
    start = timezone.make_aware(datetime.datetime.combine(cutoff, datetime.time()))
    candidates = set(Member.objects.filter(anonymised_at__isnull=True, created_at__lt=start)
                     .values_list("id", flat=True)) - covered_since
    held = {
        "理赔未办结": set(Claim.objects.filter(member_id__in=candidates, status__in=_OPEN_CLAIMS)
                     .values_list("member_id", flat=True)),
        "互助金未支付": set(Payout.objects.filter(member_id__in=candidates,
                                            status__in=_OPEN_PAYOUTS)
                       .values_list("member_id", flat=True)),
        "追回款未了结": set(Recovery.objects.filter(member_id__in=candidates,
                                              status=RecoveryStatus.PENDING)
                       .values_list("member_id", flat=True)),
    }
    kept = set().union(*held.values())
    return sorted(candidates - kept), {why: len(ids) for why, ids in held.items() if ids}


def _anonymise_one(member_id: int, actor: Actor) -> list[Path] | None:
    """Clear one member's personal data; return the document files to delete once committed
    (``None`` when the member was already anonymised)."""
    member = Member.objects.select_for_update().filter(
        pk=member_id, anonymised_at__isnull=True).first()
    if member is None:
        return None
    token = _token(member.pk)
    member.name = ANONYMOUS_NAME
    member.id_number = token
    member.id_number_bidx = blind_index(token, field="id_number")
    member.phone = None
    member.phone_bidx = ""
    member.bank_card = None
    member.bank_name = member.bank_cnaps = ""
    member.bank_card_warning_confirmed = False
    member.birth_date = member.birth_date.replace(month=1, day=1)
    member.anonymised_at = timezone.now()
    member.save()
    settlements = list(Settlement.objects.filter(member_id=member.pk))
    for s in settlements:
        s.raw = json.dumps({"setl_id": s.setl_id, "anonymised": True})
        s.psn_name = ""
        s.psn_no = ""
        s.certno = token
        s.certno_bidx = blind_index(token, field="id_number")
        s.brdy = None
        s.diag_code = None
        s.diag_name = None
    Settlement.objects.bulk_update(
        settlements, ["raw", "psn_name", "psn_no", "certno", "certno_bidx", "brdy",
                      "diag_code", "diag_name"])
    # A claim's related person (the ill relative, a death benefit's beneficiary; ADR 0016).
    ClaimEvent.objects.filter(claim__member_id=member.pk).update(
        disease=None, disease_name=None, person_name="",
        person_id_number=None, person_phone=None, payee_card=None, payee_bank="",
        payee_bank_cnaps="")
    lines = list(PayoutLine.objects.filter(payout__member_id=member.pk))
    for line in lines:
        line.account_no = token  # the column is required; the token names no account
        line.account_no_bidx = ""
        line.account_name = ANONYMOUS_NAME
        line.bank_name = ""
    PayoutLine.objects.bulk_update(lines, ["account_no", "account_no_bidx", "account_name",
                                           "bank_name"])
    messages = list(OutboxMessage.objects.filter(member_id=member.pk))
    for message in messages:
        message.phone = token
        message.params = {}
        if message.status in (OutboxStatus.PENDING, OutboxStatus.SENDING):
            message.status = OutboxStatus.FAILED
            message.last_error = "会员已匿名化，不再发送"
    OutboxMessage.objects.bulk_update(messages, ["phone", "params", "status", "last_error"])
    files = []
    from django.db.models import Q

    from huzhu.claims.models import KeyedStay

    KeyedStay.objects.filter(member_id=member.pk).update(diag_name=None, diag_code=None)
    for doc in ClaimDocument.objects.filter(
            Q(claim__member_id=member.pk) | Q(keyed__member_id=member.pk)).exclude(
            file_name=PURGED_FILE_NAME):
        files.append(Path(settings.DOCUMENTS_DIR) / doc.storage_name[:2] / doc.storage_name)
        doc.file_name = PURGED_FILE_NAME
        doc.save(update_fields=["file_name"])
    if hasattr(member, "user"):
        user = member.user
        user.is_active = False
        user.display_name = ""
        user.save(update_fields=["is_active", "display_name"])
    event_record(action="member.anonymised", actor=actor, obj=member,
                 after={"settlements": len(settlements), "payout_lines": len(lines),
                        "messages": len(messages), "documents": len(files)})
    return files


def members_anonymise(*, member_ids: Iterable[int], actor: Actor) -> int:
    """Anonymise the given members, one transaction each; documents are deleted after their
    member's transaction commits (a crash in between leaves an orphan file that the next run
    finds no row for and that holds only ciphertext)."""
    done = 0
    for member_id in member_ids:
        with transaction.atomic():
            files = _anonymise_one(member_id, actor)
        if files is None:
            continue
        for path in files:
            path.unlink(missing_ok=True)
        done += 1
    return done


def documents_purged(document: ClaimDocument) -> bool:
    return document.file_name == PURGED_FILE_NAME

