"""``Authorization: SSWS <token>`` on every admin API."""

from __future__ import annotations

from flask import g, request

from app.api.runtime import context
from app.domain.errors import InvalidToken
from app.services import api_tokens

SCHEME = "SSWS"


def require_api_token() -> None:
    """A ``before_request`` hook for admin blueprints; raises 401 E0000011."""
    if request.method == "OPTIONS":
        return
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme != SCHEME or not value.strip():
        raise InvalidToken()
    g.api_token = api_tokens.authenticate(context(), value.strip())
