"""Reading settlement records: JSON (an array or JSON lines) and CSV with the national
platform's field names, validated record by record. Pure: no database.

Amounts are yuan with at most two decimals; they come back as fen. Sums are checked exactly
(tolerance 0 fen): ``medfee_sumamt = fulamt_ownpay_amt + overlmt_selfpay + preselfpay_amt +
inscp_scp_amt`` and ``medfee_sumamt = fund_pay_sumamt + psn_part_amt + hosp_part_amt``.
The format is documented in docs/data-formats.md ("Settlement records").
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import io
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from huzhu.pii.identifiers import IdentifierError, check_resident_id
from huzhu.rules.money import MoneyError, parse_yuan

from .models import AMOUNT_FIELDS

SUM_TOLERANCE_FEN = 0

# 险种类型 (national code list insutype).
INSUTYPES = {
    "310": "职工基本医疗保险", "320": "公务员医疗补助", "330": "大额医疗费用补助",
    "340": "离休人员医疗保障", "390": "城乡居民基本医疗保险", "392": "城乡居民大病医疗保险",
    "510": "生育保险",
}
# 医疗类别 (med_type) and 医院等级 (hosp_lv) as people read them; codes the national lists agree
# on (docs/data-formats.md). A local code (99xx, or one not listed) is shown as it is, with its
# number, since its meaning differs between regions.
MED_TYPES = {
    "11": "普通门诊", "12": "门诊挂号", "13": "急诊", "14": "门诊慢特病", "21": "普通住院",
    "22": "外伤住院", "23": "转外诊治住院", "24": "急诊转住院", "51": "生育门诊", "52": "生育住院",
}
HOSP_LEVELS = {
    "01": "三级特等", "02": "三级甲等", "03": "三级乙等", "04": "三级丙等", "05": "二级甲等",
    "06": "二级乙等", "07": "二级丙等", "08": "一级甲等", "09": "一级乙等", "10": "一级丙等",
    "11": "无等级",
}


def code_label(table: dict[str, str], code: object) -> str:
    """A code's name, or the code itself marked as a local one."""
    text = str(code or "").strip()
    if not text:
        return "—"
    key = text.zfill(2) if text.isdigit() and len(text) == 1 else text
    return table.get(key) or f"其他（代码 {text}）"


REQUIRED_TEXT = ("setl_id", "certno", "insutype", "begndate", "enddate", "setl_time")
REQUIRED_AMOUNTS = ("medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt",
                    "inscp_scp_amt", "hifp_pay", "fund_pay_sumamt", "psn_part_amt")
NULLABLE_AMOUNTS = ("psn_selfpay", "psn_ownpay")  # 4101 settlement-list fields
TEXT_FIELDS = {"setl_id": 60, "mdtrt_id": 60, "psn_no": 60, "psn_name": 60, "med_type": 10,
               "fixmedins_code": 30, "fixmedins_name": 200, "diag_code": 200, "diag_name": 500}
OTHER_FIELDS = ("certno", "gend", "brdy", "insutype", "begndate", "enddate", "setl_time",
                "hosp_lv")
# Fields of the national output we accept and keep in the raw record but do not use.
IGNORED = frozenset({"balc", "pool_prop_selfpay", "acct_mulaid_pay", "psn_cert_type",
                     "mdtrt_cert_type", "psn_type", "cvlserv_flag", "emp_name", "age",
                     "clr_optins", "clr_way", "clr_type", "setl_type", "medins_setl_id",
                     "setldetail", "note"})
ALIASES = {"hospital_level": "hosp_lv"}
KNOWN = frozenset(TEXT_FIELDS) | frozenset(OTHER_FIELDS) | frozenset(AMOUNT_FIELDS) | IGNORED
CSV_HEADERS = tuple(TEXT_FIELDS) + OTHER_FIELDS + AMOUNT_FIELDS  # the documented column order
GENDERS = {"1": "M", "2": "F", "M": "M", "F": "F", "男": "M", "女": "F"}


class SettlementError(ValueError):
    """One bad field of one record (or of the file, with ``record`` 0)."""

    def __init__(self, field: str, message: str, record: int = 0, setl_id: str = "") -> None:
        self.field, self.message, self.record, self.setl_id = field, message, record, setl_id
        super().__init__(self.text())

    def text(self) -> str:
        where = f"第 {self.record} 条记录" if self.record else "文件"
        if self.setl_id:
            where += f"（setl_id {self.setl_id}）"
        return f"{where} 字段 {self.field}：{self.message}" if self.field else f"{where}：{self.message}"

    def as_dict(self) -> dict[str, Any]:
        return {"record": self.record, "setl_id": self.setl_id, "field": self.field,
                "message": self.message}


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def _date(name: str, v: Any) -> datetime.date:
    try:
        return datetime.date.fromisoformat(str(v).strip()[:10])
    except ValueError:
        raise SettlementError(name, f"日期格式应为 YYYY-MM-DD，实际为 {v!r}") from None


def _datetime(name: str, v: Any) -> datetime.datetime:
    text = str(v).strip()
    try:
        if len(text) <= 10:
            return datetime.datetime.combine(datetime.date.fromisoformat(text), datetime.time())
        return datetime.datetime.fromisoformat(text.replace("T", " ")).replace(tzinfo=None)
    except ValueError:
        raise SettlementError(name, f"时间格式应为 YYYY-MM-DD HH:MM:SS，实际为 {v!r}") from None


def _amount(name: str, v: Any) -> int:
    if isinstance(v, float):
        raise SettlementError(name, f"金额须为文本或精确小数，不能是浮点数 {v!r}")
    try:
        fen = parse_yuan(v)
    except MoneyError as exc:
        raise SettlementError(name, str(exc)) from None
    if fen < 0:
        raise SettlementError(name, f"金额不能为负：{v}")
    return fen


def y(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def _sums(a: dict[str, int]) -> None:
    parts = ("fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt")
    total = sum(a[p] for p in parts)
    if abs(a["medfee_sumamt"] - total) > SUM_TOLERANCE_FEN:
        raise SettlementError("medfee_sumamt", (
            f"医疗费总额 {y(a['medfee_sumamt'])} 元 ≠ 全自费 + 超限价自费 + 先行自付 + 符合政策范围 "
            f"= {y(total)} 元"))
    payers = a["fund_pay_sumamt"] + a["psn_part_amt"] + a["hosp_part_amt"]
    if abs(a["medfee_sumamt"] - payers) > SUM_TOLERANCE_FEN:
        raise SettlementError("medfee_sumamt", (
            f"医疗费总额 {y(a['medfee_sumamt'])} 元 ≠ 基金支付总额 + 个人负担总金额"
            f"{' + 医院负担' if a['hosp_part_amt'] else ''} = {y(payers)} 元"))
    if a["hifp_pay"] > a["inscp_scp_amt"]:
        raise SettlementError("hifp_pay", (
            f"统筹基金支出 {y(a['hifp_pay'])} 元大于符合政策范围金额 {y(a['inscp_scp_amt'])} 元"))
    if a["hifp_pay"] > a["fund_pay_sumamt"]:
        raise SettlementError("hifp_pay", (
            f"统筹基金支出 {y(a['hifp_pay'])} 元大于基金支付总额 {y(a['fund_pay_sumamt'])} 元"))


def parse_record(raw: dict[str, Any]) -> dict[str, Any]:
    """Return the clean values of one record (amounts as ``<name>_fen``); raise
    :class:`SettlementError` for the first bad field."""
    if not isinstance(raw, dict):
        raise SettlementError("", "每条记录应为一个 JSON 对象")
    rec = {ALIASES.get(k, k): v for k, v in raw.items()}
    for key in rec:
        if key not in KNOWN:
            raise SettlementError(str(key), "未知字段")
    for key in REQUIRED_TEXT + REQUIRED_AMOUNTS:
        if _blank(rec.get(key)):
            raise SettlementError(key, "必填，不能为空")
    out: dict[str, Any] = {}
    for key, size in TEXT_FIELDS.items():
        value = "" if _blank(rec.get(key)) else str(rec[key]).strip()
        if len(value) > size:
            raise SettlementError(key, f"长度不能超过 {size} 个字符")
        out[key] = value
    try:
        out["certno"] = check_resident_id(str(rec["certno"])).number
    except IdentifierError as exc:
        raise SettlementError("certno", exc.message) from None
    gend = rec.get("gend")
    if not _blank(gend) and str(gend).strip() not in GENDERS:
        raise SettlementError("gend", f"性别应为 1（男）或 2（女），实际为 {gend!r}")
    out["gend"] = "" if _blank(gend) else GENDERS[str(gend).strip()]
    out["brdy"] = None if _blank(rec.get("brdy")) else _date("brdy", rec["brdy"])
    insutype = str(rec["insutype"]).strip()
    if insutype not in INSUTYPES:
        raise SettlementError("insutype", f"未知的险种类型 {insutype!r}（应为 {'/'.join(INSUTYPES)}）")
    out["insutype"] = insutype
    out["begndate"] = _date("begndate", rec["begndate"])
    out["enddate"] = _date("enddate", rec["enddate"])
    if out["enddate"] < out["begndate"]:
        raise SettlementError("enddate", f"出院日期 {out['enddate']} 早于入院日期 {out['begndate']}")
    out["setl_time"] = _datetime("setl_time", rec["setl_time"])
    if out["setl_time"].date() < out["begndate"]:
        raise SettlementError("setl_time", f"结算时间 {out['setl_time']:%Y-%m-%d} 早于入院日期")
    lv = rec.get("hosp_lv")
    if _blank(lv):
        out["hosp_lv"] = None
    elif str(lv).strip() in ("1", "2", "3"):
        out["hosp_lv"] = int(str(lv).strip())
    else:
        raise SettlementError("hosp_lv", f"医院等级应为 1、2 或 3，实际为 {lv!r}")
    amounts: dict[str, int | None] = {}
    for name in AMOUNT_FIELDS:
        v = rec.get(name)
        if _blank(v):
            amounts[name] = None if name in NULLABLE_AMOUNTS else 0
        else:
            amounts[name] = _amount(name, v)
    _sums({k: v for k, v in amounts.items() if v is not None})  # it reads no nullable amount
    out.update({f"{k}_fen": v for k, v in amounts.items()})
    return out


def _jsonable(v: Any) -> Any:
    if isinstance(v, datetime.date | datetime.datetime):
        return v.isoformat()
    return str(v)


def content_hash(clean: dict[str, Any]) -> str:
    """The same record in any spelling (``"100"``, ``100.00``) hashes the same."""
    text = json.dumps(clean, sort_keys=True, ensure_ascii=False, default=_jsonable,
                      separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def raw_text(raw: dict[str, Any]) -> str:
    return json.dumps(raw, ensure_ascii=False, default=_jsonable, separators=(",", ":"))


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return data.decode("gb18030")
        except UnicodeDecodeError:
            raise SettlementError("", "文件编码无法识别（应为 UTF-8 或 GB18030）") from None


def iter_records(data: bytes, file_name: str) -> Iterator[tuple[int, dict[str, Any] | SettlementError]]:
    """Yield (record number from 1, raw record or its reading error); raise
    :class:`SettlementError` when the file as a whole cannot be read."""
    text = _decode(data)
    name = file_name.lower()
    if name.endswith(".csv"):
        yield from _csv(text)
    elif name.endswith((".json", ".jsonl", ".ndjson")):
        yield from _json(text)
    else:
        raise SettlementError("", "只接受 .json、.jsonl 或 .csv 文件")


def _csv(text: str) -> Iterator[tuple[int, dict[str, Any] | SettlementError]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    headers = [h.strip() for h in (reader.fieldnames or [])]
    if not headers:
        raise SettlementError("", "CSV 文件没有表头")
    unknown = [h for h in headers if ALIASES.get(h, h) not in KNOWN]
    if unknown:
        raise SettlementError("", f"CSV 表头有未知的列：{'、'.join(unknown)}")
    missing = [h for h in REQUIRED_TEXT + REQUIRED_AMOUNTS if h not in headers]
    if missing:
        raise SettlementError("", f"CSV 表头缺少必需的列：{'、'.join(missing)}")
    reader.fieldnames = headers
    for n, row in enumerate(reader, 1):
        if None in row:
            yield n, SettlementError("", f"第 {n + 1} 行的列数多于表头")
            continue
        if all(_blank(v) for v in row.values()):
            continue
        yield n, {k: v for k, v in row.items() if not _blank(v)}


def _json(text: str) -> Iterator[tuple[int, dict[str, Any] | SettlementError]]:
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            items = json.loads(stripped, parse_float=Decimal)
        except json.JSONDecodeError as exc:
            raise SettlementError("", f"不是有效的 JSON（第 {exc.lineno} 行）：{exc.msg}") from None
        for n, item in enumerate(items, 1):
            yield n, item if isinstance(item, dict) else SettlementError("", "每条记录应为一个 JSON 对象")
        return
    n = 0
    for line in text.splitlines():
        if not line.strip():
            continue
        n += 1
        try:
            obj = json.loads(line, parse_float=Decimal)
        except json.JSONDecodeError as exc:
            yield n, SettlementError("", f"不是有效的 JSON：{exc.msg}")
            continue
        yield n, obj if isinstance(obj, dict) else SettlementError("", "每行应为一个 JSON 对象")
