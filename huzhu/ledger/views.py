"""Ledger pages for finance staff: statement, trial balance, drill-down, exports.

Each view parses, checks scope through ``access`` (outside the scope → 404), reads through the
selectors, then renders. No view writes to the ledger.
"""

from __future__ import annotations

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from huzhu import clock
from huzhu.actors import AuthedRequest
from huzhu.audit.models import Action
from huzhu.audit.services import event_record
from huzhu.organisations.models import Organisation
from huzhu.web.paging import paginate

from .access import (
    account_get_for_user,
    ledger_org_get_for_user,
    ledger_orgs_for,
    transaction_get_for_user,
)
from .exports import statement_xlsx, trial_balance_xlsx
from .selectors import TrialBalance, account_legs, balance_as_of, trial_balance
from .statement import fund_statement

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _date(request: HttpRequest, name: str, default: datetime.date) -> datetime.date:
    raw = request.GET.get(name, "")
    if not raw:
        return default
    try:
        return datetime.date.fromisoformat(raw)
    except ValueError:
        messages.error(request, f"日期格式应为 YYYY-MM-DD：{raw}，已改用 {default.isoformat()}")
        return default


def _period(request: HttpRequest) -> tuple[datetime.date, datetime.date]:
    today = clock.today()
    start = _date(request, "start", today.replace(month=1, day=1))
    end = _date(request, "end", today)
    if start > end:
        messages.error(request, "起始日期晚于截止日期，已交换")
        start, end = end, start
    return start, end


def _xlsx(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=XLSX)
    response["Content-Disposition"] = f"attachment; filename={filename}"
    return response


@login_required
def ledger_index(request: AuthedRequest) -> HttpResponse:
    return render(request, "ledger/index.html", {"orgs": ledger_orgs_for(request.user)})


@login_required
def statement(request: AuthedRequest, org_id: int) -> HttpResponse:
    org = ledger_org_get_for_user(request.user, org_id)
    start, end = _period(request)
    st = fund_statement(org=org, start=start, end=end)
    return render(request, "ledger/statement.html", {"org": org, "st": st})


@login_required
def statement_export(request: AuthedRequest, org_id: int) -> HttpResponse:
    org = ledger_org_get_for_user(request.user, org_id)
    start, end = _period(request)
    st = fund_statement(org=org, start=start, end=end)
    event_record(action=Action.EXPORT, actor=request.user, object_type="ledger.statement",
                 object_id=str(org.pk), org_path=org.path,
                 after={"start": start.isoformat(), "end": end.isoformat(),
                        "closing_fen": st.closing_fen})
    return _xlsx(statement_xlsx(st, request.user), f"statement-{org.pk}-{start}-{end}.xlsx")


def _trial(request: AuthedRequest, org_id: int
           ) -> tuple[Organisation, datetime.date, TrialBalance]:
    org = ledger_org_get_for_user(request.user, org_id)
    as_of = _date(request, "as_of", clock.today())
    return org, as_of, trial_balance(path=org.path, as_of=as_of)


@login_required
def trial_balance_page(request: AuthedRequest, org_id: int) -> HttpResponse:
    org, as_of, tb = _trial(request, org_id)
    return render(request, "ledger/trial_balance.html", {"org": org, "tb": tb, "as_of": as_of})


@login_required
def trial_balance_export(request: AuthedRequest, org_id: int) -> HttpResponse:
    org, as_of, tb = _trial(request, org_id)
    event_record(action=Action.EXPORT, actor=request.user, object_type="ledger.trial_balance",
                 object_id=str(org.pk), org_path=org.path,
                 after={"as_of": as_of.isoformat(), "debit_fen": tb.debit_total,
                        "credit_fen": tb.credit_total})
    return _xlsx(trial_balance_xlsx(tb, org.name, request.user),
                 f"trial-balance-{org.pk}-{as_of}.xlsx")


@login_required
def account_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    account = account_get_for_user(request.user, pk)
    page = paginate(request, account_legs(account=account), per_page=50)
    return render(request, "ledger/account_detail.html", {
        "account": account, "page": page,
        "balance_fen": balance_as_of(accounts=account),
    })


@login_required
def transaction_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    txn, legs = transaction_get_for_user(request.user, pk)
    reversed_by = type(txn).objects.filter(reverses=txn).first()
    return render(request, "ledger/transaction_detail.html",
                  {"txn": txn, "legs": legs, "reversed_by": reversed_by})
