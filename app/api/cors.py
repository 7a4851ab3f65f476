"""CORS for the endpoints a browser client calls, granted per trusted origin.

flask-cors takes its allowed origins once, at start-up; trusted origins
change at run time through the API, so the grant is decided here per request:
only an active trusted origin with the CORS scope gets
``Access-Control-Allow-Origin`` (its own value, never ``*``) with
credentials. Any other origin gets no CORS headers at all, and the browser
withholds the response.
"""

from __future__ import annotations

from flask import Flask, Response, request

from app.api.runtime import context
from app.domain.origins import Scope
from app.services import trusted_origins

#: Paths a browser-based client (okta-auth-js, the Sign-In Widget) calls.
PREFIXES = (
    "/api/v1/authn",
    "/api/v1/sessions/me",
    "/api/v1/users/me",
)
#: Request headers the real clients send (preflight ``Access-Control-Request-Headers``).
ALLOWED_HEADERS = frozenset(
    {
        "accept",
        "accept-language",
        "authorization",
        "cache-control",
        "content-type",
        "pragma",
        "x-device-fingerprint",
        "x-okta-user-agent-extended",
        "x-okta-xsrftoken",
        "x-requested-with",
    }
)
ALLOWED_METHODS = "GET, POST, PUT, DELETE, OPTIONS"
#: Response headers a page may read: the rate limit's (app/api/rate_limits.py) and paging.
EXPOSED_HEADERS = (
    "Retry-After, Link, X-Rate-Limit-Limit, X-Rate-Limit-Remaining, X-Rate-Limit-Reset"
)
MAX_AGE = "600"


def _applies() -> bool:
    path = request.path
    if path.startswith("/api/v1/users/") and path.endswith("/factors/questions"):
        return True  # the question catalog a sign-in page reads during enrolment
    return path.startswith(PREFIXES)


def _granted(origin: str | None) -> bool:
    return bool(origin) and trusted_origins.allows(context(), origin, Scope.CORS)


def preflight() -> Response | None:
    """Answer ``OPTIONS`` preflights on the browser paths."""
    if request.method != "OPTIONS" or not _applies():
        return None
    response = Response(status=204)
    origin = request.headers.get("Origin")
    asked = request.headers.get("Access-Control-Request-Headers", "")
    headers = [h.strip().lower() for h in asked.split(",") if h.strip()]
    if _granted(origin) and all(h in ALLOWED_HEADERS for h in headers):
        response.headers["Access-Control-Allow-Origin"] = str(origin)
        response.headers["Access-Control-Allow-Credentials"] = "true"
        response.headers["Access-Control-Allow-Methods"] = ALLOWED_METHODS
        if headers:
            response.headers["Access-Control-Allow-Headers"] = ", ".join(headers)
        response.headers["Access-Control-Max-Age"] = MAX_AGE
    response.headers["Vary"] = "Origin"
    return response


def grant(response: Response) -> Response:
    """Add the CORS grant to actual requests from a trusted origin."""
    if not _applies() or request.method == "OPTIONS":
        return response
    response.vary.add("Origin")
    origin = request.headers.get("Origin")
    if _granted(origin):
        response.headers["Access-Control-Allow-Origin"] = str(origin)
        response.headers["Access-Control-Allow-Credentials"] = "true"
        response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
    return response


def register(app: Flask) -> None:
    app.before_request(preflight)
    app.after_request(grant)
