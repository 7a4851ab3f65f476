"""Every operation of /openapi.json has an example taken from a real answer
(issue 11, part 2), each example fits its answer's schema, and the recorded
file is what scripts/openapi_examples.py records today."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import jsonschema_rs
from flask import Flask

from app.api import openapi_examples

ROOT = Path(__file__).resolve().parents[2]
JSON = "application/json"

#: Operations whose success answers are not JSON, so they have no example.
#: Every operation answering only ``204 No Content`` is exempt too (no body).
NOT_JSON = {
    "GET /login/sessionCookieRedirect": "302 to redirectUrl, with the session cookie",
    "POST /login/sessionCookieRedirect": "302 to redirectUrl, with the session cookie",
    "GET /api/v1/users/{user_id}/factors/{factor_id}/qr/{token}": "a PNG image",
    "GET /docs/assets/{filename}": "the Swagger UI's static files (CSS, JavaScript)",
}


def _walker():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(
        "openapi_examples_script", ROOT / "scripts" / "openapi_examples.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _document(app: Flask) -> dict[str, Any]:
    return app.test_client().get("/openapi.json").get_json()  # type: ignore[no-any-return]


def _operations(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        f"{method.upper()} {path}": operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method != "parameters"
    }


def _successes(operation: dict[str, Any]) -> dict[str, Any]:
    return {s: a for s, a in operation["responses"].items() if s[0] in "23"}


def _json_schema(schema: Any) -> Any:
    """OpenAPI 3.0's ``nullable`` as JSON Schema: the value may also be null."""
    if isinstance(schema, list):
        return [_json_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    converted = {k: _json_schema(v) for k, v in schema.items() if k != "nullable"}
    if schema.get("nullable"):
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


def test_every_operation_has_an_example(app: Flask) -> None:
    missing = []
    for key, operation in _operations(_document(app)).items():
        successes = _successes(operation)
        if key in NOT_JSON or (successes and set(successes) == {"204"}):
            assert not any(JSON in a.get("content", {}) for a in successes.values()), key
            continue
        examples = [
            a
            for a in operation["responses"].values()
            if "example" in a.get("content", {}).get(JSON, {})
        ]
        if not examples:
            missing.append(key)
    assert not missing, f"no example (run make openapi-examples): {missing}"


def test_examples_fit_their_schemas(app: Flask) -> None:
    document = _document(app)
    components = _json_schema(document["components"])
    checked = 0
    for key, operation in _operations(document).items():
        for status, answer in operation["responses"].items():
            media = answer.get("content", {}).get(JSON, {})
            if "example" not in media:
                continue
            schema = {**_json_schema(media["schema"]), "components": components}
            errors = [
                e.message
                for e in jsonschema_rs.Draft4Validator(schema).iter_errors(media["example"])
            ]
            assert not errors, (key, status, errors[:3])
            checked += 1
    assert checked >= len(_operations(document)) // 2


def test_the_schema_check_does_reject(app: Flask) -> None:
    """A control: the check above is not vacuous."""
    document = _document(app)
    answer = document["paths"]["/api/v1/users/{user_id}"]["get"]["responses"]["200"]
    schema = {
        **_json_schema(answer["content"][JSON]["schema"]),
        "components": _json_schema(document["components"]),
    }
    user = {**answer["content"][JSON]["example"], "id": 5}
    assert not jsonschema_rs.Draft4Validator(schema).is_valid(user)


def test_the_recorded_file_is_current(app: Flask, clock: Any) -> None:
    """Recording again calls every operation and finds the same answers (by
    operation and status: ids, tokens and times differ on every run)."""
    recorded = _walker().record(app, clock)
    served = _operations(_document(app))  # the dev outbox only on the embedded defaults
    committed = {
        key: answers
        for key, answers in json.loads(openapi_examples.RECORDED.read_text()).items()
        if key in served
    }
    shape = {key: sorted(answers) for key, answers in recorded.items()}
    assert shape == {key: sorted(answers) for key, answers in committed.items()}, (
        "run: make openapi-examples"
    )


def test_example_for_reads_the_recorded_file() -> None:
    health = openapi_examples.example_for("/healthz", "get", 200)
    assert health == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}
    assert openapi_examples.example_for("/healthz", "get", 503) is None
    assert openapi_examples.example_for("/api/v1/users/{user_id}", "delete", 204) is None
