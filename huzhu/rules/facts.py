"""Read claim records (JSON lines or CSV rows) into :class:`ClaimFacts` and :class:`Usage`.

Amounts are yuan with at most 2 decimals by their national platform names; dates are
ISO ``YYYY-MM-DD`` (a datetime such as ``setl_time`` keeps its date). A bad record raises
:class:`RecordError` naming the field, in Chinese. The format is documented in docs/rules.md.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from huzhu.rules.expr import SETTLEMENT_FIELDS
from huzhu.rules.model import CLAIM_TYPES, SUBJECTS, BenefitUsage, ClaimFacts, Product, Usage
from huzhu.rules.money import MoneyError, parse_yuan


class RecordError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        self.field, self.message = field, message
        super().__init__(f"字段 {field}: {message}")


# Fund top-ups that many regions leave out of the record: absent means nothing was paid.
OPTIONAL_AMOUNTS = frozenset({"hifob_pay", "hifmi_pay", "cvlserv_pay", "maf_pay", "hifes_pay",
                              "oth_pay", "hosp_part_amt", "act_pay_dedc", "acct_mulaid_pay"})
# National record fields the engine does not use; accepted and ignored.
IGNORED = frozenset({"mdtrt_id", "psn_name", "certno", "med_type", "fixmedins_code",
                     "fixmedins_name", "diag_code", "diag_name", "balc", "pool_prop_selfpay", "note"})
DATES = {"brdy": "birth_date", "coverage_start": "coverage_start", "period_start": "period_start",
         "period_end": "period_end", "begndate": "begndate", "enddate": "enddate",
         "setl_time": "setl_date", "event_date": "event_date", "diagnosis_date": "diagnosis_date",
         "claim_date": "claim_date"}
INTS = {"shares": "shares", "membership_years": "membership_years", "lapse_days": "lapse_days",
        "hospital_level": "hospital_level", "disability_grade": "disability_grade"}
BOOLS = {"union_member": "union_member", "first_time": "first_time", "during_stay": "during_stay"}
TEXTS = {"claim_id": "claim_id", "setl_id": "claim_id", "member_id": "member_id",
         "psn_no": "member_id", "insutype": "insutype", "disease": "disease",
         "accident_outcome": "accident_outcome"}
LISTS = {"held_products": "held_products", "flags": "flags"}
GENDERS = {"1": "M", "2": "F", "M": "M", "F": "F", "男": "M", "女": "F"}


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def _date(name: str, v: Any) -> date:
    try:
        return date.fromisoformat(str(v).strip()[:10])
    except ValueError:
        raise RecordError(name, f"日期格式应为 YYYY-MM-DD，实际为 {v!r}") from None


def _int(name: str, v: Any) -> int:
    if isinstance(v, bool) or not str(v).strip().lstrip("-").isdigit():
        raise RecordError(name, f"应为整数，实际为 {v!r}")
    n = int(str(v).strip())
    if n < 0:
        raise RecordError(name, f"不能为负数: {n}")
    return n


def _bool(name: str, v: Any) -> bool:
    text = str(v).strip().lower()
    if isinstance(v, bool):
        return v
    if text in ("1", "true", "yes", "y", "是"):
        return True
    if text in ("0", "false", "no", "n", "否"):
        return False
    raise RecordError(name, f"应为 true/false，实际为 {v!r}")


def _amount(name: str, v: Any) -> int:
    if isinstance(v, float):
        v = repr(v)
    try:
        fen = parse_yuan(v)
    except MoneyError as exc:
        raise RecordError(name, str(exc)) from None
    if fen < 0:
        raise RecordError(name, f"金额不能为负: {v}")
    return fen


def _split(v: Any) -> tuple[str, ...]:
    if isinstance(v, list):
        return tuple(str(x) for x in v)
    return tuple(x.strip() for x in str(v).replace(",", ";").split(";") if x.strip())


def _usage(raw: dict[str, Any]) -> Usage | None:
    """Read ``usage`` (a JSON object) or flat ``usage.<benefit>.<what>`` columns."""
    flat = {k[6:]: v for k, v in raw.items() if k.startswith("usage.") and not _blank(v)}
    nested = raw.get("usage")
    if isinstance(nested, dict):
        for k, v in nested.items():
            if isinstance(v, dict):
                flat.update({f"{k}.{kk}": vv for kk, vv in v.items()})
            else:
                flat[k] = v
    if not flat:
        return None
    benefits: dict[str, dict[str, int]] = {}
    top = {"product_paid": 0, "coverage_ended": False, "prior_period_paid": False}
    for key, v in flat.items():
        name = f"usage.{key}"
        if key == "product_paid":
            top[key] = _amount(name, v)
        elif key in ("coverage_ended", "prior_period_paid"):
            top[key] = _bool(name, v)
        elif key.count(".") == 1 and key.split(".")[1] in ("paid", "claims", "base", "lifetime_claims"):
            bid, what = key.split(".")
            value = _amount(name, v) if what in ("paid", "base") else _int(name, v)
            benefits.setdefault(bid, {})[what] = value
        else:
            raise RecordError(name, "未知的已用额度字段")
    return Usage({b: BenefitUsage(d.get("paid", 0), d.get("claims", 0), d.get("base", 0),
                                  d.get("lifetime_claims", d.get("claims", 0)))
                  for b, d in benefits.items()},
                 int(top["product_paid"]), bool(top["coverage_ended"]), bool(top["prior_period_paid"]))


def _field(kw: dict, amounts: dict, key: str, v: Any) -> None:
    if key in SETTLEMENT_FIELDS:
        amounts[key] = _amount(key, v)
    elif key in DATES:
        kw[DATES[key]] = _date(key, v)
    elif key in INTS:
        kw[INTS[key]] = _int(key, v)
    elif key in BOOLS:
        kw[BOOLS[key]] = _bool(key, v)
    elif key in TEXTS:
        kw[TEXTS[key]] = str(v).strip()
    elif key in LISTS:
        kw[LISTS[key]] = _split(v)
    elif key in ("gend", "gender"):
        if str(v).strip() not in GENDERS:
            raise RecordError(key, f"性别应为 1/2 或 M/F，实际为 {v!r}")
        kw["gender"] = GENDERS[str(v).strip()]
    elif key == "claim_type":
        if v not in CLAIM_TYPES:
            raise RecordError(key, f"理赔类型应为 {list(CLAIM_TYPES)} 之一，实际为 {v!r}")
        kw["claim_type"] = v
    elif key == "subject":
        if v not in SUBJECTS:
            raise RecordError(key, f"对象应为 {list(SUBJECTS)} 之一，实际为 {v!r}")
        kw["subject"] = v
    elif key not in IGNORED:
        raise RecordError(key, "未知字段")


def _check(kw: dict, amounts: dict, product: Product | None) -> None:
    if kw.get("claim_type", "hospital") in ("hospital", "outpatient_special"):
        needed = {"medfee_sumamt"}
        for b in product.benefits if product else ():
            for expr in (b.base, b.share_cap.base if b.share_cap else None):
                needed |= set(expr.fields) if expr else set()
        for name in sorted(needed - OPTIONAL_AMOUNTS - set(amounts)):
            raise RecordError(name, "缺少金额")
    if amounts.get("inscp_scp_amt", 0) > amounts.get("medfee_sumamt", amounts.get("inscp_scp_amt", 0)):
        raise RecordError("inscp_scp_amt", "符合政策范围金额大于医疗费总额")
    begin, end = kw.get("begndate"), kw.get("enddate")
    if begin and end and end < begin:
        raise RecordError("enddate", f"出院日期 {end} 早于入院日期 {begin}")
    if kw.get("claim_type") == "accident" and kw.get("accident_outcome") not in ("death", "disability"):
        raise RecordError("accident_outcome", "意外理赔需要 accident_outcome = death 或 disability")


def read_record(raw: dict[str, Any], product: Product | None = None,
                disease_codes: dict[str, str] | None = None) -> tuple[ClaimFacts, Usage | None]:
    """Return the facts and any usage given in one record; raise :class:`RecordError`."""
    kw: dict[str, Any] = {}
    amounts: dict[str, int] = {}
    for key, v in raw.items():
        if key == "usage" or key.startswith("usage.") or _blank(v):
            continue
        _field(kw, amounts, key, v)
    if disease_codes and kw.get("disease") in disease_codes:
        kw["disease"] = disease_codes[kw["disease"]]
    _check(kw, amounts, product)
    return ClaimFacts(**kw, amounts=amounts), _usage(raw)


def iter_raw(path: Path) -> Iterator[tuple[int, dict[str, Any] | RecordError]]:
    """Yield (record number from 1, raw record or the error reading it) from JSONL or CSV."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        if path.suffix.lower() == ".csv":
            for n, row in enumerate(csv.DictReader(fh), 1):
                yield n, dict(row)
            return
        n = 0
        for line in fh:
            if not line.strip():
                continue
            n += 1
            try:
                obj = json.loads(line, parse_float=Decimal)
            except json.JSONDecodeError as exc:
                yield n, RecordError("(json)", f"不是有效的 JSON: {exc.msg}")
                continue
            yield n, obj if isinstance(obj, dict) else RecordError("(json)", "每行应为一个 JSON 对象")
