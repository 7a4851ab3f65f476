"""The OpenAPI document says what the server really answers (issue 11, part 2).

flask-smorest documents each route from its decorators, which know nothing
of the hooks every request passes through first. This apispec plugin adds,
in one place, what those hooks and the error handlers really send:

- validation is ``400 E0000001`` on Okta's APIs (flask-smorest would say
  422); the request-decoding step (NUL, lone surrogates, depth) can answer it
  on any operation; a body over ``REQUEST_BODY_MAX_BYTES`` is ``413``;
- an SSWS-protected operation can answer ``401 E0000011``, one with a path
  id ``404 E0000007``;
- under ``/auth/`` the same in WorkOS's shape (``{code, message, errors}``,
  validation ``422``);
- security as it is: ``/healthz`` and the Swagger assets are public, and
  ``/api/v1/sessions/me*`` uses the session cookie (the ``sid`` scheme).
"""

from __future__ import annotations

import copy
from typing import Any

from apispec import APISpec, BasePlugin

from app.api import openapi_examples

OKTA_ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/OktaError"}}}
WORKOS_ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/WorkOSError"}}}
BODY_METHODS = frozenset({"post", "put", "patch"})
PUBLIC_PREFIXES = ("/healthz", "/docs/")
COOKIE_PREFIX = "/api/v1/sessions/me"
WORKOS_PREFIX = "/auth/"
#: Where an operation can be refused for the state of what it acts on (403).
REFUSING_PREFIXES = ("/api/v1/authn", "/api/v1/users", "/api/v1/sessions")

WORKOS_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "WorkOS's error shape",
    "properties": {
        "code": {"type": "string", "description": "e.g. invalid_request_parameters"},
        "message": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": "string"},
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                },
            },
        },
    },
    "required": ["message"],
}


def _okta(description: str) -> dict[str, Any]:
    return {"description": description, "content": OKTA_ERROR}


def _workos(description: str) -> dict[str, Any]:
    return {"description": description, "content": WORKOS_ERROR}


def _unavailable(path: str) -> dict[str, Any]:
    """A store the operation needs is unreachable (app.api.outages), or the
    carrier of a code or e-mail it sends (app.domain.errors.CarrierUnreachable)."""
    answer = (_workos if path.startswith(WORKOS_PREFIX) else _okta)(
        "E0000010 (WorkOS: service_unavailable, or sms_delivery_failed for an SMS challenge):"
        " Redis or the database is unreachable, or the SMS/voice carrier or e-mail relay a"
        " code or link is sent through"
    )
    answer["headers"] = {
        "Retry-After": {"description": "OUTAGE_RETRY_AFTER seconds", "schema": {"type": "integer"}}
    }
    return answer


class ContractPlugin(BasePlugin):
    """Normalise every operation as it is added (see the module doc)."""

    def init_spec(self, spec: APISpec) -> None:
        self.spec = spec
        spec.components.schema("WorkOSError", WORKOS_ERROR_SCHEMA)
        spec.components.security_scheme(
            "sid",
            {
                "type": "apiKey",
                "in": "cookie",
                "name": "sid",
                "description": "The session cookie set by /login/sessionCookieRedirect "
                "(its name is SESSION_COOKIE_NAME)",
            },
        )

    def operation_helper(
        self, path: str | None = None, operations: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        if not path or not operations:
            return
        for method, operation in operations.items():
            if isinstance(operation, dict) and method != "parameters":
                _normalise(path, method, operation)


def _normalise(path: str, method: str, operation: dict[str, Any]) -> None:
    # flask-smorest keys some statuses by int (422): one key per status.
    responses: dict[str, Any] = {
        str(status): copy.deepcopy(answer)  # shared dicts (login's) stay untouched
        for status, answer in operation.get("responses", {}).items()
    }
    operation["responses"] = responses
    openapi_examples.attach(path, method, responses)  # recorded answers (make openapi-examples)
    if path.startswith(PUBLIC_PREFIXES):
        operation["security"] = []
    elif path.startswith(COOKIE_PREFIX):
        operation["security"] = [{"sid": []}]
    secured = operation.get("security") != []
    has_id = "{" in path
    has_body = method in BODY_METHODS
    if not path.startswith(PUBLIC_PREFIXES):
        responses.setdefault("503", _unavailable(path))
    if path.startswith(WORKOS_PREFIX):
        responses["default"] = _workos("Any other error, in WorkOS's shape (405, 500)")
        responses["422"] = _workos(
            "Validation failed (invalid_request_parameters), or a NUL or lone surrogate"
        )
        if secured:
            responses.setdefault("401", _workos("No valid API key (Bearer sk_…)"))
        if has_id:
            responses.setdefault("404", _workos("No such factor or challenge"))
        if has_body:
            responses.setdefault("400", _workos("invalid_json: the body is not JSON"))
            responses.setdefault("413", _workos("The body is over REQUEST_BODY_MAX_BYTES"))
        return
    responses.pop("422", None)  # webargs' status; the error handler answers 400
    invalid = _okta("E0000001: validation failed (a field, or a NUL, lone surrogate or deep JSON)")
    if "400" in responses:  # an HTML page of its own (the cookie hand-off): JSON too
        responses["400"].setdefault("content", {}).update(invalid["content"])
    responses.setdefault("400", invalid)
    if secured and not path.startswith(COOKIE_PREFIX):
        responses.setdefault("401", _okta("E0000011: no valid SSWS token"))
    elif path.startswith(COOKIE_PREFIX):
        responses.setdefault("404", _okta("E0000007: no session cookie, or it has ended"))
    if has_id:
        responses.setdefault("404", _okta("E0000007: not found"))
    if path.startswith("/api/v1/authn"):
        responses.setdefault(
            "401", _okta("E0000004: authentication failed; E0000011: the stateToken is invalid")
        )
    if path.startswith(REFUSING_PREFIXES) and method != "get":
        responses.setdefault(
            "403",
            _okta(
                "Refused in the resource's state: E0000079 (not allowed in this status), "
                "E0000068 (wrong code or answer), E0000069 (locked out), E0000038, E0000014, …"
            ),
        )
    if "/factors" in path and method == "post":
        responses.setdefault(
            "429",
            _okta("E0000109 / E0000113 / E0000118: a code was sent moments ago; Retry-After"),
        )
    if has_body:
        responses.setdefault("413", _okta("E0000001: the body is over REQUEST_BODY_MAX_BYTES"))
