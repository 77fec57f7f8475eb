"""Reads from the ledger: balances as of a date, the trial balance, an account's movements.

Every balance comes from the maintained tables in one query: the running balance minus what
moved after the date asked for, read from the monthly rows for whole later months and from the
daily rows for the rest of the date's own month (see ``later_movement_window``).
``ledger verify`` proves all three tables equal the replay of the legs.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Expression, F, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from .models import CHART, Account, AccountKind, Category, DailyBalance, Leg, MonthlyBalance


def accounts_under(path: str) -> QuerySet[Account]:
    """Accounts kept by the org with this path or any org below it."""
    return Account.objects.filter(org_path__startswith=path)


@dataclass(frozen=True)
class LaterWindow:
    """What moved after ``as_of``: Σ months from ``month_from`` + ``day_sign`` × Σ days in
    ``day_from``..``day_to`` (inclusive).

    Late in a month, the later days of that month are added (sign +1) to the months after it;
    early in a month, the whole month is counted as later and its days up to ``as_of`` taken
    back (sign −1). Both equal Σ daily movements after ``as_of`` because every monthly row is
    the sum of its daily rows; this way no query reads more than half a month of daily rows.
    """

    month_from: datetime.date
    day_from: datetime.date
    day_to: datetime.date
    day_sign: int

    @property
    def has_days(self) -> bool:
        """False on a month's last day: the months after it are all that moved later."""
        return self.day_from <= self.day_to


def later_movement_window(as_of: datetime.date) -> LaterWindow:
    first = as_of.replace(day=1)
    next_month = (first + datetime.timedelta(days=32)).replace(day=1)
    if as_of.day <= 15:
        return LaterWindow(first, first, as_of, -1)
    return LaterWindow(next_month, as_of + datetime.timedelta(days=1),
                       next_month - datetime.timedelta(days=1), 1)


def balance_as_of(*, accounts: QuerySet[Account] | Account,
                  as_of: datetime.date | None = None) -> int:
    """Return the summed balance (debit positive) of an account or a group, in one query."""
    if isinstance(accounts, Account):
        accounts = Account.objects.filter(pk=accounts.pk)
    ids_sql, ids_params = accounts.values("pk").query.sql_with_params()
    sql = (f"SELECT (SELECT coalesce(sum(balance_fen), 0) FROM ledger_accountbalance"
           f" WHERE account_id IN ({ids_sql}))")
    params: list[int | str | datetime.date] = list(ids_params)
    if as_of is not None:
        w = later_movement_window(as_of)
        sql += (f" - (SELECT coalesce(sum(delta_fen), 0) FROM ledger_monthlybalance"
                f" WHERE account_id IN ({ids_sql}) AND month >= %s)")
        params += [*ids_params, w.month_from]
        if w.has_days:
            sql += (f" - %s * (SELECT coalesce(sum(delta_fen), 0) FROM ledger_dailybalance"
                    f" WHERE account_id IN ({ids_sql}) AND day >= %s AND day <= %s)")
            params += [w.day_sign, *ids_params, w.day_from, w.day_to]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return int(cursor.fetchone()[0])


def movement_between(*, accounts: QuerySet[Account], start: datetime.date,
                     end: datetime.date) -> int:
    """Return the net movement (debit positive) of a group over ``start``..``end`` inclusive."""
    total = DailyBalance.objects.filter(
        account__in=accounts, day__gte=start, day__lte=end
    ).aggregate(s=Sum("delta_fen"))["s"]
    return int(total or 0)


def _later_movements(as_of: datetime.date) -> Expression:
    w = later_movement_window(as_of)
    months = Subquery(
        MonthlyBalance.objects.filter(account=OuterRef("pk"), month__gte=w.month_from)
        .values("account").annotate(s=Sum("delta_fen")).values("s")
    )
    days = Subquery(
        DailyBalance.objects.filter(account=OuterRef("pk"), day__gte=w.day_from,
                                    day__lte=w.day_to)
        .values("account").annotate(s=Sum("delta_fen")).values("s")
    )
    if not w.has_days:
        return Coalesce(months, Value(0))
    return Coalesce(months, Value(0)) + Value(w.day_sign) * Coalesce(days, Value(0))


def accounts_with_balances(*, accounts: QuerySet[Account],
                           as_of: datetime.date | None = None) -> QuerySet[Account]:
    """Annotate ``balance_fen`` and ``leg_total`` on each account, as of a date, in one query."""
    qs = accounts.select_related("org").annotate(
        balance_now=Coalesce(F("balance__balance_fen"), Value(0)),
        leg_total=Coalesce(F("balance__leg_count"), Value(0)),
    )
    if as_of is None:
        return qs.annotate(balance_fen=F("balance_now"))
    return qs.annotate(balance_fen=F("balance_now") - _later_movements(as_of))


@dataclass(frozen=True)
class TrialLine:
    account_id: int
    code: str
    name: str
    org_name: str
    kind: str
    debit_fen: int
    credit_fen: int


@dataclass
class TrialBalance:
    as_of: datetime.date | None
    lines: list[TrialLine] = field(default_factory=list)

    @property
    def debit_total(self) -> int:
        return sum(line.debit_fen for line in self.lines)

    @property
    def credit_total(self) -> int:
        return sum(line.credit_fen for line in self.lines)

    @property
    def difference(self) -> int:
        return self.debit_total - self.credit_total


_TRIAL_SQL = """
SELECT a.id, a.code, a.name, o.name, a.kind, {balance}, b.leg_count
  FROM ledger_account a
  JOIN ledger_accountbalance b ON b.account_id = a.id
  JOIN {orgs} o ON o.id = a.org_id
 WHERE a.org_path LIKE %s
 ORDER BY a.org_path, a.code, a.id
"""

# The same, less what moved after the date (see later_movement_window). Per account, so each
# sum is a range scan of the (account, month) or (account, day) unique index: a join over all
# accounts' daily rows would read every daily row of the ledger for a window of a few days.
_TRIAL_MONTHS = """coalesce((SELECT sum(m.delta_fen) FROM ledger_monthlybalance m
                    WHERE m.account_id = a.id AND m.month >= %s), 0)"""
_TRIAL_DAYS = """coalesce((SELECT sum(d.delta_fen) FROM ledger_dailybalance d
                    WHERE d.account_id = a.id AND d.day >= %s AND d.day <= %s), 0)"""


def trial_balance(*, path: str, as_of: datetime.date | None = None) -> TrialBalance:
    """Every account under ``path`` with its debit or credit balance, in one query.

    Plain rows rather than model instances: a province holds thousands of accounts.
    """
    from huzhu.organisations.models import Organisation

    tb = TrialBalance(as_of=as_of)
    # Paths are "/1/5/" digits and slashes, so the LIKE prefix needs no escaping.
    like = path + "%"
    balance = "b.balance_fen"
    params: list[int | str | datetime.date] = []
    if as_of is not None:
        w = later_movement_window(as_of)
        balance += f" - {_TRIAL_MONTHS}"
        params.append(w.month_from)
        if w.has_days:
            balance += f" - %s * {_TRIAL_DAYS}"
            params += [w.day_sign, w.day_from, w.day_to]
    sql = _TRIAL_SQL.format(balance=balance, orgs=Organisation._meta.db_table)
    params.append(like)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for account_id, code, name, org_name, kind, balance, legs in cursor.fetchall():
            b = int(balance)
            if b == 0 and legs == 0:
                continue
            tb.lines.append(TrialLine(account_id, code, name, org_name, kind,
                                      max(b, 0), max(-b, 0)))
    return tb


def account_legs(*, account: Account) -> QuerySet[Leg]:
    """The account's legs, newest first, with their transactions for the source column."""
    return (Leg.objects.filter(account=account).select_related("transaction")
            .order_by("-business_date", "-id"))


def kinds_in(*categories: str) -> list[str]:
    return [kind for kind, (_code, cat) in CHART.items() if cat in categories]


P_AND_L_KINDS = kinds_in(Category.EQUITY, Category.INCOME, Category.EXPENSE, Category.INTERNAL)
ASSET_LIABILITY_KINDS = kinds_in(Category.ASSET, Category.LIABILITY)
__all__ = ["AccountKind"]
