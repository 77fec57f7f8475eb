"""Cost-base expressions over settlement fields, parsed here and never ``eval``-ed.

Grammar (whitespace ignored)::

    expr   := term (("+" | "-") term)*
    term   := NAME | YUAN | "(" expr ")" | ("max" | "min") "(" expr "," expr ")"

NAME is a settlement field by its national platform name (RULES.md §3.1); YUAN is a constant
in yuan such as ``2000`` or ``0.50``. The same compiled expression evaluates on Python ints (the
scalar engine) and on int64 numpy arrays (the vector engine): both give the same fen.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from huzhu.rules.money import MoneyError, parse_yuan

# National platform names (2304 setlinfo and 4101 settlement list), RULES.md §3.1.
SETTLEMENT_FIELDS: dict[str, str] = {
    "medfee_sumamt": "医疗费总额",
    "fulamt_ownpay_amt": "全自费金额",
    "overlmt_selfpay": "超限价自费费用",
    "preselfpay_amt": "先行自付金额",
    "inscp_scp_amt": "符合政策范围金额",
    "act_pay_dedc": "实际支付起付线",
    "hifp_pay": "统筹基金支出",
    "cvlserv_pay": "公务员医疗补助资金支出",
    "hifes_pay": "企业补充医疗保险基金支出",
    "hifmi_pay": "居民大病保险资金支出",
    "hifob_pay": "职工大额医疗费用补助基金支出",
    "maf_pay": "医疗救助基金支出",
    "hosp_part_amt": "医院负担金额",
    "oth_pay": "其他支出",
    "fund_pay_sumamt": "基金支付总额",
    "psn_part_amt": "个人负担总金额",
    "acct_pay": "个人账户支出",
    "psn_cash_pay": "个人现金支出",
    "acct_mulaid_pay": "个人账户共济支付金额",
    "psn_selfpay": "个人自付",
    "psn_ownpay": "个人自费",
    "psn_cashpay": "个人现金支付",
}

_TOKEN = re.compile(r"\s*(?:(?P<num>\d+(?:\.\d+)?)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<op>[-+(),]))")


class ExprError(ValueError):
    """An expression that does not parse or names an unknown field."""


@dataclass(frozen=True)
class Expr:
    """A compiled cost-base expression."""

    text: str
    fields: frozenset[str]
    _fn: Callable[[Mapping[str, Any]], Any]

    def evaluate(self, values: Mapping[str, Any]) -> Any:
        """Return the expression's value in fen; a missing field counts as 0."""
        return self._fn(values)


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise ExprError(f"无法识别的字符 {text[pos:pos + 10]!r}（位置 {pos}）")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


def _maximum(a: Any, b: Any) -> Any:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.maximum(a, b)
    return a if a >= b else b


def _minimum(a: Any, b: Any) -> Any:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.minimum(a, b)
    return a if a <= b else b


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = _tokens(text)
        self.pos = 0
        self.fields: set[str] = set()

    def peek(self) -> tuple[str, str] | None:
        return self.toks[self.pos] if self.pos < len(self.toks) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        tok = self.peek()
        if tok is None or (value is not None and tok[1] != value):
            raise ExprError(f"此处应为 {value or '表达式'}，实际为 {tok[1] if tok else '结尾'}")
        self.pos += 1
        return tok

    def expr(self) -> Callable[[Mapping[str, Any]], Any]:
        fn = self.term()
        while (tok := self.peek()) and tok[1] in "+-" and tok[0] == "op":
            self.take()
            rhs = self.term()
            fn = _add(fn, rhs) if tok[1] == "+" else _sub(fn, rhs)
        return fn

    def term(self) -> Callable[[Mapping[str, Any]], Any]:
        kind, value = self.take()
        if kind == "num":
            try:
                const = parse_yuan(value)
            except MoneyError as exc:
                raise ExprError(str(exc)) from exc
            return lambda v: const
        if value == "(":
            fn = self.expr()
            self.take(")")
            return fn
        if kind == "name" and value in ("max", "min"):
            self.take("(")
            a = self.expr()
            self.take(",")
            b = self.expr()
            self.take(")")
            pick = _maximum if value == "max" else _minimum
            return lambda v: pick(a(v), b(v))
        if kind == "name":
            if value not in SETTLEMENT_FIELDS:
                raise ExprError(f"未知的结算字段 {value!r}")
            self.fields.add(value)
            return lambda v: v.get(value, 0)
        raise ExprError(f"此处应为字段、数字或括号，实际为 {value!r}")


def _add(a: Callable, b: Callable) -> Callable:
    return lambda v: a(v) + b(v)


def _sub(a: Callable, b: Callable) -> Callable:
    return lambda v: a(v) - b(v)


def compile_expr(text: str) -> Expr:
    """Parse ``text`` into an :class:`Expr`; raise :class:`ExprError` naming the problem."""
    if not text or not text.strip():
        raise ExprError("表达式为空")
    parser = _Parser(text)
    fn = parser.expr()
    if parser.peek() is not None:
        raise ExprError(f"表达式多余的内容: {parser.peek()[1]!r}")  # type: ignore[index]
    return Expr(text=text.strip(), fields=frozenset(parser.fields), _fn=fn)
