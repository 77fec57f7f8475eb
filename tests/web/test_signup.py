"""A member signs up himself (issue 14 part 7): ID number, name and phone must match his record,
confirmed by an SMS code; nothing tells an unknown ID number from a wrong code; rate limits."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
import time_machine
from django.test import Client

from huzhu.accounts.models import SignupCode, User
from huzhu.accounts.signup import SENT, TOO_MANY, WRONG_CODE
from huzhu.audit.models import Action, Event
from huzhu.demo.identities import resident_id
from huzhu.notices.models import OutboxMessage
from huzhu.notices.services import open_params

pytestmark = pytest.mark.django_db

UNKNOWN_ID = resident_id("450103", datetime.date(1970, 1, 1), 55)


def _request(client: Client, id_number: str, name: str, phone: str) -> Any:
    return client.post("/signup/", {"step": "request", "id_number": id_number, "name": name,
                                    "phone": phone})


def _confirm(client: Client, id_number: str, name: str, phone: str, code: str,
             username: str = "zhangsan2") -> Any:
    return client.post("/signup/", {"step": "confirm", "id_number": id_number, "name": name,
                                    "phone": phone, "code": code, "username": username,
                                    "password": "Mutual-Aid-2027!"})


def _last_code() -> str:
    message = OutboxMessage.objects.filter(template="SIGNUP_CODE").latest("id")
    return open_params(message.params)["code"]


@pytest.fixture
def chenba(world: Any) -> Any:
    """陈八 has a member record and no account yet."""
    return world.chenba


def test_a_member_signs_up_with_the_code_and_logs_in(world: Any, chenba: Any):
    client = Client()
    response = _request(client, chenba.id_number, "陈八", "13912345678")
    assert SENT in response.content.decode()
    code = _last_code()
    stored = OutboxMessage.objects.get(template="SIGNUP_CODE").params["code"]
    assert stored != code and stored.startswith("sealed:")
    response = _confirm(client, chenba.id_number, "陈八", "13912345678", code)
    assert response.status_code == 302 and response["Location"] == "/login/"
    user = User.objects.get(username="zhangsan2")
    assert user.role == "member" and user.member_id == chenba.pk
    created = Event.objects.filter(action=Action.USER_CREATED, object_id=str(user.pk)).get()
    assert created.actor_label == "会员自助注册" and created.org_path == chenba.org_path
    assert Client().login(username="zhangsan2", password="Mutual-Aid-2027!")
    # The code served once.
    again = _confirm(Client(), chenba.id_number, "陈八", "13912345678", code, "other-name")
    assert WRONG_CODE in again.content.decode()


def test_unknown_id_wrong_name_and_wrong_code_answer_alike(world: Any, chenba: Any):
    answers = {}
    client = Client()
    for label, (id_number, name) in {
        "unknown": (UNKNOWN_ID, "陈八"), "wrong_name": (chenba.id_number, "陈九"),
        "wrong_phone": (chenba.id_number, "陈八"), "real": (chenba.id_number, "陈八"),
    }.items():
        phone = "13900000000" if label == "wrong_phone" else "13912345678"
        requested = _request(client, id_number, name, phone)
        wrong = f"{(int(_last_code()) + 1) % 1_000_000:06d}" if label == "real" else "123456"
        confirmed = _confirm(client, id_number, name, phone, wrong)
        answers[label] = (requested.status_code, repr(_errors(requested)),
                          SENT in requested.content.decode(),
                          confirmed.status_code, repr(_errors(confirmed)))
    assert len(set(answers.values())) == 1, answers
    assert answers["real"][4] == repr({"code": [WRONG_CODE]})
    # Only the real one got an SMS; nobody got an account.
    assert OutboxMessage.objects.filter(template="SIGNUP_CODE").count() == 1
    assert not User.objects.filter(member=chenba).exists()


def _errors(response: Any) -> Any:
    form = response.context["form"] if response.context else None
    return {k: list(v) for k, v in form.errors.items()} if form is not None else None


def test_bad_shapes_are_named_in_chinese(world: Any):
    response = _request(Client(), "12345", "", "139")
    errors = _errors(response)
    assert set(errors) == {"id_number", "name", "phone"}
    assert "手机号应为 11 位" in errors["phone"][0]
    assert not SignupCode.objects.exists()


def test_codes_are_short_lived_and_die_after_five_wrong_tries(world: Any, chenba: Any):
    with time_machine.travel("2026-03-02 09:00 +0800", tick=False) as traveller:
        _request(Client(), chenba.id_number, "陈八", "13912345678")
        code = _last_code()
        traveller.shift(11 * 60)  # 10 minutes is all a code lives
        response = _confirm(Client(), chenba.id_number, "陈八", "13912345678", code)
        assert WRONG_CODE in response.content.decode()
        _request(Client(), chenba.id_number, "陈八", "13912345678")
        code = _last_code()
        for _ in range(5):
            _confirm(Client(), chenba.id_number, "陈八", "13912345678", "999999")
        response = _confirm(Client(), chenba.id_number, "陈八", "13912345678", code)
        assert WRONG_CODE in response.content.decode()  # right, but too late
    assert not User.objects.filter(member=chenba).exists()
    assert Event.objects.filter(action=Action.SIGNUP_FAILED).count() == 7


def test_requests_are_rate_limited_per_id_number_known_or_not(world: Any, chenba: Any):
    with time_machine.travel("2026-03-02 09:00 +0800", tick=False) as traveller:
        for address, id_number in (("10.0.0.1", chenba.id_number), ("10.0.0.2", UNKNOWN_ID)):
            client = Client(REMOTE_ADDR=address)
            for _ in range(3):
                assert SENT in _request(client, id_number, "陈八",
                                        "13912345678").content.decode()
            limited = _request(client, id_number, "陈八", "13912345678").content.decode()
            assert TOO_MANY in limited and SENT not in limited
        assert OutboxMessage.objects.filter(template="SIGNUP_CODE").count() == 3
        traveller.shift(3601)
        assert SENT in _request(Client(), chenba.id_number, "陈八",
                                "13912345678").content.decode()
    # Per address too: ten requests an hour from one address, whatever the ID number.
    client = Client(REMOTE_ADDR="10.9.9.9")
    for i in range(10):
        _request(client, resident_id("450103", datetime.date(1971, 1, 1 + i), 11), "某",
                 "13900000001")
    assert TOO_MANY in _request(client, resident_id("450103", datetime.date(1972, 1, 1), 11),
                                "某", "13900000001").content.decode()
