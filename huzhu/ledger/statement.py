"""The fund statement (基金收支表) of an org's books over a period, read from the ledger only.

Disclosure figures that later reports publish come from here (TRUST R-16). Amounts are shown
the way finance staff read them: income, benefits and the fund balance as positive numbers.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from fractions import Fraction

from django.db.models import Sum

from huzhu.organisations.models import Organisation
from huzhu.rules.money import half_up_div

from .models import AccountKind, DailyBalance, PayerKind
from .selectors import P_AND_L_KINDS, accounts_under, balance_as_of


@dataclass
class Figures:
    """Period figures of one set of books (the whole scope or one sub-pool)."""

    premium_fen: int = 0
    refunds_fen: int = 0
    benefits_fen: int = 0
    reserve_change_fen: int = 0
    risk_sharing_fen: int = 0  # received (+) or borne (−) under 风险共担
    consolation_fen: int = 0  # 慰问金支出: discretionary, not a benefit (not in the loss ratio)
    other_fen: int = 0  # movements of the fund balance account itself (carried-over funds)

    @property
    def net_income_fen(self) -> int:
        return self.premium_fen - self.refunds_fen

    @property
    def incurred_fen(self) -> int:
        return self.benefits_fen + self.reserve_change_fen

    @property
    def result_fen(self) -> int:
        return (self.net_income_fen - self.incurred_fen - self.consolation_fen
                + self.risk_sharing_fen + self.other_fen)

    @property
    def loss_ratio(self) -> Fraction | None:
        """赔付率: incurred benefits (paid + change in 未决 reserve) over net premium income."""
        if self.net_income_fen <= 0:
            return None
        return Fraction(self.incurred_fen, self.net_income_fen)

    def add(self, kind: str, movement: int) -> None:
        # ``movement`` is debit-positive; income and credits are negated into positive figures.
        if kind == AccountKind.PREMIUM_INCOME:
            self.premium_fen -= movement
        elif kind == AccountKind.REFUND:
            self.refunds_fen += movement
        elif kind == AccountKind.BENEFIT_EXPENSE:
            self.benefits_fen += movement
        elif kind == AccountKind.RESERVE_CHANGE:
            self.reserve_change_fen += movement
        elif kind == AccountKind.CONSOLATION_EXPENSE:
            self.consolation_fen += movement
        elif kind == AccountKind.RISK_SHARING:
            self.risk_sharing_fen -= movement
        elif kind == AccountKind.FUND_BALANCE:
            self.other_fen -= movement


@dataclass
class SubPool:
    org: Organisation
    figures: Figures


@dataclass
class FundStatement:
    org: Organisation
    start: datetime.date
    end: datetime.date
    opening_fen: int
    closing_fen: int
    reserve_closing_fen: int
    figures: Figures
    income_by_payer: list[tuple[str, int]] = field(default_factory=list)
    income_by_product: list[tuple[str, int]] = field(default_factory=list)
    income_matrix: list[tuple[str, str, int]] = field(default_factory=list)
    benefits_by_product: list[tuple[str, int]] = field(default_factory=list)
    sub_pools: list[SubPool] = field(default_factory=list)

    @property
    def reconciles(self) -> bool:
        return self.opening_fen + self.figures.result_fen == self.closing_fen


def format_percent(ratio: Fraction | None) -> str:
    """Return ``"63.25%"`` (ROUND_HALF_UP to 0.01 %) or ``"—"`` when there is no income."""
    if ratio is None:
        return "—"
    sign = "-" if ratio < 0 else ""
    bp = half_up_div(abs(ratio.numerator) * 10_000, ratio.denominator)
    return f"{sign}{bp // 100}.{bp % 100:02d}%"


def fund_balance(*, path: str, as_of: datetime.date) -> int:
    """The fund's balance (基金结余) of the books under ``path`` at the end of ``as_of``."""
    return -balance_as_of(accounts=accounts_under(path).filter(kind__in=P_AND_L_KINDS),
                          as_of=as_of)


def _child_of(org: Organisation, org_path: str) -> str:
    rest = org_path[len(org.path):]
    return rest.split("/", 1)[0] if rest else ""


def fund_statement(*, org: Organisation, start: datetime.date,
                   end: datetime.date) -> FundStatement:
    """The statement of ``org``'s books (itself and every org below it) for start..end."""
    rows = (
        DailyBalance.objects.filter(account__org_path__startswith=org.path,
                                    day__gte=start, day__lte=end)
        .values("account__org_path", "account__kind", "account__payer_kind",
                "account__product_code")
        .annotate(movement=Sum("delta_fen")).order_by()
    )
    figures = Figures()
    per_child: dict[str, Figures] = defaultdict(Figures)
    by_payer: dict[str, int] = defaultdict(int)
    by_product: dict[str, int] = defaultdict(int)
    matrix: dict[tuple[str, str], int] = defaultdict(int)
    benefits: dict[str, int] = defaultdict(int)
    for row in rows:
        kind, movement = row["account__kind"], int(row["movement"])
        figures.add(kind, movement)
        per_child[_child_of(org, row["account__org_path"])].add(kind, movement)
        product = row["account__product_code"] or "（未分项目）"
        if kind == AccountKind.PREMIUM_INCOME:
            by_payer[row["account__payer_kind"]] -= movement
            by_product[product] -= movement
            matrix[(row["account__payer_kind"], product)] -= movement
        elif kind == AccountKind.BENEFIT_EXPENSE:
            benefits[product] += movement
    reserve = -balance_as_of(
        accounts=accounts_under(org.path).filter(kind=AccountKind.PENDING_RESERVE), as_of=end)
    labels = dict(PayerKind.choices)
    statement = FundStatement(
        org=org, start=start, end=end,
        opening_fen=fund_balance(path=org.path, as_of=start - datetime.timedelta(days=1)),
        closing_fen=fund_balance(path=org.path, as_of=end),
        reserve_closing_fen=reserve, figures=figures,
        income_by_payer=[(labels.get(k, k), v) for k, v in sorted(by_payer.items())],
        income_by_product=sorted(by_product.items()),
        income_matrix=[(labels.get(p, p), prod, v) for (p, prod), v in sorted(matrix.items())],
        benefits_by_product=sorted(benefits.items()),
    )
    children = {str(o.pk): o for o in Organisation.objects.filter(parent=org)}
    for key, child_figures in sorted(per_child.items()):
        if key in children:
            statement.sub_pools.append(SubPool(children[key], child_figures))
    statement.sub_pools.sort(key=lambda s: s.org.path)
    return statement
