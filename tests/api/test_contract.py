"""The API's contract as the OpenAPI schema states it (ADR 0013).

Every operation documents its error answers with the one error body; a request of the wrong
shape answers 422 with that body, naming the field in Chinese; and types are strict: a JSON
``false`` is no integer, ``"5"`` is no integer in a body, and only ``YYYY-MM-DD`` is a date.
The schema-driven tests walk every operation, so a new endpoint is held to the same rules.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from huzhu.accounts.api import ErrorOut

WRITES = {"post", "put", "patch", "delete"}
ERROR_REF = "#/components/schemas/ErrorOut"

# The writes whose services can answer 409: a warning to confirm (USCC check digit, bank card
# Luhn check) or a clash with what exists (a second claim on one stay).
CONFLICTING = {
    ("post", "/api/units"), ("patch", "/api/units/{unit_id}"),
    ("post", "/api/members"), ("patch", "/api/members/{member_id}"),
    ("post", "/api/claims"),
}


def _schema() -> dict[str, Any]:
    response = Client().get("/api/openapi.json")
    assert response.status_code == 200
    return response.json()


def _operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method, path, op) for path, methods in schema["paths"].items()
            for method, op in methods.items()]


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        node = schema["components"]["schemas"][name]
    return node


def _kinds(schema: dict[str, Any], node: dict[str, Any]) -> set[str]:
    """The JSON types (and ``date``) a property accepts, through ``anyOf`` and ``$ref``."""
    node = _resolve(schema, node)
    kinds: set[str] = set()
    for option in node.get("anyOf", [node]):
        option = _resolve(schema, option)
        if option.get("format") == "date":
            kinds.add("date")
        elif "type" in option:
            kinds.add(option["type"])
    return kinds


def _body_fields(schema: dict[str, Any], op: dict[str, Any]) -> dict[str, set[str]]:
    content = op.get("requestBody", {}).get("content", {}).get("application/json")
    if content is None:
        return {}
    body = _resolve(schema, content["schema"])
    return {name: _kinds(schema, prop) for name, prop in body.get("properties", {}).items()}


def _concrete(path: str) -> str:
    """The path with every ``{id}`` filled in: validation answers before any lookup."""
    return path.replace("{", "").replace("}", "").replace(
        "org_id", "1").replace("unit_id", "1").replace("member_id", "1").replace(
        "roster_id", "1").replace("claim_id", "1").replace("period_id", "1")


def test_the_schema_is_walked_over_every_operation(world):
    operations = _operations(_schema())
    assert len(operations) >= 22
    assert ("get", "/api/enrollment/members/{member_id}/enrollments") in {
        (m, p) for m, p, _ in operations}


def _contract_gaps(schema: dict[str, Any]) -> list[str]:
    """What the operations of ``schema`` fail to document: 401, 403, 422 everywhere; 400
    wherever there is a body; 404 wherever the path names a record; 409 exactly on the writes
    that can conflict; every error with the ``ErrorOut`` body."""
    gaps: list[str] = []
    for method, path, op in _operations(schema):
        documented = {int(code) for code in op["responses"]}
        expected = {401, 403, 422}
        if "{" in path:
            expected.add(404)
        if "requestBody" in op:  # a body that cannot be parsed, or breaks a business rule
            expected.add(400)
        if (method, path) in CONFLICTING:
            expected.add(409)
        if not expected <= documented:
            gaps.append(f"{method.upper()} {path}: lacks {sorted(expected - documented)}")
        if 409 in documented and (method, path) not in CONFLICTING:
            gaps.append(f"{method.upper()} {path}: documents 409 but cannot conflict")
        for code, answer in op["responses"].items():
            if 400 <= int(code) < 600:
                ref = answer["content"]["application/json"]["schema"].get("$ref")
                if ref != ERROR_REF:
                    gaps.append(f"{method.upper()} {path} {code}: body {ref}, not ErrorOut")
    return gaps


def test_every_operation_documents_its_errors_with_the_one_error_body(world):
    schema = _schema()
    assert _contract_gaps(schema) == []
    body = schema["components"]["schemas"]["ErrorOut"]
    assert set(body["properties"]) == {"error", "code", "fields", "warnings"}
    assert set(body["required"]) == {"error", "code"}


def test_a_missing_error_answer_or_another_body_is_caught(world):
    """The walk fails when an operation forgets an answer or gives it another body."""
    schema = _schema()
    del schema["paths"]["/api/me"]["get"]["responses"]["403"]
    del schema["paths"]["/api/members/search"]["post"]["responses"]["400"]
    schema["paths"]["/api/units/{unit_id}"]["get"]["responses"]["404"]["content"][
        "application/json"]["schema"] = {"$ref": "#/components/schemas/UnitOut"}
    del schema["paths"]["/api/claims"]["post"]["responses"]["409"]
    schema["paths"]["/api/organisations"]["post"]["responses"]["409"] = (
        schema["paths"]["/api/units"]["post"]["responses"]["409"])
    assert sorted(_contract_gaps(schema)) == sorted([
        "GET /api/me: lacks [403]",
        "POST /api/members/search: lacks [400]",
        "GET /api/units/{unit_id} 404: body #/components/schemas/UnitOut, not ErrorOut",
        "POST /api/claims: lacks [409]",
        "POST /api/organisations: documents 409 but cannot conflict",
    ])


def _body_cases() -> list[tuple[str, str, str, Any]]:
    """(method, path, field, bad value) for every integer, boolean, text and date property of
    every JSON body: the wrong JSON type must be refused, not coerced."""
    from huzhu.api import api

    schema = json.loads(json.dumps(api.get_openapi_schema(), default=str))
    wrong = {"integer": [False, True, "5", 5.5], "boolean": [1, 0, "true"],
             "string": [5, True], "date": [0, 1700000000, "0", True]}
    cases = []
    for method, path, op in _operations(schema):
        for field, kinds in _body_fields(schema, op).items():
            for kind in kinds & set(wrong):
                for value in wrong[kind]:
                    if kind == "string" and "integer" in kinds:
                        continue
                    cases.append((method, path, field, value))
    return cases


BODY_CASES = _body_cases()


def test_body_cases_cover_the_integers_of_every_body():
    fields = {(m, p, f) for m, p, f, v in BODY_CASES if v is False}
    assert ("post", "/api/members/search", "offset") in fields
    assert ("post", "/api/members", "unit") in fields
    assert ("post", "/api/claims", "member_id") in fields
    assert len({(m, p) for m, p, _f in fields}) >= 7


@pytest.mark.parametrize("method, path, field, value", BODY_CASES,
                         ids=[f"{m}{p}:{f}={v!r}" for m, p, f, v in BODY_CASES])
def test_every_body_field_refuses_the_wrong_json_type(world, api_as, method, path, field,
                                                      value):
    client = api_as(world.wangwu)
    response = getattr(client, method)(_concrete(path).removeprefix("/api"), {field: value})
    assert response.status_code == 422, response.content
    body = response.json()
    assert body["code"] == "validation"
    assert field in body["fields"], body
    assert f"{field}：" in body["error"]


def test_offset_false_is_refused_in_chinese(world, api_as):
    response = api_as(world.wangwu).post("/members/search", {"q": "张", "offset": False})
    assert response.status_code == 422
    assert response.json() == {
        "error": "请求格式不符：offset：应为整数", "code": "validation",
        "fields": {"offset": ["应为整数"]}, "warnings": {}}
    fine = api_as(world.wangwu).post("/members/search", {"q": "张", "offset": 0})
    assert fine.status_code == 200 and fine.json()["count"] == 1


def test_an_integral_number_is_an_integer_as_json_schema_says(world, api_as):
    response = api_as(world.wangwu).post("/members/search", {"q": "张", "offset": 0.0,
                                                              "limit": 10.0})
    assert response.status_code == 200, response.content
    assert response.json()["limit"] == 10 and response.json()["offset"] == 0


def test_a_body_that_cannot_be_parsed_answers_400_with_the_error_body(world, api_as):
    client = api_as(world.wangwu)
    response = client.client.post("/api/members/search", b"\x00", content_type="application/json",
                                  **client._auth())
    assert response.status_code == 400
    assert response.json()["code"] == "unparsable"
    upload = client.client.post(f"/api/enrollment/units/{world.unit_a.pk}/rosters", b"x",
                                content_type="multipart/form-data", **client._auth())
    assert upload.status_code == 400, upload.content
    assert upload.json() == {"error": "请求体无法解析：应为 multipart/form-data，并带 boundary",
                             "code": "unparsable", "fields": {}, "warnings": {}}


def test_a_validation_answer_has_exactly_the_error_body(world, api_as):
    for bad in ([], {}, {"q": None}):
        response = api_as(world.wangwu).post("/members/search", bad)
        assert response.status_code == 422, (bad, response.content)
        assert set(response.json()) == set(ErrorOut.model_fields), bad
        assert response.json()["error"].startswith("请求格式不符：q："), bad
    for bad in ("张", 5, [1]):
        response = api_as(world.wangwu).post("/members/search", bad)
        assert response.status_code == 422, (bad, response.content)
        assert response.json() == {"error": "请求格式不符：请求体：应为对象", "code": "validation",
                                   "fields": {"__all__": ["应为对象"]}, "warnings": {}}


def test_a_string_is_not_an_integer_nor_a_number_a_string_in_a_body(world, api_as):
    client = api_as(world.lisi)
    response = client.post("/members", {"name": "刘一", "id_number": "450103199203040571",
                                        "unit": str(world.unit_a.pk), "is_hardship": 1})
    assert response.status_code == 422
    assert response.json()["fields"] == {"unit": ["应为整数"], "is_hardship": ["应为 true 或 false"]}


def _date_params(schema: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(method, path, p["name"]) for method, path, op in _operations(schema)
            for p in op.get("parameters", []) if "date" in _kinds(schema, p["schema"])]


@pytest.mark.parametrize("value", ["0", "1700000000", "true", "2026-02-30", "2026-1-5",
                                   "2026-01-01T00:00:00", "２０２６-０１-０１", ""])
def test_every_date_parameter_refuses_anything_but_yyyy_mm_dd(world, api_as, value):
    params = _date_params(_schema())
    assert ("get", "/api/enrollment/members/{member_id}/enrollments", "on") in params
    client = api_as(world.wangwu)
    for method, path, name in params:
        assert method == "get"
        response = client.get(_concrete(path).removeprefix("/api"), **{name: value})
        assert response.status_code == 422, (path, value, response.content)
        assert response.json()["fields"] == {name: ["应为日期（YYYY-MM-DD）"]}
        assert response.json()["error"] == f"请求格式不符：{name}：应为日期（YYYY-MM-DD）"


def test_on_0_is_refused_and_a_real_date_answers(world, api_as):
    client = api_as(world.wangwu)
    path = f"/enrollment/members/{world.zhangsan.pk}/enrollments"
    assert client.get(path, on="0").status_code == 422
    response = client.get(path, on="2026-02-28")
    assert response.status_code == 200, response.content
    assert response.json()["on"] == "2026-02-28"


def _integer_params(schema: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(method, path, p["name"]) for method, path, op in _operations(schema)
            for p in op.get("parameters", [])
            if p["in"] == "query" and "integer" in _kinds(schema, p["schema"])]


@pytest.mark.parametrize("value", ["true", "false", "1.5", "5abc", "１"])
def test_every_integer_query_parameter_refuses_what_is_not_a_decimal_integer(world, api_as,
                                                                             value):
    """Query values are text on the wire, so ``?limit=50`` is 50; a boolean is not."""
    params = _integer_params(_schema())
    assert ("get", "/api/members", "offset") in params and len(params) >= 9
    client = api_as(world.wangwu)
    for _method, path, name in params:
        response = client.get(_concrete(path).removeprefix("/api"), **{name: value})
        assert response.status_code == 422, (path, name, value, response.content)
        assert response.json()["fields"] == {name: ["应为整数"]}, (path, name, value)
