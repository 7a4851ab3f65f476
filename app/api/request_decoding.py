"""The request-decoding step: what every request must be before a route sees it.

One place, at the edge, refuses what no field of any API may hold, before
authentication and before anything is hashed, looked up or stored:

- a NUL character (``\\u0000``, ``%00``) in the path, the query string, a form
  field or any string of a JSON body, keys included (PostgreSQL's text
  columns cannot hold one; no login, token or name needs one);
- a lone UTF-16 surrogate (``"\\ud800"`` in JSON), which is no character at
  all: it cannot be encoded as UTF-8, so it cannot be hashed or stored;
- ``NaN``, ``Infinity`` or a number too large for a double (``1e999``), which
  Python's JSON reader takes but JSON cannot carry back (PostgreSQL's jsonb
  refuses them; SQLite would store them and answer invalid JSON);
- a JSON body nested deeper than ``REQUEST_JSON_MAX_DEPTH`` levels (no Okta
  or WorkOS body goes past five; a deep one costs recursion before anything
  looks at it);
- a JSON-typed body that is not JSON (``E0000003``, as before).

Each is ``400 E0000001`` with a cause naming where it was (``username``,
``profile.firstName``, ``query.q``, ``path``), or the WorkOS shape under
``/auth/``. The body is parsed once, here; routes read the cached result.
The schemas carry everything else (types, required fields, ``maxLength``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from flask import Flask, Response, request
from werkzeug.exceptions import BadRequest

from app.api.errors import FORM_PATHS, JSON_METHODS, error_response
from app.config import Settings
from app.domain.errors import ApiError

NUL = "\x00"


class Refused(Exception):
    """A value no field may hold, at ``where``."""

    def __init__(self, where: str, why: str) -> None:
        super().__init__(f"{where}: {why}")
        self.where = where
        self.why = why


def check_text(where: str, value: str) -> None:
    """Refuse NUL and lone surrogates in one decoded string."""
    if NUL in value:
        raise Refused(where, "The value cannot contain a NUL character (\\u0000).")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise Refused(
            where, "The value cannot contain a lone UTF-16 surrogate (not a character)."
        ) from None


def check_json(document: Any, max_depth: int) -> None:
    """Walk a parsed JSON document without recursion: its depth, and every key
    and string in it."""
    for where, value, depth in _walk(document):
        if depth > max_depth:
            raise Refused(
                "requestBody", f"The request body cannot be nested deeper than {max_depth} levels."
            )
        if isinstance(value, str):
            check_text(where or "requestBody", value)
        elif isinstance(value, float) and not math.isfinite(value):
            raise Refused(
                where or "requestBody",
                "The value is not a finite number (NaN, Infinity, or too large).",
            )


def _walk(document: Any) -> Iterator[tuple[str, Any, int]]:
    """(path, value, depth) of every node; keys are yielded as values too."""
    stack: list[tuple[str, Any, int]] = [("", document, 0)]
    while stack:
        where, value, depth = stack.pop()
        yield where, value, depth
        if isinstance(value, dict):
            for key, item in value.items():
                path = f"{where}.{key}" if where else str(key)
                yield where or "requestBody", key, depth + 1
                stack.append((path, item, depth + 1))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                stack.append((f"{where}[{index}]" if where else f"[{index}]", item, depth + 1))


def _safe_name(where: str) -> str:
    """A cause names the field; a hostile key must not come back verbatim."""
    return where.replace(NUL, "\\u0000").encode("utf-8", "backslashreplace").decode("utf-8")


def _check_url() -> None:
    check_text("path", request.path)
    for key, values in request.args.lists():
        check_text("query", key)
        for value in values:
            check_text(f"query.{key}", value)


def _check_body(max_depth: int) -> Response | None:
    if request.method not in JSON_METHODS:
        return None
    if request.path.startswith(FORM_PATHS):
        for key, values in request.form.lists():
            check_text("form", key)
            for value in values:
                check_text(key, value)
        return None
    data = request.get_data(cache=True)
    if not data.strip():
        return None
    if not request.is_json:
        return error_response(ApiError("E0000003"))
    try:
        document = request.get_json(cache=True)  # parsed once: routes read this
    except RecursionError:
        raise Refused(
            "requestBody", f"The request body cannot be nested deeper than {max_depth} levels."
        ) from None
    except BadRequest:
        return error_response(ApiError("E0000003"))
    check_json(document, max_depth)
    return None


def register(app: Flask, settings: Settings) -> None:
    """Refuse, before any route, what no field may hold (see the module doc)."""
    max_depth = settings.request_json_max_depth

    def decode() -> Response | None:
        try:
            _check_url()
            return _check_body(max_depth)
        except Refused as refused:
            where = _safe_name(refused.where)
            return error_response(
                ApiError("E0000001", detail=where, causes=[f"{where}: {refused.why}"])
            )

    app.before_request(decode)
