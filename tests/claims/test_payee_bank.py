"""A death benefit's beneficiary bank (受益人开户行) is an entry of the bank list: the filing
page offers the list, the service takes its 联行号 (or a text the list knows), refuses anything
else on the field with nothing written, and the payout line takes the chosen entry."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from huzhu.claims.models import Claim, ClaimEvent, ClaimKind
from huzhu.errors import DomainError
from huzhu.notices.models import OutboxMessage
from huzhu.payouts.models import PayoutLine
from huzhu.payouts.services import batch_build

from .test_claim_types import (  # noqa: F401
    ACCIDENT,
    BENEFICIARY_CARD,
    BENEFICIARY_ID,
    file,
    types_world,
)

ABC = "103100000026"


def death(w, **kw):
    return file(w, ClaimKind.DEATH, ACCIDENT, relation="spouse", person_name="李红",
                person_id_number=BENEFICIARY_ID, person_phone="13700001111",
                payee_card=BENEFICIARY_CARD, **kw)


@pytest.mark.parametrize("kw", [{"payee_bank_cnaps": "999999999999"},
                                {"payee_bank": "某某村镇银行"}, {}])
def test_a_bank_outside_the_list_is_refused_on_the_field(types_world, kw):  # noqa: F811
    w = types_world
    before = (Claim.objects.count(), OutboxMessage.objects.count())
    with pytest.raises(DomainError) as exc:
        death(w, **kw)
    message = exc.value.field_errors["payee_bank"][0]
    assert message in {"开户行请从银行名录中选择", "请选择受益人银行卡的开户行"}
    assert (Claim.objects.count(), OutboxMessage.objects.count()) == before


def test_the_chosen_entry_is_stored_and_paid_to(types_world):  # noqa: F811
    w = types_world
    claim = death(w, payee_bank_cnaps=ABC)
    ev = ClaimEvent.objects.get(claim=claim)
    assert (ev.payee_bank, ev.payee_bank_cnaps) == ("中国农业银行", ABC)
    batch = batch_build(fund_region=w.province, actor=w.qianjiu).batch
    line = PayoutLine.objects.get(batch=batch, payout__claim=claim)
    assert (line.bank_name, line.bank_cnaps, line.account_name) == ("中国农业银行", ABC, "李红")


def test_the_filing_page_offers_the_bank_list(types_world):  # noqa: F811
    w = types_world
    client = Client()
    client.force_login(w.lisi)
    html = client.get(reverse("claims:file_event", args=[w.zhangsan.pk])).content.decode()
    select = re.search(r'<select name="payee_bank"[^>]*>(.*?)</select>', html, re.S)
    assert select is not None and "data-bank-pick" in select.group(0)
    assert f'<option value="{ABC}">中国农业银行（北京）</option>' in select.group(1)
