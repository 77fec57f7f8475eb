"""The bureau's codes are shown by name on the claim page (issue 17 part 3): 险种类型 310 as
职工基本医疗保险, 医疗类别 21 as 普通住院, 医院等级 03 as 三级乙等 (a stored level 3 as 三级); a local code keeps its number,
marked as such."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from huzhu.claims.ingest import settlement_ingest
from huzhu.claims.services import claim_file
from huzhu.settlements.format import HOSP_LEVELS, MED_TYPES, code_label

from .conftest import MEDICAL, record

pytestmark = pytest.mark.django_db


def test_code_label():
    assert code_label(MED_TYPES, "21") == "普通住院"
    assert code_label(HOSP_LEVELS, "3") == "三级乙等" and code_label(HOSP_LEVELS, 2) == "三级甲等"
    assert code_label(MED_TYPES, "9903") == "其他（代码 9903）"  # local, differs by region
    assert code_label(MED_TYPES, "") == "—"


def test_the_claim_page_names_the_codes(money_world):
    w = money_world
    s = settlement_ingest(record=record("S-CODES", w.zhangsan.id_number, begin="2026-11-20",
                                        end="2026-11-25"), actor=w.bureau).settlement
    claim = claim_file(member=w.zhangsan, settlement=s, product_code=MEDICAL, actor=w.lisi,
                       source="agent")
    client = Client()
    client.force_login(w.lisi)
    page = client.get(reverse("claims:detail", args=[claim.pk])).content.decode()
    assert f"<td>{code_label(MED_TYPES, s.med_type)}</td>" in page
    assert s.insutype == "310" and "<td>职工基本医疗保险</td>" in page
    assert f"<td>{s.insutype}</td>" not in page and f"<td>{s.med_type}</td>" not in page
    # the stored level is the rules' 1/2/3 (issue 15): 3 is 三级, not the platform's 03 三级乙等
    assert s.hosp_lv == 3 and "<td>三级</td>" in page and "三级乙等" not in page


def test_a_member_reads_his_claim_without_the_reviewers_workings(money_world):
    from huzhu.claims.models import ClaimPolicy
    from huzhu.claims.review import claim_review

    from .test_review import in_review

    w = money_world
    ClaimPolicy.objects.create(product_code=MEDICAL, sample_percent=100)
    claim = in_review(w, "S-MEMBER")
    claim_review(claim, actor=w.wangwu, action="reject", reason_code="NOT_INPATIENT",
                 note="门诊费用")
    member = Client()
    member.force_login(w.zhangsan_user)
    page = member.get(reverse("claims:detail", args=[claim.pk])).content.decode()
    assert "给付说明" in page and "非住院费用" in page
    for hidden in ("拦截原因", "输入摘要", "inscp_scp_amt", "NOT_INPATIENT", "RANDOM_SAMPLE"):
        assert hidden not in page, hidden
    staff = Client()
    staff.force_login(w.wangwu)
    page = staff.get(reverse("claims:detail", args=[claim.pk])).content.decode()
    assert "拦截原因" in page and "输入摘要" in page and "非住院费用" in page
