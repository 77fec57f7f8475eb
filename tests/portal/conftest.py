"""The portal's world: the claims world (张三 covered by 重庆 住院医疗 from 2026-01-01, phone
13812341234 from the roster) with the seed knowledge base loaded."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.claims.conftest import (  # noqa: F401
    claims_world,
    money_world,
    period_world,
)

HERE = Path(__file__).parent


def questions(name: str = "questions.tsv") -> list[tuple[str, str]]:
    rows = []
    for line in (HERE / name).read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            q, slug = line.split("\t")
            rows.append((q, slug))
    return rows


@pytest.fixture
def portal_world(money_world: Any) -> Any:  # noqa: F811
    from huzhu.portal.seed import kb_seed

    kb_seed()
    return money_world


def file_claim(w: Any, setl_id: str = "S1", **kw: Any) -> Any:
    from huzhu.claims.ingest import settlement_ingest
    from huzhu.claims.services import claim_file
    from tests.claims.conftest import MEDICAL, record

    s = settlement_ingest(record=record(setl_id, w.zhangsan.id_number, **kw),
                          actor=w.bureau).settlement
    return claim_file(member=w.zhangsan, settlement=s, product_code=MEDICAL, actor=w.lisi,
                      source="agent", as_of=datetime.date(2026, 3, 20))
