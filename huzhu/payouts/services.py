"""Payouts: owed at approval, batched by one person, approved by another, sent, settled from
the bank's result file line by line. See ``models.py`` for the numbering rules and
``postings.py`` for what each step posts.

Batch states: 待复核 (draft) → 已复核待发送 (approved) → [send] 发送结果不明 (unknown: we
record this *before* calling the bank) → 已发送银行 (the bank acknowledged, or a query says it
has the batch) → 已全部回盘 (every line paid or failed). A batch whose answer was lost is only
queried; when the bank says it never received it, it may be sent again with the same numbers,
or abandoned (its lines fail and go back to payable).

Every status change of a payout, a line or a batch goes through ``status.py`` (one table of
allowed moves each; every payout move is a ``payout.transition`` event). No step here writes a
claim row: a claim's status ends at its approval, and the 支付中 / 已支付 / 支付失败 a person
sees is read from its benefit payout (``shown.py``). A top-up (补发) goes through the same
batches, bank files and results with its own payout status and changes what is shown of
nobody's claim. Steps run in ``atomic_events()``, so their events are appended last, after
the ledger's postings (ADR 0008).
"""

from __future__ import annotations

import datetime
import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.db.models import Case, CharField, Count, Exists, OuterRef, Q, Sum, Value, When
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from huzhu import clock
from huzhu.accounts.roles import Perm
from huzhu.actors import Actor
from huzhu.audit.services import atomic_events, event_record
from huzhu.claims.models import Assessment, Claim, ClaimEvent
from huzhu.claims.notify import card_tail, claim_notice, yuan_text
from huzhu.errors import DomainError, NotAllowed
from huzhu.members.models import Member
from huzhu.organisations.models import Organisation
from huzhu.pii.crypto import blind_index, index_matches

from . import bankfile, banklist, formats
from .channels import ACCEPTED, DONE, NOT_RECEIVED, BankChannel, BankRefused, BankUnknown
from .models import (
    BatchStatus,
    ExceptionKind,
    LineStatus,
    PayeeBank,
    Payout,
    PayoutBatch,
    PayoutDayClose,
    PayoutException,
    PayoutKind,
    PayoutLine,
    PayoutRegionSetting,
    PayoutStatus,
    ResultFile,
)
from .postings import post_line_failed, post_lines_paid, post_lines_sent
from .status import batch_move, lines_move, payouts_move

if TYPE_CHECKING:
    from huzhu.accounts.models import User

MAX_LINES = 5000


def card_index(card: str) -> str:
    return blind_index(card_digits(card), field="bank_card")


def card_digits(card: str) -> str:
    return "".join(ch for ch in card if ch.isdigit())


def card_matches(card: str, stored: str) -> bool:
    """Whether ``stored`` is the blind index of ``card``, under whichever index key made it."""
    return index_matches(card_digits(card), stored, field="bank_card")


def _need(actor: Actor) -> User:
    """The finance user ``actor`` is; refuses anyone else (and the system)."""
    if actor is None or not getattr(actor, "is_authenticated", False) \
            or not actor.can(Perm.MANAGE_PAYOUTS):
        raise NotAllowed("无权办理代付批次")
    return actor


def _clock() -> tuple[datetime.date, datetime.datetime]:
    """The business date and the timestamp of one payout step, from one reading of the clock,
    so a line's ``sent_at``/``result_at`` and its posting fall on the same local day."""
    now = clock.now()
    return clock.today(now), now


def day_end(day: datetime.date) -> datetime.datetime:
    """The first instant after the Beijing ``day``."""
    return clock.day_start(day + datetime.timedelta(days=1))


def _day_open(region: Organisation, on: datetime.date) -> None:
    """Refuse a step that would post payout money on a day finance has closed (日结).

    Takes the fund region's row lock, as ``payout_day_close`` does, so a close and a posting
    cannot pass each other: whichever comes second sees the other.
    """
    Organisation.objects.select_for_update().filter(pk=region.pk).first()
    if PayoutDayClose.objects.filter(fund_region=region, date=on).exists():
        raise DomainError(f"{region.name} {on:%Y-%m-%d} 的代付已日结，当日不能再发送批次、导入回盘"
                          "或放弃批次；请于下一个未日结的日期办理", code="day_closed")


# --------------------------------------------------------------------------- payouts


def payout_create(*, claim: Claim) -> Payout:
    """The one payout of an approved claim (a unique constraint makes it so)."""
    found = Payout.objects.filter(claim=claim, kind="benefit").first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return Payout.objects.create(claim=claim, member_id=claim.member_id,
                                         amount_fen=claim.payable_fen, org_path=claim.org_path,
                                         fund_region_id=claim.fund_region_id)
    except IntegrityError:
        return Payout.objects.get(claim=claim, kind="benefit")


def payout_top_up_create(*, claim: Claim, assessment: Assessment, amount_fen: int) -> Payout:
    """The top-up (补发) payout of one corrected assessment: created once (a unique
    constraint), payable like any payout, batched and paid by the same path."""
    found = Payout.objects.filter(kind=PayoutKind.TOP_UP, assessment=assessment).first()
    if found is not None:
        return found
    return Payout.objects.create(claim=claim, kind=PayoutKind.TOP_UP, assessment=assessment,
                                 member_id=claim.member_id, amount_fen=amount_fen,
                                 org_path=claim.org_path, fund_region_id=claim.fund_region_id)


def _period_code(claim: Claim | None) -> str:
    if claim is None:  # a consolation payment: its payable has no period
        return ""
    period = claim.period
    return period.code if period is not None else ""


# --------------------------------------------------------------------------- batches


@dataclass
class BuildReport:
    batch: PayoutBatch | None
    skipped_no_card: list[int] = field(default_factory=list)  # payout ids


@atomic_events()
def batch_build(*, fund_region: Organisation, actor: Actor, limit: int = MAX_LINES) -> BuildReport:
    """Gather payable payouts of a fund region into a new draft batch (the maker's step)."""
    actor = _need(actor)
    payouts = list(Payout.objects.select_for_update().filter(
        fund_region=fund_region, status=PayoutStatus.PAYABLE).order_by("id")[:limit])
    members = {m.pk: m for m in Member.objects.filter(pk__in={p.member_id for p in payouts})}
    # A death benefit is paid to its beneficiary's card, not the member's (ADR 0016).
    payees = {e.claim_id: e for e in ClaimEvent.objects.filter(
        claim_id__in=[p.claim_id for p in payouts if p.claim_id], payee_card__isnull=False)}
    ready, report = [], BuildReport(batch=None)
    for p in payouts:
        m = members[p.member_id]
        ev = payees.get(p.claim_id) if p.claim_id else None
        payee = (ev.person_name, ev.payee_card or "", ev.payee_bank,
                 ev.payee_bank_cnaps) if ev else (
            m.name, m.bank_card or "", m.bank_name, m.bank_cnaps)
        if not payee[1]:
            report.skipped_no_card.append(p.pk)
        else:
            ready.append((p, payee))
    if not ready:
        return report
    setting = PayoutRegionSetting.objects.filter(fund_region=fund_region).select_related(
        "payer_bank").first()
    payer_bank = setting.payer_bank if setting is not None else None
    batch = PayoutBatch.objects.create(
        number=f"tmp-{timezone.now().timestamp()}-{actor.pk}", fund_region=fund_region,
        made_by=actor, adapter=setting.adapter if setting is not None else "generic-csv",
        payer_account=setting.payer_account if setting is not None else "",
        payer_name=setting.payer_name if setting is not None else "",
        payer_bank_name=payer_bank.name if payer_bank is not None else "",
        payer_bank_cnaps=payer_bank.cnaps if payer_bank is not None else "")
    batch.number = f"PB{clock.today():%Y%m%d}{batch.pk:06d}"
    lines = []
    banks: dict[str, PayeeBank | None] = {}
    chosen: dict[str, PayeeBank | None] = {}
    for n, (p, (name, raw_card, bank_text, bank_cnaps)) in enumerate(ready, 1):
        card = "".join(ch for ch in raw_card if ch.isdigit())
        if bank_cnaps:
            # The entry the 开户行 was chosen as (member page, portal, roster match): taken
            # as it is, no text matching; one that has since left the list is left for staff.
            if bank_cnaps not in chosen:
                chosen[bank_cnaps] = banklist.by_cnaps(bank_cnaps)
            bank = chosen[bank_cnaps]
        else:
            if bank_text not in banks:
                banks[bank_text] = banklist.match(bank_text)
            bank = banks[bank_text]
        lines.append(PayoutLine(batch=batch, payout=p, out_detail_no=f"{batch.number}-{n:06d}",
                                amount_fen=p.amount_fen, account_no=card,
                                account_no_bidx=card_index(card), account_name=name,
                                bank_name=bank_text,
                                bank_cnaps=bank.cnaps if bank is not None else ""))
    PayoutLine.objects.bulk_create(lines, batch_size=1000)
    payouts_move([p.pk for p, _ in ready], PayoutStatus.BATCHED, actor=actor,
                 reason=f"batch:{batch.number}")
    batch.line_count, batch.total_fen = len(lines), sum(ln.amount_fen for ln in lines)
    PayoutBatch.objects.filter(pk=batch.pk).update(number=batch.number,
                                                   line_count=batch.line_count,
                                                   total_fen=batch.total_fen)
    event_record(action="payout.batch_built", actor=actor, obj=batch, org_path=fund_region.path,
                 after={"number": batch.number, "lines": batch.line_count,
                        "total_fen": batch.total_fen, "no_card": len(report.skipped_no_card),
                        "adapter": batch.adapter,
                        "bank_unmatched": sum(1 for ln in lines if not ln.bank_cnaps)})
    report.batch = batch
    return report


def _locked(batch: PayoutBatch) -> PayoutBatch:
    return PayoutBatch.objects.select_for_update().get(pk=batch.pk)


@atomic_events()
def batch_approve(*, batch: PayoutBatch, actor: Actor, override_reason: str = "") -> PayoutBatch:
    """The checker's step: another person than the maker approves the draft. A batch the fund
    account cannot cover (:mod:`huzhu.payouts.balance`) is refused with the figures unless the
    checker gives ``override_reason``."""
    from .balance import fund_cover

    actor = _need(actor)
    # The region's batches are approved one at a time, so two checkers cannot each count the
    # same money as still free.
    Organisation.objects.select_for_update().filter(pk=batch.fund_region_id).first()
    b = _locked(batch)
    if b.status != BatchStatus.DRAFT:
        raise DomainError(f"批次状态为“{b.get_status_display()}”，不能复核")
    if b.made_by_id == actor.pk:
        raise NotAllowed("制单人不能复核自己的批次（须由另一人复核）")
    found = file_problems(b)
    if found:
        raise DomainError("银行文件不能生成，不能复核：" + "；".join(found[:20]),
                          code="bank_file_refused")
    cover = fund_cover(b)
    reason = override_reason.strip()[:300]
    if not cover.ok and not reason:
        raise DomainError(f"余额不足，不能复核：{cover.explain()}。如确需发送，请复核人填写超额发送理由。",
                          code="fund_balance_short")
    now = timezone.now()
    batch_move(b.pk, BatchStatus.APPROVED, checked_by=actor, checked_at=now)
    after: dict[str, object] = {"number": b.number, **cover.figures()}
    if not cover.ok:
        PayoutBatch.objects.filter(pk=b.pk).update(over_balance_reason=reason)
        b.over_balance_reason = reason
        after["over_balance_reason"] = reason
    event_record(action="payout.batch_approved", actor=actor, obj=b,
                 org_path=b.fund_region.path, after=after)
    b.status, b.checked_by, b.checked_at = BatchStatus.APPROVED, actor, now
    return b


@atomic_events()
def batch_cancel(*, batch: PayoutBatch, actor: Actor) -> PayoutBatch:
    """Void a batch that never went to the bank; its payouts are payable again."""
    _need(actor)
    b = _locked(batch)
    if b.status not in (BatchStatus.DRAFT, BatchStatus.APPROVED):
        raise DomainError("已发送银行的批次不能作废；银行未收到的批次请用“放弃重发”")
    ids = list(b.lines.values_list("payout_id", flat=True))
    lines_move(b.lines.values_list("pk", flat=True), LineStatus.CANCELLED)
    payouts_move(ids, PayoutStatus.PAYABLE, frm=[PayoutStatus.BATCHED], actor=actor,
                 reason=f"batch_cancelled:{b.number}")
    batch_move(b.pk, BatchStatus.CANCELLED, closed_at=timezone.now())
    event_record(action="payout.batch_cancelled", actor=actor, obj=b,
                 org_path=b.fund_region.path, after={"number": b.number})
    b.status = BatchStatus.CANCELLED
    return b


def file_batch(batch: PayoutBatch) -> formats.FileBatch:
    """The batch as its bank file states it: the payer as it was when the batch was made, each
    line's payee bank by its bank-list entry (name, province, city) when it has one."""
    lines = list(batch.lines.exclude(status=LineStatus.CANCELLED).select_related("payout")
                 .order_by("id"))
    banks = {b.cnaps: b for b in PayeeBank.objects.filter(
        cnaps__in={ln.bank_cnaps for ln in lines if ln.bank_cnaps})}
    out = []
    for ln in lines:
        bank = banks.get(ln.bank_cnaps)
        out.append(formats.FileLine(
            formats.seq_of(ln.out_detail_no), ln.out_detail_no, ln.account_no, ln.account_name,
            bank.name if bank is not None else ln.bank_name, ln.bank_cnaps,
            bank.province if bank is not None else "", bank.city if bank is not None else "",
            ln.amount_fen, _memo(ln.payout)))
    return formats.FileBatch(
        batch.number, clock.today(batch.created_at),
        formats.Payer(batch.payer_account, batch.payer_name, batch.payer_bank_name,
                      batch.payer_bank_cnaps), out)


def file_problems(batch: PayoutBatch) -> list[str]:
    """What stops the batch's bank file from being made (each naming its line)."""
    return formats.problems(formats.get(batch.adapter), file_batch(batch))


def batch_file(batch: PayoutBatch) -> bytes:
    """The bank file of a batch in its bank's format; the same bytes every time it is asked
    for, and only once checked against the batch (count, total, every line)."""
    return formats.release(formats.get(batch.adapter), file_batch(batch),
                           line_count=batch.line_count, total_fen=batch.total_fen)


@atomic_events()
def line_bank_set(*, batch: PayoutBatch, line_id: int, cnaps: str, actor: Actor) -> PayoutLine:
    """Staff pick a draft line's payee bank from the bank list; the roster's 开户行 text is
    remembered with it (:class:`BankNameMatch`), so later batches match it by themselves."""
    from .models import BankNameMatch

    actor = _need(actor)
    b = _locked(batch)
    if b.status != BatchStatus.DRAFT:
        raise DomainError("只有待复核的批次可以更改收款开户行")
    ln = PayoutLine.objects.select_for_update().filter(batch=b, pk=line_id).first()
    if ln is None:
        raise DomainError("该明细不属于本批次")
    bank = banklist.by_cnaps(cnaps)
    if bank is None:
        raise DomainError(f"银行名录中没有联行号 {cnaps[:20]}",
                          field_errors={"cnaps": ["请从银行名录中选择"]})
    before = ln.bank_cnaps
    PayoutLine.objects.filter(pk=ln.pk).update(bank_cnaps=bank.cnaps)
    text = banklist.normalise(ln.bank_name)[:100]
    if text:
        BankNameMatch.objects.update_or_create(text=text, defaults={"bank": bank,
                                                                    "chosen_by": actor})
    event_record(action="payout.line_bank_set", actor=actor, obj=b, org_path=b.fund_region.path,
                 before={"line": ln.out_detail_no, "bank_cnaps": before},
                 after={"line": ln.out_detail_no, "bank_cnaps": bank.cnaps,
                        "bank": bank.name, "text": text})
    ln.bank_cnaps = bank.cnaps
    return ln


def _memo(p: Payout) -> str:
    return f"理赔 {p.claim_id}" if p.claim_id else f"慰问金 {p.consolation_id}"


@atomic_events()
def _mark_sent(b: PayoutBatch, actor: Actor) -> None:
    """Everything that must be true before the bank may have the file: lines and payouts in
    flight, the ledger, and the batch recorded as 'answer unknown'."""
    on, now = _clock()
    _day_open(b.fund_region, on)
    lines = list(b.lines.filter(status=LineStatus.PENDING)
                 .select_related("payout__claim__period"))
    ids = [ln.pk for ln in lines]
    lines_move(ids, LineStatus.SENT)
    payouts_move([ln.payout_id for ln in lines], PayoutStatus.SENT, actor=actor,
                 reason=f"batch:{b.number}")
    post_lines_sent(region=b.fund_region, lines=[
        (ln, _period_code(ln.payout.claim)) for ln in lines],
        on=on, actor=actor)
    content = batch_file(b)
    batch_move(b.pk, BatchStatus.UNKNOWN, sent_at=now,
               file_sha256=hashlib.sha256(content).hexdigest())


def batch_send(*, batch: PayoutBatch, actor: Actor, channel: BankChannel) -> PayoutBatch:
    """Send an approved batch (or, after the bank said it never received it, the same batch
    with the same numbers again). A lost answer leaves it UNKNOWN: query it."""
    _need(actor)
    with atomic_events():
        b = _locked(batch)
        if b.status == BatchStatus.UNKNOWN:
            raise DomainError("该批次发送结果不明，只能向银行查询，不能重发")
        if b.status not in (BatchStatus.APPROVED, BatchStatus.NOT_RECEIVED):
            raise DomainError(f"批次状态为“{b.get_status_display()}”，不能发送")
        first = b.status == BatchStatus.APPROVED
        if first:
            from .balance import fund_cover

            cover = fund_cover(b)
            if not cover.ok and not b.over_balance_reason:
                raise DomainError(f"余额不足，不能发送：{cover.explain()}。请作废本批次，"
                                  f"或待到账后再发送。", code="fund_balance_short")
            _mark_sent(b, actor)
        else:
            batch_move(b.pk, BatchStatus.UNKNOWN, frm=[BatchStatus.NOT_RECEIVED])
        PayoutBatch.objects.filter(pk=b.pk).update(send_attempts=b.send_attempts + 1)
        event_record(action="payout.batch_sent", actor=actor, obj=b,
                     org_path=b.fund_region.path,
                     after={"number": b.number, "attempt": b.send_attempts + 1})
    b.refresh_from_db()
    content = batch_file(b)
    if hashlib.sha256(content).hexdigest() != b.file_sha256:
        raise DomainError("批次文件与首次发送时不一致，拒绝发送")  # numbers never change
    try:
        channel.submit(b.number, content)
    except BankUnknown:
        return b
    except BankRefused as exc:
        batch_move(b.pk, BatchStatus.NOT_RECEIVED, frm=[BatchStatus.UNKNOWN])
        event_record(action="payout.batch_refused", actor=actor, obj=b,
                     org_path=b.fund_region.path, after={"reason": str(exc)[:200]})
    else:
        batch_move(b.pk, BatchStatus.SENT, frm=[BatchStatus.UNKNOWN])
    b.refresh_from_db()
    return b


def batch_query(*, batch: PayoutBatch, actor: Actor, channel: BankChannel) -> PayoutBatch:
    """Ask the bank what became of a batch; import its result when it has one."""
    b = PayoutBatch.objects.get(pk=batch.pk)
    if b.status not in (BatchStatus.UNKNOWN, BatchStatus.SENT, BatchStatus.NOT_RECEIVED):
        return b
    answer = channel.query(b.number)
    if answer.state == NOT_RECEIVED:
        batch_move(b.pk, BatchStatus.NOT_RECEIVED, frm=[BatchStatus.UNKNOWN])
    elif answer.state in (ACCEPTED, DONE):
        batch_move(b.pk, BatchStatus.SENT, frm=[BatchStatus.UNKNOWN, BatchStatus.NOT_RECEIVED])
    if answer.state == DONE and answer.result:
        result_import(batch=b, data=answer.result, file_name=f"{b.number}-query.{formats.get(b.adapter).extension}",
                      actor=actor)
    b.refresh_from_db()
    return b


@atomic_events()
def batch_abandon(*, batch: PayoutBatch, actor: Actor, reason: str = "") -> PayoutBatch:
    """The bank never received the batch and it will not be sent again: its lines fail, the
    ledger takes them back to payable, and the payouts may go into a new batch."""
    _need(actor)
    b = _locked(batch)
    if b.status != BatchStatus.NOT_RECEIVED:
        raise DomainError("只有银行确认未收到的批次可以放弃")
    why = reason or "银行未收到批次，已放弃"
    on, now = _clock()
    _day_open(b.fund_region, on)
    lines = list(b.lines.filter(status=LineStatus.SENT).select_related("payout"))
    _fail_lines(lines, why, actor, on=on, now=now, requeue=True)
    batch_move(b.pk, BatchStatus.DONE, frm=[BatchStatus.NOT_RECEIVED], closed_at=now)
    event_record(action="payout.batch_abandoned", actor=actor, obj=b,
                 org_path=b.fund_region.path, after={"number": b.number, "reason": why})
    b.refresh_from_db()
    return b


# --------------------------------------------------------------------------- results


def _fail_lines(lines: list[PayoutLine], reasons: dict[int, str] | str, actor: Actor, *,
                on: datetime.date, now: datetime.datetime, requeue: bool = False) -> None:
    for ln in lines:
        ln.fail_reason = (reasons if isinstance(reasons, str) else reasons[ln.pk])[:200]
        lines_move([ln.pk], LineStatus.FAILED, fail_reason=ln.fail_reason, result_at=now)
        post_line_failed(line=ln, on=on, actor=actor)
    payout_ids = [ln.payout_id for ln in lines]
    if requeue:
        payouts_move(payout_ids, PayoutStatus.PAYABLE, frm=[PayoutStatus.SENT], actor=actor,
                     reason="requeued")
        return
    payouts_move(payout_ids, PayoutStatus.FAILED, actor=actor, reason="bank_failed")
    claims = {c.pk: c for c in Claim.objects.filter(pk__in=[ln.payout.claim_id for ln in lines])
              .select_related("member", "product_version")}
    for ln in lines:
        if ln.payout.claim_id is None:
            continue  # a consolation payment: staff correct the card and requeue it
        claim_notice(claims[ln.payout.claim_id], "CLAIM_PAY_FAILED", f"payout-failed:{ln.pk}",
                     amount=yuan_text(ln.amount_fen), card=card_tail(ln.account_no),
                     reason=ln.fail_reason[:30])


def consolation_paid_notice(ln: PayoutLine, on: datetime.date) -> None:
    """The member told their consolation payment (慰问金) is paid."""
    from huzhu.notices.services import notice_enqueue

    m = ln.payout.member
    notice_enqueue(key=f"consolation-paid:{ln.payout.consolation_id}",
                   template="CONSOLATION_PAID", phone=m.phone or "",
                   params={"name": m.name, "amount": yuan_text(ln.amount_fen),
                           "date": f"{on:%Y-%m-%d}", "card": card_tail(ln.account_no)},
                   member_id=m.pk, org_path=ln.payout.org_path)


def _paid_lines(lines: list[tuple[PayoutLine, str]], actor: Actor, *, on: datetime.date,
                now: datetime.datetime) -> None:
    for ln, ref in lines:
        ln.bank_ref = ref
        lines_move([ln.pk], LineStatus.PAID, bank_ref=ref, result_at=now)
    done = [ln for ln, _ in lines]
    if not done:
        return
    post_lines_paid(region=done[0].batch.fund_region, lines=done, on=on, actor=actor)
    payouts_move([ln.payout_id for ln in done], PayoutStatus.PAID, actor=actor,
                 reason="bank_paid", paid_at=now)
    claims = {c.pk: c for c in Claim.objects.filter(pk__in=[ln.payout.claim_id for ln in done])
              .select_related("member", "product_version")}
    for ln in done:
        if ln.payout.claim_id is None:
            consolation_paid_notice(ln, on)
            continue
        key = (f"claim-paid:{ln.payout.claim_id}" if ln.payout.kind == PayoutKind.BENEFIT
               else f"topup-paid:{ln.payout_id}")
        claim_notice(claims[ln.payout.claim_id], "CLAIM_PAID", key,
                     amount=yuan_text(ln.amount_fen), date=f"{on:%Y-%m-%d}",
                     card=card_tail(ln.account_no))


def _refuse_lines_not_of(batch: PayoutBatch, parsed: list[bankfile.ResultLine]) -> None:
    """Refuse a result file that is not the given batch's: its 批次号 must be the batch's
    number (the file names one batch, ``parse_result`` sees to that). Nothing is said of the
    batch the file does name: it may be another fund region's."""
    first = parsed[0]
    if first.batch_no != batch.number:
        raise bankfile.BankFileError([
            f"第 {first.row} 行“批次号” {first.batch_no[:32]} 不是本批次的批次号 {batch.number}："
            "回盘文件只能在其所属批次的页面导入"])


@atomic_events()
def result_import(*, batch: PayoutBatch, data: bytes, file_name: str, actor: Actor) -> ResultFile:
    """Apply a bank result file to ``batch``, the batch it was uploaded for (TRUST R-11, R-12).

    ``batch`` is the caller's, already scoped to the user (the batch page the file was
    uploaded on, ``access.batch_get_for_user``), never the batch number written in the file:
    a file whose 批次号 is not that batch's, or with a line whose 明细号 is not one of that
    batch's lines, is refused whole. So is a malformed file (:class:`bankfile.BankFileError`,
    which includes a blank 收款账号 or 收款户名); a refused file changes nothing. The same file
    again returns the first import. Each line is matched by ``out_detail_no``: a paid line
    posts the payment, a failed one goes back to payable with a reversing entry and the member
    is asked to correct the card; a line repeated with the result already recorded is a no-op;
    an amount or account not as sent, a result contradicting the one recorded, or a line never
    sent is an exception that moves no money. "处理中" lines stay in flight.
    """
    digest = hashlib.sha256(data).hexdigest()
    seen = ResultFile.objects.filter(sha256=digest).first()
    if seen is not None and seen.batch_id == batch.pk:
        return seen
    # The same bytes imported for another batch name that batch: refused just below.
    parsed = formats.get(batch.adapter).parse_result(data, batch.number)
    _refuse_lines_not_of(batch, parsed)
    b = _locked(batch)
    if getattr(actor, "is_authenticated", False):
        _need(actor)
    seen = ResultFile.objects.filter(sha256=digest).first()  # imported while we waited
    if seen is not None and seen.batch_id == b.pk:
        return seen
    known = {ln.out_detail_no: ln for ln in PayoutLine.objects.select_for_update().filter(
        batch=b, out_detail_no__in=[r.out_detail_no for r in parsed]).select_related(
            "payout", "batch")}
    strangers = [r for r in parsed if r.out_detail_no not in known]
    if strangers:
        raise bankfile.BankFileError([
            f"第 {r.row} 行“明细号” {r.out_detail_no[:40]} 不是本批次 {b.number} 的明细"
            for r in strangers])
    on, now = _clock()
    _day_open(b.fund_region, on)  # its exceptions, too, belong to the day it is imported
    result = ResultFile.objects.create(batch=b, file_name=file_name[:200], sha256=digest,
                                       lines=len(parsed),
                                       imported_by=actor if getattr(actor, "pk", None) else None)
    paid: list[tuple[PayoutLine, str]] = []
    failed: list[PayoutLine] = []
    reasons: dict[int, str] = {}
    exceptions: list[PayoutException] = []
    repeated = 0
    touched: set[str] = set()

    def exc(r: bankfile.ResultLine, kind: str, detail: str) -> None:
        exceptions.append(PayoutException(result=result, batch=b, row=r.row,
                                          out_detail_no=r.out_detail_no[:40], kind=kind,
                                          detail=detail[:300]))

    for r in parsed:
        ln = known[r.out_detail_no]  # every line is this batch's (checked above)
        if r.amount_fen != ln.amount_fen:
            exc(r, ExceptionKind.AMOUNT_MISMATCH,
                f"回盘金额 {bankfile.fen_to_yuan(r.amount_fen)} 元，发送金额 "
                f"{bankfile.fen_to_yuan(ln.amount_fen)} 元")
            continue
        if not card_matches(r.account_no, ln.account_no_bidx):  # never blank (parse_result)
            exc(r, ExceptionKind.ACCOUNT_MISMATCH, "回盘收款账号与发送的不一致")
            continue
        if r.outcome == "processing":
            continue
        finals: dict[str, str] = {LineStatus.PAID: "paid", LineStatus.FAILED: "failed"}
        final = finals.get(ln.status)
        if final is not None or r.out_detail_no in touched:
            recorded = final or ("paid" if any(p is ln for p, _ in paid) else "failed")
            if recorded == r.outcome:
                repeated += 1
            else:
                exc(r, ExceptionKind.CONFLICT,
                    f"已记录为{'成功' if recorded == 'paid' else '失败'}，本次回盘为"
                    f"{'成功' if r.outcome == 'paid' else '失败'}")
            continue
        if ln.status != LineStatus.SENT:
            exc(r, ExceptionKind.NOT_SENT, f"明细状态为“{ln.get_status_display()}”，尚未发送")
            continue
        touched.add(r.out_detail_no)
        if r.outcome == "paid":
            paid.append((ln, r.bank_ref))
        else:
            failed.append(ln)
            reasons[ln.pk] = r.reason
    _paid_lines(paid, actor, on=on, now=now)
    if failed:
        _fail_lines(failed, reasons, actor, on=on, now=now)
    PayoutException.objects.bulk_create(exceptions)
    ResultFile.objects.filter(pk=result.pk).update(paid=len(paid), failed=len(failed),
                                                   repeated=repeated, exceptions=len(exceptions))
    if b.status in (BatchStatus.UNKNOWN, BatchStatus.NOT_RECEIVED):
        batch_move(b.pk, BatchStatus.SENT, frm=[b.status])  # the bank evidently has it
        b.status = BatchStatus.SENT
    if b.status != BatchStatus.DONE and not b.lines.filter(
            status__in=[LineStatus.PENDING, LineStatus.SENT]).exists():
        batch_move(b.pk, BatchStatus.DONE, frm=[b.status], closed_at=now)
        b.status, b.closed_at = BatchStatus.DONE, now
    event_record(action="payout.result_imported", actor=actor, obj=b,
                 org_path=b.fund_region.path,
                 after={"file": file_name[:80], "paid": len(paid), "failed": len(failed),
                        "repeated": repeated, "exceptions": len(exceptions)})
    result.refresh_from_db()
    return result


CARD_CORRECTED = "银行卡已更正"


def _card_corrected(p: Payout, card: str) -> bool:
    """Whether ``card`` differs (by blind index) from the card the payout's last failed line
    was sent to."""
    last = p.lines.filter(status=LineStatus.FAILED).order_by("-id").first()
    return last is None or not card_matches(card, last.account_no_bidx)


def _requeue(p: Payout, *, actor: Actor, card: str, corrected: bool, reason: str) -> None:
    """Put a locked, failed payout back to payable (so its claim shows 已核准待支付 again, not
    支付失败): the move and a ``payout.requeued`` event name who and why, and when the card was corrected the member is told the money
    will go to the new card. Nothing is posted: the failure's reversal already made the amount
    payable again (R-11). The SMS key counts the payout's failed lines, so each requeue has
    its own message and a repeated call none."""
    payouts_move([p.pk], PayoutStatus.PAYABLE, frm=[PayoutStatus.FAILED], actor=actor,
                 reason=reason)
    event_record(action="payout.requeued", actor=actor, obj=p,
                 after={"claim": p.claim_id, "reason": reason[:100],
                        "card_corrected": corrected})
    if corrected and p.claim_id is not None:
        n = p.lines.filter(status=LineStatus.FAILED).count()
        claim = Claim.objects.select_related("member", "product_version").get(pk=p.claim_id)
        claim_notice(claim, "PAYOUT_REQUEUED", f"payout-requeued:{p.pk}:{n}",
                     amount=yuan_text(p.amount_fen), card=card_tail(card))
    p.status = PayoutStatus.PAYABLE


@atomic_events()
def payout_requeue(*, payout: Payout, actor: Actor, confirm_same_card: str = "") -> Payout:
    """A failed payout goes back to payable once the member's card was corrected (or staff
    confirm, with a reason, that the same card is right)."""
    _need(actor)
    p = Payout.objects.select_for_update().get(pk=payout.pk)
    if p.status != PayoutStatus.FAILED:
        raise DomainError("只有支付失败的款项可以重新支付")
    payee = _payee_card(p)
    card = payee if payee is not None else (p.member.bank_card or "")
    if not card:
        raise DomainError("会员尚未登记银行卡，请先更正银行卡信息")
    corrected = _card_corrected(p, card)
    if not corrected and not confirm_same_card:
        raise DomainError("银行卡号与支付失败时相同：请先更正" + (
            "受益人" if payee is not None else "") + "银行卡，或注明原卡号无误的理由",
            code="same_card")
    _requeue(p, actor=actor, card=card, corrected=corrected,
             reason=CARD_CORRECTED if corrected else confirm_same_card)
    return p


def payout_requeued_for_card(payout: Payout) -> bool:
    """Whether the payout waits again because the card was corrected after a failed line
    (the claim page says 银行卡已更正，已重新排队)."""
    from huzhu.audit.models import Event

    if payout.status not in (PayoutStatus.PAYABLE, PayoutStatus.BATCHED):
        return False
    last = (Event.objects.filter(object_type="payouts.payout", object_id=str(payout.pk),
                                 action="payout.requeued").order_by("-seq").first())
    return last is not None and bool((last.after or {}).get("card_corrected"))


@atomic_events()
def payouts_requeue_corrected(*, member_ids: list[int], actor: Actor) -> list[Payout]:
    """Members' bank cards were just changed (called by the member and roster services in the
    transaction that changed them): each of their failed payouts whose last failed line went
    to another card goes back to payable the way :func:`payout_requeue` does it, with reason
    “银行卡已更正” and the person who changed the card as actor. No payout permission is
    asked of that person: a requeue moves no money, and the next batch still needs a maker
    and a checker. Payouts in any other status (in a batch, in flight, paid) are left alone.

    Lock order: the caller has written the member rows; then the payouts by id and the event
    chain, as on every payout path (no claim row is written)."""
    if not member_ids:
        return []
    payouts = list(Payout.objects.select_for_update(of=("self",))
                   .filter(member_id__in=member_ids, status=PayoutStatus.FAILED)
                   .exclude(claim__event__payee_card__isnull=False)  # a beneficiary's card
                   .select_related("member").order_by("id"))
    done = []
    for p in payouts:
        card = p.member.bank_card or ""
        if card and _card_corrected(p, card):
            _requeue(p, actor=actor, card=card, corrected=True, reason=CARD_CORRECTED)
            done.append(p)
    return done


def _payee_card(p: Payout) -> str | None:
    """The beneficiary's card a death benefit is paid to, or None for a payout to the
    member's own card."""
    if p.claim_id is None:
        return None
    ev = ClaimEvent.objects.filter(claim_id=p.claim_id, payee_card__isnull=False).first()
    return ev.payee_card or None if ev is not None else None


@atomic_events()
def payouts_requeue_payee(*, claim_id: int, card: str, actor: Actor) -> list[Payout]:
    """A death benefit's beneficiary card was just corrected (huzhu.claims.payee, in its
    transaction): each failed payout of the claim whose last failed line went to another card
    goes back to payable, as :func:`payouts_requeue_corrected` does for a member's card."""
    payouts = list(Payout.objects.select_for_update(of=("self",))
                   .filter(claim_id=claim_id, status=PayoutStatus.FAILED).order_by("id"))
    done = []
    for p in payouts:
        if _card_corrected(p, card):
            _requeue(p, actor=actor, card=card, corrected=True, reason=CARD_CORRECTED)
            done.append(p)
    return done


@atomic_events()
def exception_resolve(*, exception: PayoutException, actor: Actor, resolution: str) -> None:
    _need(actor)
    if not resolution.strip():
        raise DomainError("请填写处理说明", field_errors={"resolution": ["请填写处理说明"]})
    PayoutException.objects.filter(pk=exception.pk).update(resolved=True, resolved_by=actor,
                                                           resolution=resolution.strip()[:300])
    event_record(action="payout.exception_resolved", actor=actor, obj=exception,
                 after={"kind": exception.kind, "resolution": resolution.strip()[:100]})


# --------------------------------------------------------------------------- reconciliation


@dataclass
class Reconciliation:
    sent_fen: int
    paid_fen: int
    failed_fen: int
    in_flight_fen: int
    ledger_in_transit_fen: int
    ledger_paid_fen: int
    ledger_payable_fen: int
    owed_fen: int
    paid_twice: int
    open_exceptions: int
    sent_count: int
    paid_count: int
    failed_count: int
    in_flight_count: int
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def _with_posting_key(payouts: Any) -> Any:
    """Payouts annotated with the key of the posting that made each one owed."""
    claim_id = Cast("claim_id", CharField())
    return payouts.annotate(posting_key=Case(
        When(kind=PayoutKind.TOP_UP, then=Concat(
            Value("claim-topup:"), claim_id, Value(":"), Cast("assessment_id", CharField()),
            output_field=CharField())),
        When(kind=PayoutKind.CONSOLATION, then=Concat(
            Value("consolation-payable:"), Cast("consolation_id", CharField()),
            output_field=CharField())),
        default=Concat(Value("claim-payable:"), claim_id, output_field=CharField()),
        output_field=CharField()))


def payouts_reconcile(*, fund_region: Organisation,
                      as_of: datetime.date | None = None) -> Reconciliation:
    """Payout lines against the ledger for a fund region (the reconciliation report).

    With ``as_of``, the figures at the end of that local day: a line counts as sent from its
    batch's first sending and as paid or failed from its result (``sent_at``/``result_at``,
    stamped from the same clock reading as the posting, see ``_clock``), the ledger up to that
    business date, and a payout as owed once its approval is posted. Nothing recorded later
    changes them, which is what keeps a closed day's figures (``dayclose.py``). Open
    exceptions are then those received by the end of the day and still unresolved now.
    """
    from huzhu.ledger.models import AccountKind, Leg, Transaction

    lines = PayoutLine.objects.filter(batch__fund_region=fund_region)
    was_sent = Q(status__in=[LineStatus.SENT, LineStatus.PAID, LineStatus.FAILED])
    was_paid, was_failed = Q(status=LineStatus.PAID), Q(status=LineStatus.FAILED)
    legs = Leg.objects.filter(account__fund_region=fund_region)
    exceptions = PayoutException.objects.filter(batch__fund_region=fund_region, resolved=False)
    if as_of is not None:
        end = day_end(as_of)
        was_sent &= Q(batch__sent_at__lt=end)
        was_paid &= Q(result_at__lt=end)
        was_failed &= Q(result_at__lt=end)
        legs = legs.filter(business_date__lte=as_of)
        exceptions = exceptions.filter(created_at__lt=end)
    agg = lines.aggregate(
        sent_n=Count("id", filter=was_sent), sent=Sum("amount_fen", filter=was_sent),
        paid_n=Count("id", filter=was_paid), paid=Sum("amount_fen", filter=was_paid),
        failed_n=Count("id", filter=was_failed), failed=Sum("amount_fen", filter=was_failed))
    sent, paid, failed = (int(agg[k] or 0) for k in ("sent", "paid", "failed"))
    flight = sent - paid - failed
    flight_n = agg["sent_n"] - agg["paid_n"] - agg["failed_n"]

    def credit(kind: str, **extra: Any) -> int:
        return -int(legs.filter(account__kind=kind, **extra)
                    .aggregate(s=Sum("amount_fen"))["s"] or 0)

    transit = credit(AccountKind.PAYOUT_IN_TRANSIT)
    bank_paid = credit(AccountKind.BANK, transaction__source_type="payouts.line")
    payable = credit(AccountKind.BENEFIT_PAYABLE)
    payouts = Payout.objects.filter(fund_region=fund_region)
    if as_of is None:
        owed = int(payouts.filter(~Q(status__in=[PayoutStatus.SENT, PayoutStatus.PAID,
                                                 PayoutStatus.CANCELLED]))
                   .aggregate(s=Sum("amount_fen"))["s"] or 0)
    else:
        # Owed then: approved (or, for a top-up, decided) by then, less what was in flight or
        # paid then (a payout has at most one live line, and a failed line's amount is owed
        # again). Each payout's own posting: claim-payable:<claim>, claim-topup:<claim>:<a>.
        approved = Transaction.objects.filter(key=OuterRef("posting_key"),
                                              business_date__lte=as_of)
        # A payout cancelled by then (its stay refunded unpaid) is owed no more.
        cancelled = Transaction.objects.filter(
            key=Concat(Value("payout-cancelled:"), Cast(OuterRef("pk"), CharField()),
                       output_field=CharField()),
            business_date__lte=as_of)
        owed = int(_with_posting_key(payouts).filter(Exists(approved), ~Exists(cancelled))
                   .aggregate(s=Sum("amount_fen"))["s"] or 0)
        owed -= flight + paid
    twice = (lines.filter(was_paid).values("payout_id").annotate(n=Count("id"))
             .filter(n__gt=1).count())
    open_exc = exceptions.count()
    problems = []
    if transit != flight:
        problems.append(f"在途代付款科目 {transit} 分 ≠ 在途明细 {flight} 分")
    if bank_paid != paid:
        problems.append(f"专户代付支出 {bank_paid} 分 ≠ 成功明细 {paid} 分")
    if payable != owed:
        problems.append(f"应付互助金科目 {payable} 分 ≠ 未支付款项 {owed} 分")
    if twice:
        problems.append(f"{twice} 笔款项被支付两次")
    return Reconciliation(sent, paid, failed, flight, transit, bank_paid, payable, owed, twice,
                          open_exc, agg["sent_n"], agg["paid_n"], agg["failed_n"], flight_n,
                          problems)
