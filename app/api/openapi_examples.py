"""Real answers as the examples of the OpenAPI document (issue 11, part 2).

``openapi_examples.json`` beside this module holds, for each operation, the
JSON body the server really answered on its success path, recorded by
``make openapi-examples`` (scripts/openapi_examples.py) against a server on
the embedded defaults. The document's contract plugin (app/api/openapi.py)
calls ``attach`` for every operation, so each recorded body becomes the
``example`` of its answer. Answers that are not JSON (204, the 302 of
/login/sessionCookieRedirect, a PNG QR code, the Swagger UI's files) have no
recorded body and so no example.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

RECORDED = Path(__file__).with_name("openapi_examples.json")
JSON = "application/json"


@cache
def _recorded() -> dict[str, dict[str, Any]]:
    """The file, read once. Missing (a build without it): no examples, not an error."""
    try:
        data: dict[str, dict[str, Any]] = json.loads(RECORDED.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    return data


def example_for(path: str, method: str, status: int | str) -> Any | None:
    """The recorded body of ``method path`` (an OpenAPI path template such as
    ``/api/v1/users/{user_id}``) answering ``status``, or None."""
    return _recorded().get(f"{method.upper()} {path}", {}).get(str(status))


def attach(path: str, method: str, responses: dict[str, Any]) -> None:
    """Set ``example`` on each JSON answer of ``responses`` that has a recorded body."""
    for status, answer in responses.items():
        content = answer.get("content", {}) if isinstance(answer, dict) else {}
        body = example_for(path, method, status)
        if body is not None and JSON in content:
            content[JSON]["example"] = body
