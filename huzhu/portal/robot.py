"""The answering robot: BM25 over the knowledge base, Chinese segmented by jieba.

Each entry is one document: its question and other phrasings (counted twice: they say what
the entry answers) and its answer. A text becomes jieba's words, minus stop words and
punctuation, plus the character bigrams of every Chinese run, so that a typo (“里赔” for
“理赔”) or a word jieba cuts differently still shares most of its terms. Scores are BM25
(k1 = 1.2, b = 0.75); the best entry answers when its score reaches :data:`THRESHOLD`,
otherwise the question is not answered (and, for a member, goes to staff as a 工单).

The dictionary is loaded once, on the first question (about a second), not at import: a
process that never answers never pays for it. The index is rebuilt when an entry changes
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
THRESHOLD = 6.0

# Words the knowledge base uses that jieba's general dictionary splits.
DOMAIN_WORDS = (
    "互助金", "互助1号", "互助2号", "互助3号", "城镇互助保", "城乡互助保", "等待期", "保障期",
    "出院小结", "住院发票", "结算单", "诊断证明", "银行卡", "验证码", "补件", "退回补件",
    "不予给付", "住院补贴", "身故金", "伤残", "经办人", "代办点", "花名册", "续保", "参保",
    "封顶", "起付线", "工单", "到账", "新就业形态", "网约车", "外卖", "快递员", "抚恤金",
)
STOP = frozenset("""的 了 吗 呢 啊 吧 呀 么 嘛 哦 哈 是 我 你 他 她 它 我们 你们 请问 请 一下 一个
怎么 怎么办 怎样 如何 什么 哪 哪里 哪个 可以 能 能不能 会 要 想 还 都 就 也 和 与 及 在 有 没 没有
这 那 这个 那个 吗? 么? 多少 几 为 为什么 给 把 被 对 到 从 自己 本人 现在 已经 呢?""".split())
_CJK = re.compile(r"[\u4e00-\u9fff]+")
_WORD = re.compile(r"[\u4e00-\u9fff]+|[a-z0-9]+")

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


def terms(text: str) -> list[str]:
    text = text.lower().translate(_FULLWIDTH)
    for zh, digit in (("一号", "1号"), ("二号", "2号"), ("两号", "2号"), ("三号", "3号")):
        text = text.replace(zh, digit)
    out = [w for w in segmenter().lcut(text) if _WORD.fullmatch(w) and w not in STOP]
    for run in _CJK.findall(text):
        out.extend(run[i:i + 2] for i in range(len(run) - 1))
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
            tf = Counter(terms(head) * 2 + terms(e.answer))
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
