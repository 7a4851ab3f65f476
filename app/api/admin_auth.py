"""``Authorization: SSWS <token>`` on every admin API."""

from __future__ import annotations

from flask import g, request

from app.api.runtime import context
from app.domain.errors import InvalidToken
from app.services import api_tokens

SCHEME = "SSWS"


def token_from(header: str) -> str | None:
    """The token of ``SSWS <token>``, or of ``SSWS<token>`` with no space, which
    is what Okta's own Python SDK (3.4.x) sends and Okta accepts."""
    if not header.startswith(SCHEME):
        return None
    value = header[len(SCHEME) :].strip()
    return value or None


def require_api_token() -> None:
    """A ``before_request`` hook for admin blueprints; raises 401 E0000011."""
    if request.method == "OPTIONS":
        return
    token = token_from(request.headers.get("Authorization", ""))
    if token is None:
        raise InvalidToken()
    g.api_token = api_tokens.authenticate(context(), token)
