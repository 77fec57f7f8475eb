"""The union tree page: grassroots unions are counted beside their parent, not listed."""

from __future__ import annotations

import re

from django.test import Client
from django.urls import reverse


def test_tree_counts_the_grassroots_unions_below_each_organisation(world):
    client = Client()
    client.force_login(world.zhaoliu)  # city staff of 柳州: the subtree 柳州 → 城中区 → 企业基层工会
    body = client.get(reverse("web:org_tree")).content.decode()
    county = body.split(">城中区总工会</a>", 1)[1].split("</li>", 1)[0]
    assert re.search(r"基层工会\s*1\b", county)
    assert "城中区企业基层工会" not in body  # counted, not a node of its own
    city = body.split(">柳州市总工会</a>", 1)[1].split(">城中区总工会</a>", 1)[0]
    assert "基层工会" not in city  # none directly below the city
