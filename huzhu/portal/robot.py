"""The answering robot: BM25 over the knowledge base, Chinese segmented by jieba.

Each entry is one document: its question and other phrasings (counted twice: they say what
the entry answers) and its answer. A text becomes jieba's words, minus stop words and
punctuation, plus the character bigrams of every Chinese run, so that a typo (“里赔” for
“理赔”) or a word jieba cuts differently still shares most of its terms. Scores are BM25
(k1 = 1.2, b = 0.75); the best entry answers when its score reaches :data:`THRESHOLD`,
otherwise the question is not answered (and, for a member, goes to staff as a 工单).

The dictionary is loaded once per process, not at import: the web server starts loading it in
the background when it starts (``huzhu/wsgi.py``), and a question asked before that is done
(or in a process that is not the server) loads it itself; a process that never answers never
pays for it. The index is rebuilt when an entry changes
(the count and newest ``updated_at`` of the entries are its key)."""

from __future__ import annotations

import math
import re
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Max

from .models import KnowledgeEntry

K1 = 1.2
B = 0.75
THRESHOLD = 5.0
HEAD_WEIGHT = 4

# Words the knowledge base uses that jieba's general dictionary splits.
DOMAIN_WORDS = (
    "互助金", "互助1号", "互助2号", "互助3号", "城镇互助保", "城乡互助保", "等待期", "保障期",
    "出院小结", "住院发票", "结算单", "诊断证明", "银行卡", "验证码", "补件", "退回补件",
    "不予给付", "住院补贴", "身故金", "伤残", "经办人", "代办点", "花名册", "续保", "参保",
    "封顶", "起付线", "工单", "到账", "新就业形态", "网约车", "外卖", "快递员", "抚恤金",
)
STOP = frozenset("""的 了 吗 呢 啊 吧 呀 么 嘛 哦 哈 是 我 你 他 她 它 我们 你们 请问 请 一下 一个
怎么 怎么办 怎样 如何 什么 哪 哪里 哪个 可以 能 能不能 会 要 想 还 都 就 也 和 与 及 在 有 没 没有
这 那 这个 那个 多少 几 为 为什么 给 把 被 对 到 从 自己 本人 现在 已经 啥 咋 咋办 不 么 吗 是不是
有没有 会不会 能否 一般 这个 那 个 下 上 去 来 说 得 地 着 过 该 应该 需要 还是 或者 就是""".split())
# Characters that carry no meaning alone: a bigram made only of them is dropped.
STOP_CHARS = frozenset("的了吗呢啊吧呀么嘛哦哈是我你他她它们请问一下个怎样如何什哪里可以能会要想还都就也和与及在有没这那几为给把被对到从自己本人现已经啥咋不么该过着得地说来去上吗拿多少")
# Particles and pronouns: a bigram with one of them is noise (“么提”, “金怎”).
PARTICLES = frozenset("的了吗呢啊吧呀么嘛哦哈我你他她它们请问怎样如何什哪啥咋这那")
# Colloquial words and the knowledge base's own word for the same thing (同义词): a question
# saying the first also counts the second.
SYNONYMS = {
    "报销": "理赔", "报": "理赔", "赔": "给付", "赔付": "给付", "拒赔": "不予给付", "不赔": "不予给付",
    "观察期": "等待期", "免赔期": "等待期", "生效": "开始保障", "入会": "参保", "加入": "参保",
    "报名": "参保", "买": "参加", "购买": "参加", "续费": "续保", "续交": "续保", "续会": "续保",
    "保费": "保费", "交钱": "缴费", "交费": "缴费", "掏": "缴费", "免费": "赠送", "不用交钱": "赠送",
    "打钱": "支付", "到卡": "到账", "打款": "支付", "发钱": "支付", "收钱": "收款",
    "换卡": "更换银行卡", "改卡": "更换银行卡", "卡号": "银行卡号", "退票": "支付失败",
    "资料": "材料", "证明": "材料", "票据": "收据", "凭证": "收据", "发票": "发票",
    "车祸": "意外", "死亡": "身故", "死": "身故", "残疾": "伤残", "致残": "伤残", "工伤": "意外",
    "外卖": "新就业形态", "骑手": "新就业形态", "快递": "新就业形态", "滴滴": "网约车",
    "司机": "新就业形态", "辞职": "离职", "跳槽": "换工作", "外省": "异地", "外地": "异地",
    "比列": "比例", "几成": "比例", "封顶": "最高", "上限": "最高", "限额": "最高",
    "客服": "人工", "真人": "人工", "电话": "联系", "热线": "联系", "隐私": "个人信息",
    "泄露": "安全", "泄漏": "安全", "挪用": "基金", "监管": "基金", "审批": "审核",
    "批": "核准", "异议": "申诉", "异意": "申诉", "不服": "申诉", "复议": "申诉",
    "补件": "补充材料", "结算数据": "结算记录", "住院记录": "结算记录",
    "进度": "进度", "审到": "进度", "短信": "短信", "提醒": "通知", "门诊": "门诊", "药店": "门诊",
    "原件": "原件", "寄": "邮寄", "锁": "锁定", "登不上": "登录", "手机号码": "手机号",
    "不给我": "不予给付", "不给赔": "不予给付", "不给报": "不予给付", "传不上": "上传失败", "办卡": "开卡", "换张卡": "更换银行卡", "卡换了": "更换银行卡",
    "格式": "校验", "有误": "错误", "银行退回": "支付失败", "没收到": "收不到",
    "才能用": "等待期", "流程": "怎么申请", "送的": "赠送", "算不算": "生效",
    "期限": "申请期限", "时间限制": "申请期限", "截止": "期限", "一年": "每年",
}
_CJK = re.compile(r"[\u4e00-\u9fff0-9]+")
_WORD = re.compile(r"[\u4e00-\u9fffa-z0-9]+")

_FULLWIDTH = str.maketrans("０１２３４５６７８９", "0123456789")

_lock = threading.Lock()
_jieba: Any = None
_index: tuple[Any, Index] | None = None


def segmenter() -> Any:
    """jieba, with its dictionary and the domain words loaded (once per process)."""
    global _jieba
    if _jieba is None:
        with _lock:
            if _jieba is None:
                import logging

                import jieba

                jieba.setLogLevel(logging.WARNING)
                jieba.initialize()
                for w in DOMAIN_WORDS:
                    jieba.add_word(w, freq=20000)
                _jieba = jieba
    return _jieba


def warm_in_background() -> threading.Thread:
    """Load the dictionary in a daemon thread (the web server calls this at start)."""
    t = threading.Thread(target=segmenter, name="robot-dictionary", daemon=True)
    t.start()
    return t


def _plain_terms(text: str) -> list[str]:
    out = [w for w in segmenter().lcut(text) if _WORD.fullmatch(w) and w not in STOP]
    for run in _CJK.findall(text):
        out.extend(bg for i in range(len(run) - 1)
                   if (bg := run[i:i + 2]) not in STOP
                   and not (bg[0] in STOP_CHARS and bg[1] in STOP_CHARS)
                   and not (bg[0] in PARTICLES or bg[1] in PARTICLES))
    return out


def terms(text: str, *, expand: bool = True) -> list[str]:
    """The terms of a text: jieba's words and the character bigrams; for a question
    (``expand``) also the terms of the knowledge base's word for each colloquial one in it."""
    text = text.lower().translate(_FULLWIDTH)
    for zh, digit in (("一号", "1号"), ("二号", "2号"), ("两号", "2号"), ("三号", "3号")):
        text = text.replace(zh, digit)
    out = _plain_terms(text)
    if expand:
        for said, meant in SYNONYMS.items():
            if said in text and meant not in text:
                out.extend(_plain_terms(meant))
    return out


@dataclass(frozen=True)
class Doc:
    entry_id: int
    slug: str
    question: str
    answer: str
    tf: Counter[str]
    length: int


class Index:
    def __init__(self, entries: list[KnowledgeEntry]):
        self.docs: list[Doc] = []
        df: Counter[str] = Counter()
        for e in entries:
            head = " ".join([e.question, *e.phrasings.splitlines()])
            tf = Counter(terms(head, expand=False) * HEAD_WEIGHT + terms(e.answer, expand=False))
            self.docs.append(Doc(e.pk, e.slug, e.question, e.answer, tf, sum(tf.values())))
            df.update(tf.keys())
        n = len(self.docs) or 1
        self.avg = sum(d.length for d in self.docs) / n or 1.0
        self.idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}

    def rank(self, query: str, limit: int = 3) -> list[tuple[float, Doc]]:
        q = set(terms(query))
        scored = []
        for d in self.docs:
            s = 0.0
            norm = K1 * (1 - B + B * d.length / self.avg)
            for t in q:
                f = d.tf.get(t)
                if f:
                    s += self.idf[t] * f * (K1 + 1) / (f + norm)
            if s > 0:
                scored.append((s, d))
        scored.sort(key=lambda x: (-x[0], x[1].entry_id))
        return scored[:limit]


def index() -> Index:
    global _index
    stamp = KnowledgeEntry.objects.filter(active=True).aggregate(n=Count("id"),
                                                                 at=Max("updated_at"))
    key = (stamp["n"], stamp["at"])
    current = _index
    if current is None or current[0] != key:
        built = Index(list(KnowledgeEntry.objects.filter(active=True).order_by("id")))
        current = _index = (key, built)
    return current[1]


@dataclass(frozen=True)
class Found:
    entry_id: int
    slug: str
    question: str
    answer: str
    score: float


def best(question: str) -> tuple[Found | None, float, list[Found]]:
    """The entry that answers ``question`` (None below the threshold), the best score, and the
    next two entries for “您是不是想问”."""
    ranked = index().rank(question)
    found = [Found(d.entry_id, d.slug, d.question, d.answer, round(s, 2)) for s, d in ranked]
    top = found[0] if found else None
    score = top.score if top else 0.0
    return (top if score >= THRESHOLD else None), score, found[1:]
