"""SMS through Aliyun and Tencent, against the local fake that answers as each provider
documents: accepted, throttled, a template the provider refuses, a time-out after the provider
took the message (queried, never resent), and a connection lost before it did."""

from __future__ import annotations

import datetime
import logging
from pathlib import Path

import pytest
import time_machine
from django.core.management import call_command

from huzhu.notices.apps import sms_configured
from huzhu.notices.gateways import default_gateway
from huzhu.notices.models import OutboxMessage, OutboxStatus
from huzhu.notices.providers import (
    AliyunGateway,
    ProviderConfigError,
    SmsConfig,
    TencentGateway,
    templates_load,
)
from huzhu.notices.services import notice_enqueue, outbox_resolve, outbox_send
from huzhu.notices.templates import TEMPLATES

from .fake_providers import KEY_ID, SECRET, FakeProviders

pytestmark = pytest.mark.django_db

PHONE = "13812345678"
PARAMS = {"name": "张三", "product": "住院医疗互助", "claim": "63", "amount": "1234.50",
          "card": "3029"}
ALIYUN_CODES = {name: f"SMS_{100000 + i}" for i, name in enumerate(sorted(TEMPLATES))}
TENCENT_IDS = {name: str(2000000 + i) for i, name in enumerate(sorted(TEMPLATES))}


@pytest.fixture
def fake():
    providers = FakeProviders()
    yield providers
    providers.close()


def config(provider: str, fake: FakeProviders, **kw) -> SmsConfig:
    return SmsConfig(provider=provider, access_key_id=KEY_ID, access_key_secret=SECRET,
                     sign_name="职工互助保障",
                     templates=ALIYUN_CODES if provider == "aliyun" else TENCENT_IDS,
                     endpoint=fake.url, sdk_app_id="1400000001", timeout=kw.pop("timeout", 5),
                     **kw)


def queue(key: str = "approved:63") -> OutboxMessage:
    message = notice_enqueue(key=key, template="CLAIM_APPROVED", phone=PHONE, params=PARAMS)
    assert message is not None
    return message


def state(message: OutboxMessage) -> tuple[str, int]:
    message.refresh_from_db()
    return message.status, message.attempts


@pytest.mark.parametrize("provider", ["aliyun", "tencent"])
def test_a_message_is_sent_signed_with_the_providers_template(provider, fake, caplog):
    caplog.set_level(logging.DEBUG)
    gateway = (AliyunGateway if provider == "aliyun" else TencentGateway)(config(provider, fake))
    message = queue()
    assert outbox_send(gateway=gateway) == {"sent": 1, "failed": 0, "unknown": 0}
    assert state(message) == (OutboxStatus.SENT, 1)
    assert fake.bad_signatures == 0
    [took] = fake.messages
    assert took["sign"] == "职工互助保障"
    if provider == "aliyun":
        assert took["phone"] == PHONE and took["template"] == ALIYUN_CODES["CLAIM_APPROVED"]
        assert took["params"] == PARAMS and took["out_id"] == "approved:63"
        assert message.provider_ref == took["biz_id"]
    else:
        assert took["phone"] == "+86" + PHONE
        assert took["template"] == TENCENT_IDS["CLAIM_APPROVED"] and took["app"] == "1400000001"
        # {1}…{5} in the platform template's order
        assert took["params"] == ["张三", "住院医疗互助", "63", "1234.50", "3029"]
        assert took["session"] == "approved:63" and message.provider_ref == took["serial"]
    assert PHONE not in caplog.text


@pytest.mark.parametrize(("provider", "words"), [("aliyun", "业务限流"),
                                                 ("tencent", "发送频率超过限制")])
def test_throttled_waits_for_the_next_round_then_goes(provider, words, fake):
    gateway = (AliyunGateway if provider == "aliyun" else TencentGateway)(config(provider, fake))
    message = queue()
    fake.mode[provider] = "throttled"
    assert outbox_send(gateway=gateway)["failed"] == 1
    assert state(message) == (OutboxStatus.PENDING, 1) and words in message.last_error
    fake.mode[provider] = "ok"
    assert outbox_send(gateway=gateway)["sent"] == 1
    assert state(message) == (OutboxStatus.SENT, 2) and len(fake.messages) == 1


@pytest.mark.parametrize("provider", ["aliyun", "tencent"])
def test_a_template_the_provider_refuses_fails_at_once(provider, fake):
    gateway = (AliyunGateway if provider == "aliyun" else TencentGateway)(config(provider, fake))
    message = queue()
    fake.mode[provider] = "bad_template"
    outbox_send(gateway=gateway)
    assert state(message) == (OutboxStatus.FAILED, 1)
    assert "短信模板不存在或未审核通过" in message.last_error
    outbox_send(gateway=gateway)
    assert state(message) == (OutboxStatus.FAILED, 1)  # not tried again


@pytest.mark.parametrize("provider", ["aliyun", "tencent"])
def test_a_time_out_is_queried_not_resent(provider, fake, settings):
    settings.SMS_QUERY_AFTER_SECONDS = 0
    gateway = (AliyunGateway if provider == "aliyun" else TencentGateway)(
        config(provider, fake, timeout=0.4))
    message = queue()
    fake.mode[provider] = "hang"
    assert outbox_send(gateway=gateway) == {"sent": 0, "failed": 0, "unknown": 1}
    assert state(message) == (OutboxStatus.SENDING, 1) and "无应答" in message.last_error
    fake.mode[provider] = "ok"
    outbox_send(gateway=gateway)  # the next round sends nothing: the outcome is unknown
    assert len(fake.messages) == 1
    assert outbox_resolve(gateway=gateway)["sent"] == 1
    assert state(message) == (OutboxStatus.SENT, 1) and len(fake.messages) == 1
    asked = [r for r in fake.received if r.get("Action") == "QuerySendDetails"
             or r.get("action") == "PullSmsSendStatus"]
    assert asked
    if provider == "aliyun":
        assert asked[0]["PhoneNumber"] == PHONE and len(asked[0]["SendDate"]) == 8


def test_aliyun_lost_before_the_provider_took_it_is_sent_again(fake, settings):
    settings.SMS_QUERY_AFTER_SECONDS = 0
    gateway = AliyunGateway(config("aliyun", fake, timeout=0.4))
    message = queue()
    fake.mode["aliyun"] = "lost"
    outbox_send(gateway=gateway)
    assert state(message)[0] == OutboxStatus.SENDING and not fake.messages
    fake.mode["aliyun"] = "ok"
    assert outbox_resolve(gateway=gateway)["retry"] == 1  # QuerySendDetails: no such OutId
    assert state(message)[0] == OutboxStatus.PENDING and "没有收到" in message.last_error
    outbox_send(gateway=gateway)
    assert state(message) == (OutboxStatus.SENT, 2) and len(fake.messages) == 1


def test_tencent_without_a_receipt_for_a_day_is_left_for_a_person(fake, settings):
    settings.SMS_QUERY_AFTER_SECONDS = 0
    gateway = TencentGateway(config("tencent", fake, timeout=0.4))
    message = queue()
    fake.mode["tencent"] = "lost"
    outbox_send(gateway=gateway)
    assert outbox_resolve(gateway=gateway) == {"sent": 0, "retry": 0, "failed": 0,
                                               "unknown": 1}
    assert state(message)[0] == OutboxStatus.SENDING
    with time_machine.travel(datetime.datetime.now(datetime.UTC)
                             + datetime.timedelta(days=1, minutes=1)):
        assert outbox_resolve(gateway=gateway)["failed"] == 1
    assert state(message)[0] == OutboxStatus.FAILED and "请人工核实" in message.last_error
    assert not fake.messages


def test_a_wrong_secret_is_refused_by_the_providers_check(fake):
    gateway = AliyunGateway(SmsConfig(
        provider="aliyun", access_key_id=KEY_ID, access_key_secret="wrong",
        sign_name="职工互助保障", templates=ALIYUN_CODES, endpoint=fake.url))
    message = queue()
    outbox_send(gateway=gateway)
    assert fake.bad_signatures == 1 and state(message)[0] == OutboxStatus.PENDING
    assert "SignatureDoesNotMatch" in message.last_error


def test_the_mapping_file_must_map_every_template(tmp_path: Path):
    good = tmp_path / "sms.toml"
    lines = ["[aliyun]"] + [f'{k} = "{v}"' for k, v in ALIYUN_CODES.items()]
    good.write_text("\n".join(lines), encoding="utf-8")
    assert templates_load(good, "aliyun") == ALIYUN_CODES
    partial = tmp_path / "partial.toml"
    partial.write_text("[aliyun]\nENROLLED = \"SMS_1\"\nNOPE = \"SMS_2\"\n", encoding="utf-8")
    with pytest.raises(ProviderConfigError) as err:
        templates_load(partial, "aliyun")
    assert "缺少" in str(err.value) and "CLAIM_PAID" in str(err.value) and "NOPE" in str(err.value)
    with pytest.raises(ProviderConfigError, match=r"没有 \[tencent\] 一节"):
        templates_load(good, "tencent")


def test_configured_provider_is_the_default_gateway_and_checked(fake, settings, tmp_path):
    mapping = tmp_path / "sms.toml"
    mapping.write_text("[tencent]\n" + "\n".join(f'{k} = "{v}"' for k, v in TENCENT_IDS.items()),
                       encoding="utf-8")
    settings.SMS = {"provider": "tencent", "access_key_id": KEY_ID, "access_key_secret": SECRET,
                    "sign_name": "职工互助保障", "templates": str(mapping), "endpoint": fake.url,
                    "region": "", "sdk_app_id": "1400000001", "timeout": 5.0}
    assert sms_configured() == []
    assert isinstance(default_gateway(), TencentGateway)
    message = queue()
    call_command("notices_send")
    assert state(message)[0] == OutboxStatus.SENT and fake.bad_signatures == 0
    settings.SMS = {**settings.SMS, "sdk_app_id": "", "access_key_id": ""}
    errors = sms_configured()
    assert errors and "HUZHU_SMS_ACCESS_KEY_ID" in errors[0].msg
