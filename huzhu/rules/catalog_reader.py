"""A small typed reader over a TOML table that records issues with their key path."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from huzhu.rules.money import MoneyError, parse_ratio, parse_yuan

if TYPE_CHECKING:
    from huzhu.rules.catalog import Issue


class Reader:
    def __init__(self, file: str, data: Any, issues: list[Issue], prefix: str = "",
                 present: bool = True) -> None:
        self.file = file
        self.data: dict[str, Any] = data if isinstance(data, dict) else {}
        self.issues = issues
        self.prefix = prefix
        self.present = present
        self.used: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    def issue(self, name: str, problem: str) -> None:
        from huzhu.rules.catalog import Issue

        self.issues.append(Issue(self.file, self.key(name) if name else self.prefix, problem))

    def keys(self) -> list[str]:
        self.used.update(self.data)
        return list(self.data)

    def _get(self, name: str, required: bool) -> Any:
        self.used.add(name)
        if name not in self.data:
            if required:
                self.issue(name, "缺少必填项 (missing required key)")
            return None
        return self.data[name]

    def done(self) -> None:
        """Report keys nobody read: typos must not pass silently."""
        for extra in sorted(set(self.data) - self.used):
            self.issue(extra, "未知的键 (unknown key)")

    def text(self, name: str, required: bool = False) -> str:
        v = self._get(name, required)
        if v is None:
            return ""
        if not isinstance(v, str):
            self.issue(name, f"应为文本 (expected a string), 实际为 {v!r}")
            return ""
        return v

    def strings(self, name: str, required: bool = False) -> list[str]:
        v = self._get(name, required)
        if v is None:
            return []
        if isinstance(v, str):
            return [v]
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            self.issue(name, f"应为文本列表 (expected a list of strings), 实际为 {v!r}")
            return []
        return v

    def boolean(self, name: str, default: bool = False) -> bool:
        v = self._get(name, False)
        if v is None:
            return default
        if not isinstance(v, bool):
            self.issue(name, f"应为 true/false, 实际为 {v!r}")
            return default
        return v

    def integer(self, name: str, required: bool = False, default: Any = None,
                minimum: int | None = None) -> Any:
        v = self._get(name, required)
        if v is None:
            return default
        if not isinstance(v, int) or isinstance(v, bool):
            self.issue(name, f"应为整数 (expected an integer), 实际为 {v!r}")
            return default
        if minimum is not None and v < minimum:
            self.issue(name, f"不能小于 {minimum} (must be at least {minimum}), 实际为 {v}")
            return default
        return v

    def choice(self, name: str, options: tuple[str, ...], required: bool = False,
               default: Any = None) -> Any:
        v = self._get(name, required)
        if v is None:
            return default
        if v not in options:
            self.issue(name, f"取值 {v!r} 不在 {list(options)} 之中 (unknown value)")
            return default
        return v

    def money(self, name: str, required: bool = False, minimum: int | None = 0) -> int | None:
        v = self._get(name, required)
        if v is None:
            return None
        if isinstance(v, float):
            self.issue(name, f"金额请写成文本如 \"50.00\"，不要用浮点数 (write money as a string), 实际为 {v!r}")
            return None
        try:
            fen = parse_yuan(v)
        except MoneyError as exc:
            self.issue(name, f"{exc}")
            return None
        if minimum is not None and fen < minimum:
            self.issue(name, f"金额不能为负 (negative amount) {v!r}")
            return None
        return fen

    def ratio(self, name: str, required: bool = False) -> int | None:
        v = self._get(name, required)
        if v is None:
            return None
        if isinstance(v, float):
            self.issue(name, f"比例请写成文本如 \"35%\" (write a ratio as a string), 实际为 {v!r}")
            return None
        try:
            bp = parse_ratio(v)
        except MoneyError as exc:
            self.issue(name, str(exc))
            return None
        if bp < 0:
            self.issue(name, f"比例不能为负 (negative ratio) {v!r}")
            return None
        if bp > 10_000:
            self.issue(name, f"比例不能超过 100% (ratio above 100%) {v!r}")
            return None
        return bp

    def date(self, name: str, required: bool = False) -> date | None:
        v = self._get(name, required)
        if v is None:
            return None
        if not isinstance(v, date):
            self.issue(name, f"应为日期如 2018-03-31 (expected a date), 实际为 {v!r}")
            return None
        return v

    def table(self, name: str, required: bool = False) -> Reader:
        v = self._get(name, required)
        if v is not None and not isinstance(v, dict):
            self.issue(name, "应为表 (expected a table)")
            v = None
        return Reader(self.file, v or {}, self.issues, self.key(name), present=v is not None)

    def tables(self, name: str, required: bool = False) -> list[Reader]:
        v = self._get(name, required)
        if v is None:
            return []
        if not isinstance(v, list) or not all(isinstance(x, dict) for x in v):
            self.issue(name, "应为表数组 (expected an array of tables)")
            return []
        return [Reader(self.file, x, self.issues, f"{self.key(name)}[{i}]") for i, x in enumerate(v)]
