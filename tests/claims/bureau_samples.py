"""The national platform's messages as it sends them, built from a test record: the 2304 (or
2207) settlement output in its envelope, a 5203 settlement-query record, a 4101 settlement
list, and a 2208/2305 refund output. Field names and shapes as docs/data-formats.md shows."""

from __future__ import annotations

import json
from typing import Any

ENVELOPE = {"infcode": 0, "inf_refmsgid": "500000202603101000000000000001",
            "refmsg_time": "20260310100000123", "respond_time": "20260310100000456",
            "err_msg": None, "warn_msg": None, "cainfo": None, "signtype": None}
DETAIL = [{"fund_pay_type": "310100", "inscp_scp_amt": "10000.00", "crt_payb_lmt_amt": "0.00",
           "fund_payamt": "7000.00", "fund_pay_type_name": "职工基本医疗保险统筹基金",
           "setl_proc_info": ""}]


def setlinfo(rec: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """The record's fields as 2304 returns them: no diagnosis, the platform's codes, and
    fields huzhu keeps but does not use (naty, psn_type, balc…)."""
    info = {k: v for k, v in rec.items() if k not in ("diag_code", "diag_name")}
    info.update({"psn_cert_type": "01", "naty": "01", "age": "45.0", "psn_type": "1101",
                 "cvlserv_flag": "0", "mdtrt_cert_type": "02", "clr_way": "1", "clr_type": "21",
                 "clr_optins": "500000", "medins_setl_id": "H45010300001202603101000000001",
                 "balc": "1234.56", "acct_mulaid_pay": "0.00", "pool_prop_selfpay": "0.7000",
                 "hosp_lv": "02"})
    info.update(extra)
    return info


def envelope_2304(rec: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {**ENVELOPE, "output": {"setlinfo": setlinfo(rec, **extra), "setldetail": DETAIL}}


def record_5203(rec: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """5203: begndate/enddate, fixmedins, hosp_lv as the platform's code, psn_pay and
    cash_payamt where 2207 says psn_part_amt and psn_cash_pay."""
    info = setlinfo(rec, **extra)
    info["psn_pay"] = info.pop("psn_part_amt")
    info["cash_payamt"] = info.pop("psn_cash_pay")
    info.update({"refd_setl_flag": info.get("refd_setl_flag", "0"), "year": "2026",
                 "insu_optins": "500000", "fixmedins_poolarea": "500000", "pay_loc": "2",
                 "lmtpric_hosp_lv": "02", "dedc_hosp_lv": "02", "flxempe_flag": "0",
                 "nwb_flag": "0", "dise_codg": "", "dise_name": "", "opt_time": info["setl_time"]})
    return {**ENVELOPE, "output": {"setlinfo": info, "setldetail": DETAIL}}


def list_4101(rec: dict[str, Any]) -> dict[str, Any]:
    """A 4101 settlement list: setlinfo with adm_time/dscg_time and psn_cashpay, the
    diagnoses in diseinfo (the main one flagged), payinfo beside it."""
    info = {k: v for k, v in rec.items()
            if k not in ("diag_code", "diag_name", "begndate", "enddate", "psn_cash_pay")}
    info.update({"adm_time": f"{rec['begndate']} 08:30:00", "dscg_time": f"{rec['enddate']} 09:00:00",
                 "setl_begn_date": rec["begndate"], "setl_end_date": rec["enddate"],
                 "psn_cashpay": rec["psn_cash_pay"], "hi_type": "1", "medcasno": "BA0001",
                 "act_ipt_days": "9", "hi_setl_lv": "3"})
    return {"setlinfo": info,
            "payinfo": [{"fund_pay_type": "310100", "fund_payamt": rec["hifp_pay"]}],
            "diseinfo": [{"diag_type": "1", "diag_code": "J18.900", "diag_name": "肺炎",
                          "maindiag_flag": "0", "adm_cond_type": "1"},
                         {"diag_type": "1", "diag_code": "K35.800", "diag_name": "急性阑尾炎",
                          "maindiag_flag": "1", "adm_cond_type": "1"}]}


def refund_2305(rec: dict[str, Any], setl_id: str, when: str = "2026-03-12 10:00:00"
                ) -> dict[str, Any]:
    """2305 住院结算撤销 output: the reduced setlinfo (no person fields), amounts negative,
    a new setl_id."""
    keep = ("mdtrt_id", "setl_time", "medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay",
            "preselfpay_amt", "inscp_scp_amt", "hifp_pay", "fund_pay_sumamt", "psn_part_amt",
            "acct_pay", "psn_cash_pay")
    info: dict[str, Any] = {"setl_id": setl_id, "clr_optins": "500000",
                            "medins_setl_id": "H45010300001202603121000000002"}
    for k in keep:
        v = rec[k]
        info[k] = v if k == "mdtrt_id" or v in ("0.00", "0") else f"-{v}"
    info["setl_time"] = when
    return {**ENVELOPE, "output": {"setlinfo": info, "setldetail": DETAIL}}


def pretty(message: dict[str, Any]) -> bytes:
    return json.dumps(message, ensure_ascii=False, indent=2).encode()


def one_line(*messages: dict[str, Any]) -> bytes:
    return "\n".join(json.dumps(m, ensure_ascii=False) for m in messages).encode()
