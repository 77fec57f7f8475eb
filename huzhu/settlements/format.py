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

# The national platform's dictionaries (国家医保信息平台 code lists), in one place: what each
# code means and what huzhu keeps of it. docs/data-formats.md ("Dictionary codes") lists the same
# tables and their sources.
#
# 险种类型 (insutype).
INSUTYPES = {
    "310": "职工基本医疗保险", "320": "公务员医疗补助", "330": "大额医疗费用补助",
    "340": "离休人员医疗保障", "350": "一至六级残废军人医疗补助", "360": "老红军医疗保障",
    "370": "企业补充医疗保险", "380": "新型农村合作医疗", "390": "城乡居民基本医疗保险",
    "391": "城镇居民基本医疗保险", "392": "城乡居民大病医疗保险", "399": "其他特殊人员医疗保障",
    "410": "长期照护保险", "510": "生育保险",
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
# hosp_lv → the level huzhu's rules read (1 一级, 2 二级, 3 三级; 无等级: none). The older
# one-digit form ("1"/"2"/"3", huzhu's own generic format) keeps its meaning.
HOSP_LEVEL_OF = {
    "01": 3, "02": 3, "03": 3, "04": 3, "05": 2, "06": 2, "07": 2, "08": 1, "09": 1, "10": 1,
    "11": None, "1": 1, "2": 2, "3": 3,
}
LEVEL_NAMES = {1: "一级", 2: "二级", 3: "三级"}
# 性别 (gend): 1 男, 2 女; 0 未知的性别 and 9 未说明的性别 (GB/T 2261.1) kept as unknown.
GENDERS = {"1": "M", "2": "F", "M": "M", "F": "F", "男": "M", "女": "F", "0": "", "9": ""}
# 人员证件类型 (psn_cert_type) → how ``certno`` is checked. "resident": the 18-character
# resident ID (also the HK/Macao/Taiwan residence permit and the 2023 foreign permanent
# resident ID built on it), matched to members; the others are checked for their own shape
# and stored, but match no member (members register with a resident ID number).
CERT_TYPES = {
    "01": ("居民身份证（户口簿）", "resident"), "90": ("社会保障卡", "resident"),
    "02": ("中国人民解放军军官证", "other"), "03": ("中国人民武装警察警官证", "other"),
    "04": ("港澳居民来往内地通行证（香港）", "hk_macao"),
    "05": ("港澳居民来往内地通行证（澳门）", "hk_macao"),
    "06": ("台湾居民来往大陆通行证", "taiwan"), "07": ("外国人永久居留身份证", "foreign_pr"),
    "08": ("外国人护照", "passport"), "16": ("中国护照", "passport"),
    "09": ("残疾人证", "resident"), "10": ("军烈属证明", "other"), "11": ("外国人就业证", "other"),
    "12": ("外国专家证", "other"), "13": ("外国人常驻记者证", "other"),
    "14": ("台港澳人员就业证", "other"), "15": ("回国（来华）定居专家证", "other"),
    "99": ("其他身份证件", "other"),
}
# 退费结算标志 (refd_setl_flag): 0 normal, 1 a refund (its amounts negative).
REFUND_FLAGS = {"0": False, "1": True}


def code_label(table: dict[str, str], code: object) -> str:
    """A code's name, or the code itself marked as a local one."""
    text = str(code or "").strip()
    if not text:
        return "—"
    key = text.zfill(2) if text.isdigit() and len(text) == 1 else text
    return table.get(key) or f"其他（代码 {text}）"


REQUIRED_TEXT = ("setl_id", "certno", "insutype", "begndate", "enddate", "setl_time")
# A refund as the platform returns it from 2208/2305 carries no person fields: they are the
# original settlement's (same mdtrt_id), which intake copies in (huzhu.settlements.intake).
REFUND_REQUIRED_TEXT = ("setl_id", "mdtrt_id", "setl_time")
PERSON_FIELDS = ("certno", "insutype", "begndate", "enddate")
REQUIRED_AMOUNTS = ("medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt",
                    "inscp_scp_amt", "hifp_pay", "fund_pay_sumamt", "psn_part_amt")
NULLABLE_AMOUNTS = ("psn_selfpay", "psn_ownpay")  # 4101 settlement-list fields
TEXT_FIELDS = {"setl_id": 60, "mdtrt_id": 60, "psn_no": 60, "psn_name": 60, "med_type": 10,
               "fixmedins_code": 30, "fixmedins_name": 200, "diag_code": 200, "diag_name": 500}
OTHER_FIELDS = ("certno", "gend", "brdy", "insutype", "begndate", "enddate", "setl_time",
                "hosp_lv")
# Fields of the national platform's messages (2207/2304 and 2208/2305 setlinfo, 5203, the 4101
# settlement list and its lists) that huzhu does not use: accepted, and kept in the raw record
# as received. A name in none of these lists is refused: a misspelt amount must not vanish.
IGNORED = frozenset({
    # 2207/2304/2208/2305/5203 setlinfo
    "balc", "pool_prop_selfpay", "acct_mulaid_pay", "psn_cert_type", "mdtrt_cert_type",
    "psn_type", "cvlserv_flag", "emp_name", "age", "naty", "clr_optins", "clr_way", "clr_type",
    "setl_type", "medins_setl_id", "note", "hifdm_pay", "flxempe_flag", "nwb_flag", "pay_loc",
    "lmtpric_hosp_lv", "dedc_hosp_lv", "refd_setl_flag", "insu_optins", "fixmedins_poolarea",
    "year", "dise_codg", "dise_name", "invono", "opter_id", "opter_name", "opt_time", "psn_pay",
    "cash_payamt", "pdn_cash_pay", "exp_content", "insuplc_admdvs", "mdtrtarea_admvs",
    # 4101 setlinfo (表154)
    "hi_no", "medcasno", "insuplc", "bill_code", "bill_no", "biz_sn", "hsorg", "hsorg_opter",
    "hi_setl_lv", "patn_cert_type", "hi_type", "sp_psn_type", "ipt_med_type", "adm_way",
    "trt_type", "dscg_way", "hi_paymtd", "adm_caty", "dscg_caty", "refldept_dept",
    "otp_wm_dise", "wm_dise_code", "otp_tcm_dise", "tcm_dise_code", "setl_begn_date",
    "setl_end_date", "adm_time", "dscg_time", "nwb_age", "act_ipt_days", "psn_cashpay",
    "setl_list_id", "ntly", "prfs", "curr_addr", "emp_addr", "emp_tel", "poscode", "coner_name",
    "patn_rlts", "coner_addr", "coner_tel", "nwb_adm_type", "nwb_bir_wt", "nwb_adm_wt",
    "opsp_diag_caty", "opsp_mdtrt_date", "days_rinp_flag_31", "days_rinp_pup_31", "chfpdr_name",
    "chfpdr_code", "stas_type", "resp_nurs_code", "bld_cat", "bld_amt", "bld_unt",
    # the lists a message carries beside setlinfo
    "setldetail", "diseinfo", "payinfo", "iteminfo", "oprninfo", "icuinfo", "opspdiseinfo",
    "bldinfo",
    # the envelope's fields, kept with the record (see :func:`unwrap`)
    "_envelope",
})
LISTS = frozenset({"setldetail", "diseinfo", "payinfo", "iteminfo", "oprninfo", "icuinfo",
                   "opspdiseinfo", "bldinfo"})
ALIASES = {"hospital_level": "hosp_lv"}
KNOWN = frozenset(TEXT_FIELDS) | frozenset(OTHER_FIELDS) | frozenset(AMOUNT_FIELDS) | IGNORED
CSV_HEADERS = tuple(TEXT_FIELDS) + OTHER_FIELDS + AMOUNT_FIELDS  # the documented column order
# The names the platform gives a field in another message, for when the field itself is
# absent: (field, its other names in order of preference). 4101 says adm_time / dscg_time
# (or setl_begn_date / setl_end_date) where 5203 says begndate / enddate; the cash paid is
# psn_cashpay (4101), pdn_cash_pay (2208) or cash_payamt (5203).
OTHER_NAMES = {
    "begndate": ("adm_time", "setl_begn_date"), "enddate": ("dscg_time", "setl_end_date"),
    "psn_cash_pay": ("psn_cashpay", "pdn_cash_pay", "cash_payamt"),
}
ENVELOPE = "_envelope"


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
        return parse_yuan(v)
    except MoneyError as exc:
        raise SettlementError(name, str(exc)) from None


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


def _other_names(rec: dict[str, Any]) -> None:
    """Fill a field from the name the platform gives it in another message (OTHER_NAMES), and
    the diagnosis from the message's ``diseinfo`` list (the main one: maindiag_flag 1)."""
    for name, others in OTHER_NAMES.items():
        if _blank(rec.get(name)):
            for other in others:
                if not _blank(rec.get(other)):
                    rec[name] = rec[other]
                    break
    dise = rec.get("diseinfo")
    if dise is not None and _blank(rec.get("diag_code")):
        if not isinstance(dise, list) or not all(isinstance(d, dict) for d in dise):
            raise SettlementError("diseinfo", "诊断信息 diseinfo 应为 JSON 对象的列表")
        main = next((d for d in dise if str(d.get("maindiag_flag", "")).strip() == "1"),
                    dise[0] if dise else None)
        if main is not None:
            if _blank(main.get("diag_code")):
                raise SettlementError("diseinfo", "主诊断缺少诊断代码 diag_code")
            rec["diag_code"] = main.get("diag_code")
            rec["diag_name"] = main.get("diag_name") or rec.get("diag_name")


def _refund(rec: dict[str, Any]) -> bool:
    """Whether the record reverses a settlement: refd_setl_flag 1, or a negative total (a
    2208/2305 result carries no flag; its amounts are negative)."""
    flag = rec.get("refd_setl_flag")
    if not _blank(flag):
        text = str(flag).strip()
        if text not in REFUND_FLAGS:
            raise SettlementError("refd_setl_flag", f"退费结算标志应为 0 或 1，实际为 {flag!r}")
        if REFUND_FLAGS[text]:
            return True
        return False
    total = rec.get("medfee_sumamt")
    return not _blank(total) and str(total).strip().startswith("-")


_CERT_SHAPES = {
    "hk_macao": (r"[HM]\d{8}(\d{2})?", "应为 H 或 M 加 8 位或 10 位数字"),
    "taiwan": (r"\d{8}(\d{2})?", "应为 8 位或 10 位数字"),
    "foreign_pr": (r"[A-Z]{3}\d{12}", "应为 3 个字母加 12 位数字（旧版）或 18 位（2023 版）"),
    "passport": (r"[A-Z0-9]{5,20}", "应为 5 至 20 位字母或数字"),
    "other": (r"[A-Za-z0-9]{1,50}", "应为 1 至 50 位字母或数字"),
}


def _certno(rec: dict[str, Any]) -> str:
    """``certno`` checked as what ``psn_cert_type`` says it is (CERT_TYPES)."""
    import re

    code = "01" if _blank(rec.get("psn_cert_type")) else str(rec["psn_cert_type"]).strip()
    if code not in CERT_TYPES:
        raise SettlementError("psn_cert_type", f"未知的人员证件类型 {code!r}")
    label, kind = CERT_TYPES[code]
    raw = str(rec["certno"]).strip()
    if kind == "foreign_pr" and len(raw) == 18:
        kind = "resident"  # the 2023 card: an 18-digit number built like a resident ID
    if kind == "resident":
        try:
            return check_resident_id(raw).number
        except IdentifierError as exc:
            raise SettlementError("certno", f"{exc.message}（证件类型：{label}）") from None
    pattern, shape = _CERT_SHAPES[kind]
    value = raw.upper().replace(" ", "")
    if not re.fullmatch(pattern, value):
        raise SettlementError("certno", f"{label}号码{shape}，实际为 {raw!r}")
    return value


def parse_record(raw: dict[str, Any]) -> dict[str, Any]:
    """Return the clean values of one record (amounts as ``<name>_fen``); raise
    :class:`SettlementError` for the first bad field. A refund's amounts are negative; a
    refund without person fields (as 2208/2305 return it) has ``certno`` "" and no dates, for
    intake to fill from the settlement it reverses."""
    if not isinstance(raw, dict):
        raise SettlementError("", "每条记录应为一个 JSON 对象")
    rec = {ALIASES.get(k, k): v for k, v in raw.items()}
    for key in rec:
        if key not in KNOWN:
            raise SettlementError(str(key), "未知字段（不是医保平台结算接口的字段）")
    _other_names(rec)
    refund = _refund(rec)
    bare = refund and all(_blank(rec.get(k)) for k in PERSON_FIELDS)
    for key in (REFUND_REQUIRED_TEXT if bare else REQUIRED_TEXT) + REQUIRED_AMOUNTS:
        if _blank(rec.get(key)) and not (key == "psn_part_amt" and not _blank(rec.get("psn_pay"))):
            hint = ""
            if key == "insutype" and not _blank(rec.get("hi_type")):
                hint = "（结算清单的医保类型 hi_type 与险种类型代码表不同，不能代替）"
            raise SettlementError(key, f"必填，不能为空{hint}")
    out: dict[str, Any] = {}
    for key, size in TEXT_FIELDS.items():
        value = "" if _blank(rec.get(key)) else str(rec[key]).strip()
        if len(value) > size:
            raise SettlementError(key, f"长度不能超过 {size} 个字符")
        out[key] = value
    if bare:
        out.update(certno="", gend="", brdy=None, insutype="", begndate=None, enddate=None)
    else:
        out["certno"] = _certno(rec)
        gend = rec.get("gend")
        if not _blank(gend) and str(gend).strip() not in GENDERS:
            raise SettlementError("gend", f"性别应为 1（男）、2（女）、0（未知）或 9（未说明），实际为 {gend!r}")
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
    if out["begndate"] is not None and out["setl_time"].date() < out["begndate"]:
        raise SettlementError("setl_time", f"结算时间 {out['setl_time']:%Y-%m-%d} 早于入院日期")
    lv = rec.get("hosp_lv")
    if _blank(lv):
        out["hosp_lv"] = None
    elif str(lv).strip() in HOSP_LEVEL_OF:
        out["hosp_lv"] = HOSP_LEVEL_OF[str(lv).strip()]
    else:
        raise SettlementError("hosp_lv", f"医院等级应为医保平台代码 01–11（或 1、2、3），实际为 {lv!r}")
    amounts: dict[str, int | None] = {}
    for name in AMOUNT_FIELDS:
        v = rec.get(name)
        if _blank(v):
            amounts[name] = None if name in NULLABLE_AMOUNTS else 0
            continue
        fen = _amount(name, v)
        if fen < 0 and not refund:
            raise SettlementError(name, f"金额不能为负：{v}（退费结算须标明 refd_setl_flag 为 1）")
        if fen > 0 and refund:
            raise SettlementError(name, f"退费结算的金额应为负数或零，实际为 {v}")
        amounts[name] = fen
    sign = -1 if refund else 1
    if _blank(rec.get("psn_part_amt")):  # 5203 gives psn_pay instead: the rest of the total
        amounts["psn_part_amt"] = (amounts["medfee_sumamt"] or 0) - (
            amounts["fund_pay_sumamt"] or 0) - (amounts["hosp_part_amt"] or 0)
    try:
        _sums({k: sign * v for k, v in amounts.items() if v is not None})
    except SettlementError as exc:
        if refund:
            exc.message = f"退费结算（按绝对值核对）：{exc.message}"
        raise
    out.update({f"{k}_fen": v for k, v in amounts.items()})
    return out


def unwrap(message: Any) -> Any:
    """One message as the platform sends it, made a record :func:`parse_record` reads.

    - A response envelope (``infcode``, ``err_msg``, ``output``…, 2207/2304/2208/2305/5203):
      an ``infcode`` other than 0, or any ``err_msg`` (Hunan answers 0 with one), is the
      platform's failure and refused naming its message; otherwise ``output.setlinfo`` is the
      record, with ``output``'s lists (``setldetail``…) and the envelope's other fields kept
      beside it (under ``_envelope``), stored with the raw record.
    - A body with ``setlinfo`` (a 4101 settlement list: ``setlinfo`` with ``diseinfo``,
      ``payinfo``…, or an ``output`` without its envelope): the same without the envelope.
    - Anything else is a flat record, returned as it is.
    Returns the record, or a :class:`SettlementError` (never raises)."""
    if not isinstance(message, dict):
        return message
    if "infcode" in message or "output" in message:
        code = message.get("infcode")
        text = "" if code is None else str(code).strip()
        err = "" if _blank(message.get("err_msg")) else str(message["err_msg"]).strip()
        if text != "0" or err:
            return SettlementError("infcode" if text != "0" else "err_msg",
                                   f"医保平台返回交易失败（infcode {text or '空'}）："
                                   f"{err or '未给出错误信息 err_msg'}")
        body = message.get("output")
        if not isinstance(body, dict):
            return SettlementError("output", "报文缺少交易输出 output（应为一个 JSON 对象）")
        rec = _flatten(body)
        if isinstance(rec, dict):
            rec[ENVELOPE] = {k: v for k, v in message.items() if k != "output"}
        return rec
    if "setlinfo" in message:
        return _flatten(message)
    return message


def _flatten(body: dict[str, Any]) -> dict[str, Any] | SettlementError:
    info = body.get("setlinfo")
    if isinstance(info, list) and len(info) == 1:
        info = info[0]
    if not isinstance(info, dict):
        return SettlementError("setlinfo", "缺少结算信息 setlinfo（应为一个 JSON 对象）")
    rec = dict(info)
    for key, value in body.items():
        if key == "setlinfo":
            continue
        if key in rec:
            return SettlementError(str(key), "与结算信息 setlinfo 中的同名字段重复")
        # S2 declares setldetail a single object, S1/S3 a list: a list either way
        rec[key] = ([] if value is None else value if isinstance(value, list) else [value]
                    ) if key in LISTS else value
    return rec


def _jsonable(v: Any) -> Any:
    if isinstance(v, datetime.date | datetime.datetime):
        return v.isoformat()
    return str(v)


def content_hash(clean: dict[str, Any]) -> str:
    """The same record in any spelling (``"100"``, ``100.00``) hashes the same."""
    return hashlib.sha256(_HASHED.encode(clean).encode()).hexdigest()


# The encoders of content_hash and raw_text, built once (json.dumps builds one each call).
_HASHED = json.JSONEncoder(sort_keys=True, ensure_ascii=False, default=_jsonable,
                           separators=(",", ":"))
_RAW = json.JSONEncoder(ensure_ascii=False, default=_jsonable, separators=(",", ":"))


def raw_text(raw: dict[str, Any]) -> str:
    return _RAW.encode(raw)


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


# One decoder for every line (json.loads with an argument builds a new one each call).
_DECODER = json.JSONDecoder(parse_float=Decimal)


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
    if stripped.startswith("{") and "\n" in stripped.rstrip():
        try:  # one message, pretty-printed (the platform's answer saved as it came)
            obj = json.loads(stripped, parse_float=Decimal)
        except json.JSONDecodeError:
            pass  # JSON lines
        else:
            yield 1, obj if isinstance(obj, dict) else SettlementError("", "应为一个 JSON 对象")
            return
    n = 0
    for line in text.splitlines():
        if not line.strip():
            continue
        n += 1
        try:
            obj = _DECODER.decode(line)
        except json.JSONDecodeError as exc:
            yield n, SettlementError("", f"不是有效的 JSON：{exc.msg}")
            continue
        yield n, obj if isinstance(obj, dict) else SettlementError("", "每行应为一个 JSON 对象")
