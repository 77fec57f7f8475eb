"""China Merchants Bank (招商银行) 银企直联 batch payment, BB1PAYBH, as a file, and its result
(BB1QRYBD) — FORMATS §5.3, source S5.

Batch file: a UTF-8 JSON document in the request's shape: ``bb1bmdbhx1`` (one header: bthNbr
批次编号, busCod 业务类型, busMod 业务模式, dtlNbr 总明细笔数, ctnFlg 续传标志) and ``bb1paybhx1``
(one object per line: dbtAcc 转出帐号, bnkFlg Y 收方在招行 / N 他行, ccyNbr 10 人民币, crtAcc 收方帐号,
crtNam 收方户名, crtBnk 收方开户行名称, brdNbr 收方行联行号, nusAge 用途, stlChn G 普通, trsAmt
交易金额 (yuan, two decimals, as text), yurRef 业务参考号 = our 明细号 (unique, and the same on a
resend: CMB's idempotency key), busNar 业务摘要). busCod and busMod are the codes CMB assigns
with the 代发 contract: the file leaves them blank for the 银企直连 client to fill.

Result: a JSON document ``{"bb1qrybdz1": [...]}`` with each line's bthNbr, yurRef, crtAcc,
crtNam, trsAmt, reqSts and rtnFlg, errTxt or rtnNar (失败原因), reqNbr. A line is final only when
reqSts is FIN: rtnFlg S 成功 is paid; F 失败, B 退票, R 否决, D 过期, C 撤消 are failed; U 挂账 and
every other reqSts (AUT, NTE, BNK, WRF, OPR, APW) stay in flight.
"""

from __future__ import annotations

import json
from typing import Any

from ..bankfile import MAX_RESULT_BYTES, BankFileError, ResultLine, fen_to_yuan, yuan_to_fen
from . import FileBatch, ReadLine, batch_of

FAILED = {"F": "失败", "B": "退票", "R": "否决", "D": "过期", "C": "撤消"}
PURPOSE = "互助金"


class CmbJson:
    name = "cmb-bb1paybh"
    label = "招商银行 银企直联批量支付（BB1PAYBH，JSON）"
    extension = "json"
    content_type = "application/json; charset=utf-8"
    result_label = "招商银行批量支付结果查询（BB1QRYBD）的 JSON 应答（bb1qrybdz1 明细）"
    result_accept = ".json,application/json"
    gbk = True
    needs_payer = True
    needs_cnaps = "cross"
    name_bytes = 0

    def render(self, batch: FileBatch) -> bytes:
        lines = [{"dbtAcc": batch.payer.account,
                  "bnkFlg": "Y" if ln.same_bank(batch.payer) else "N",
                  "ccyNbr": "10", "crtAcc": ln.account_no, "crtNam": ln.account_name,
                  "crtBnk": ln.bank_name, "brdNbr": ln.bank_cnaps, "nusAge": PURPOSE,
                  "stlChn": "G", "trsAmt": fen_to_yuan(ln.amount_fen),
                  "yurRef": ln.out_detail_no, "busNar": ln.memo} for ln in batch.lines]
        doc = {"bb1bmdbhx1": [{"bthNbr": batch.number, "busCod": "", "busMod": "",
                               "dtlNbr": str(len(lines)), "ctnFlg": "N"}],
               "bb1paybhx1": lines}
        return json.dumps(doc, ensure_ascii=False, indent=1).encode("utf-8")

    def read_batch(self, data: bytes) -> tuple[str, int, int, list[ReadLine]]:
        doc = json.loads(data.decode("utf-8"))
        head = doc["bb1bmdbhx1"][0]
        lines = [ReadLine(x["yurRef"], x["crtAcc"], x["crtNam"], yuan_to_fen(x["trsAmt"]) or 0,
                          x.get("busNar", "")) for x in doc["bb1paybhx1"]]
        return head["bthNbr"], int(head["dtlNbr"]), sum(ln.amount_fen for ln in lines), lines

    def parse_result(self, data: bytes, batch_no: str) -> list[ResultLine]:
        if len(data) > MAX_RESULT_BYTES:
            raise BankFileError([f"文件超过 {MAX_RESULT_BYTES // 1024 // 1024} MB 上限"])
        try:
            doc = json.loads(data.decode("utf-8-sig"))
            rows = doc["bb1qrybdz1"]
            assert isinstance(rows, list)
        except (UnicodeDecodeError, ValueError, KeyError, TypeError, AssertionError):
            raise BankFileError(["不是招商银行批量支付结果（应为含 bb1qrybdz1 明细的 JSON）"]) from None
        out: list[ResultLine] = []
        problems: list[str] = []
        for n, x in enumerate(rows, 1):
            where = f"第 {n} 条明细"
            if not isinstance(x, dict):
                problems.append(f"{where}不是对象")
                continue
            cell: dict[str, str] = {k: str(v).strip() for k, v in x.items() if v is not None}
            bad = [f"{where}“{k}”为空" for k in ("yurRef", "crtAcc", "crtNam", "trsAmt", "reqSts")
                   if not cell.get(k)]
            amount = yuan_to_fen(cell.get("trsAmt", "")) if cell.get("trsAmt") else None
            if cell.get("trsAmt") and amount is None:
                bad.append(f"{where}“trsAmt”不是两位小数的元金额：{cell['trsAmt'][:20]}")
            flag = cell.get("rtnFlg", "")
            outcome, reason = "processing", ""
            if cell.get("reqSts") == "FIN" and flag == "S":
                outcome = "paid"
            elif cell.get("reqSts") == "FIN" and flag in FAILED:
                outcome = "failed"
                reason = cell.get("errTxt") or cell.get("rtnNar") or FAILED[flag]
            if cell.get("bthNbr") and cell.get("yurRef") \
                    and batch_of(cell["yurRef"]) != cell["bthNbr"]:
                bad.append(f"{where}业务参考号 {cell['yurRef'][:40]} 不属于批次 {cell['bthNbr'][:32]}")
            if bad:
                problems += bad
                continue
            out.append(ResultLine(n, batch_of(cell["yurRef"]), cell["yurRef"],
                                  cell["crtAcc"].replace(" ", ""), cell["crtNam"], amount or 0,
                                  outcome, reason[:200], cell.get("reqNbr", "")[:60]))
        if problems:
            raise BankFileError(problems)
        if not out:
            raise BankFileError(["文件没有明细"])
        return out

    def render_result(self, batch_no: str, lines: list[ResultLine]) -> bytes:
        rows: list[dict[str, Any]] = []
        for ln in lines:
            row = {"bthNbr": batch_no, "yurRef": ln.out_detail_no, "crtAcc": ln.account_no,
                   "crtNam": ln.account_name, "trsAmt": fen_to_yuan(ln.amount_fen),
                   "reqSts": "BNK" if ln.outcome == "processing" else "FIN",
                   "rtnFlg": {"paid": "S", "failed": "F"}.get(ln.outcome, ""),
                   "reqNbr": ln.bank_ref}
            if ln.outcome == "failed":
                row["errTxt"] = ln.reason
            rows.append(row)
        return json.dumps({"bb1qrybdz1": rows}, ensure_ascii=False, indent=1).encode("utf-8")
