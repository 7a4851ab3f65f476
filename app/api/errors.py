"""One place where errors become Okta's error object.

Every failure, from a domain ApiError to a routing 404, a webargs
validation error or an unexpected exception, is rendered as::

    {"errorCode": "E0000001", "errorSummary": "...", "errorLink": "E0000001",
     "errorId": "oae...", "errorCauses": [{"errorSummary": "..."}]}

No request ever gets an HTML error page or a stack trace.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from flask import Flask, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from app.domain import ids
from app.domain.errors import OKTA_ERRORS, ApiError
from app.domain.workos_mfa import WorkosError

log = logging.getLogger("portcullis.api")

JSON_METHODS = frozenset({"POST", "PUT", "PATCH"})
#: Browser hand-offs that take an HTML form's body, not JSON (their routes check it).
FORM_PATHS = ("/login/",)
HTTP_TO_OKTA = {
    400: "E0000003",
    401: "E0000011",
    403: "E0000006",
    404: "E0000007",
    405: "E0000022",
    429: "E0000047",
}


WORKOS_PREFIX = "/auth/"
#: Okta codes that the generic handlers raise, in WorkOS' words, for /auth/*.
WORKOS_EQUIVALENTS: dict[str, tuple[str | None, str]] = {
    "E0000003": ("invalid_json", "The request body is not valid JSON."),
    "E0000007": (None, "Not Found"),
    "E0000009": (None, "Internal Server Error"),
    "E0000010": ("service_unavailable", "Service is temporarily unavailable."),
    "E0000022": (None, "Method Not Allowed"),
}


def workos_response(error: WorkosError) -> Response:
    response = jsonify(error.body())
    response.status_code = error.status
    if "retry_after" in error.extra:
        response.headers["Retry-After"] = str(error.extra["retry_after"])
    return response


def _as_workos(error: ApiError) -> WorkosError:
    if error.status == 413:
        return WorkosError(413, error.causes[0].partition(": ")[2], "request_entity_too_large")
    if error.code == "E0000001":
        errors = []
        for cause in error.causes:
            field, _, message = cause.partition(": ")
            errors.append({"field": field, "code": "invalid", "message": message or cause})
        return WorkosError(422, "Validation failed", "invalid_request_parameters", errors)
    code, message = WORKOS_EQUIVALENTS.get(error.code, (None, error.summary))
    return WorkosError(error.status, message, code)


def error_response(error: ApiError) -> Response:
    """Okta's error object, or WorkOS' for the WorkOS-style API (``/auth/*``)."""
    if request.path.startswith(WORKOS_PREFIX):
        response = workos_response(_as_workos(error))
        response.headers.update(error.headers)
        return response
    body = {
        "errorCode": error.code,
        "errorSummary": error.summary,
        "errorLink": error.code,
        "errorId": ids.new_id(ids.ERROR, 25),  # oae and 22, as in Okta's recordings
        "errorCauses": [{"errorSummary": cause} for cause in error.causes],
    }
    response = jsonify(body)
    response.status_code = error.status
    for name, value in error.headers.items():
        response.headers[name] = value
    return response


def _flatten(messages: Any, prefix: str = "") -> Iterable[str]:
    """webargs/marshmallow messages → Okta causes such as ``profile.email: …``."""
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            name = key if key != "_schema" else ""
            path = f"{prefix}.{name}" if prefix and name else (name or prefix)
            yield from _flatten(value, str(path))
    elif isinstance(messages, list | tuple):
        for item in messages:
            yield from _flatten(item, prefix)
    else:
        yield f"{prefix}: {messages}" if prefix else str(messages)


def _validation_error(exc: HTTPException) -> ApiError:
    messages = getattr(exc, "data", {}).get("messages", {})
    # webargs groups messages by location ("json", "query"); drop that level.
    if isinstance(messages, Mapping):
        merged: dict[str, Any] = {}
        for value in messages.values():
            if isinstance(value, Mapping):
                merged.update(value)
        messages = merged or messages
    causes = list(_flatten(messages)) or ["The request was not valid"]
    field = causes[0].split(":", 1)[0]
    return ApiError("E0000001", detail=field, causes=causes)


def _http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    if status == 422:
        return error_response(_validation_error(exc))
    if status == 404:
        return error_response(ApiError("E0000007", detail=f"{request.path} (Resource)"))
    if status == 413:
        return error_response(_body_too_large())
    code = HTTP_TO_OKTA.get(status)
    if isinstance(exc, MethodNotAllowed):  # RFC 9110 15.5.6: a 405 says what is allowed
        allowed = ", ".join(sorted(set(exc.valid_methods or ())))
        return error_response(ApiError("E0000022", headers={"Allow": allowed} if allowed else {}))
    if code is None:
        error = ApiError("E0000009")
        error.status = status
        error.summary = exc.description or error.summary
        return error_response(error)
    error = ApiError(code)
    error.status = status
    return error_response(error)


def _body_too_large() -> ApiError:
    """413: Okta has no code of its own for it, so E0000001 with status 413
    and a cause naming the body (see docs/errors.md)."""
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    cause = f"requestBody: The request body cannot exceed {limit} bytes."
    return ApiError("E0000001", detail="requestBody", causes=[cause], status=413)


def unexpected(exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.path)
    return error_response(ApiError("E0000009"))


def _no_body_for_204(response: Response) -> Response:
    # A 204 has no body, so it has no content type either (clients such as the
    # workos SDK try to parse a JSON-typed empty body and fail).
    if response.status_code == 204:
        response.set_data(b"")
        del response.headers["Content-Type"]
    return response


def register(app: Flask) -> None:
    app.register_error_handler(ApiError, error_response)
    app.register_error_handler(WorkosError, workos_response)
    app.after_request(_no_body_for_204)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, unexpected)


__all__ = ["OKTA_ERRORS", "error_response", "register", "unexpected"]
