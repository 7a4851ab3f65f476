"""Rate limits on the endpoints anyone may call without a credential (flask-limiter).

``/api/v1/authn*`` takes a username and a password from anybody, so it is
limited per client address (``RATE_LIMIT_AUTHN``, default 300 requests a
minute): lockout stops guessing one user's password, this stops one client
from trying a password on many users (password spraying) or from flooding
the argon2id hashes. Okta counts its limits per organisation; a self-hosted
server has one organisation, so per client address is the useful key.

What a client sees is Okta's: every response on a limited path carries
``X-Rate-Limit-Limit``, ``X-Rate-Limit-Remaining`` and ``X-Rate-Limit-Reset``
(epoch seconds), and a request over the limit gets ``429 E0000047`` with
``Retry-After``. The counters live in the same Redis as everything else (one
fixed-window counter per client and minute), so every worker and host shares
them; with the embedded fakeredis they are in-process like the rest.

Behind a reverse proxy, set ``TRUSTED_PROXY_COUNT`` to the number of proxies
that append to ``X-Forwarded-For`` so that the client's address, not the
proxy's, is the key (werkzeug's ``ProxyFix``).
"""

from __future__ import annotations

from typing import Any, cast

from flask import Flask, Response, g, request
from flask_limiter import HeaderNames, Limiter
from limits import parse_many
from werkzeug.middleware.proxy_fix import ProxyFix

from app.config import Settings
from app.store import Stores

#: Paths under the per-client limit.
PREFIXES = ("/api/v1/authn",)
HEADERS = {
    HeaderNames.LIMIT: "X-Rate-Limit-Limit",
    HeaderNames.REMAINING: "X-Rate-Limit-Remaining",
    HeaderNames.RESET: "X-Rate-Limit-Reset",
    HeaderNames.RETRY_AFTER: "Retry-After",
}
EXTENSION = "portcullis.limiter"


def _client() -> str:
    return request.remote_addr or "unknown"


def _not_limited() -> bool:
    return request.method == "OPTIONS" or not request.path.startswith(PREFIXES)


def _retry_after_only_when_refused(response: Response) -> Response:
    """flask-limiter sends Retry-After on every answer; Okta only on a 429.
    A 503 keeps the one its outage set (app.api.outages), not the window's."""
    outage = g.get("outage_retry_after")
    if response.status_code == 503 and outage is not None:
        response.headers["Retry-After"] = outage
    elif response.status_code != 429:
        response.headers.pop("Retry-After", None)
    return response


def register(app: Flask, settings: Settings, stores: Stores) -> Limiter | None:
    """Limit ``PREFIXES`` per client; nothing when ``RATE_LIMIT_AUTHN`` is off."""
    if settings.trusted_proxy_count > 0:
        count = settings.trusted_proxy_count
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count)  # type: ignore[method-assign]
    limit = settings.rate_limit_authn.strip()
    if limit.lower() in ("", "off", "0"):
        return None
    try:
        parse_many(limit)
    except ValueError as exc:
        raise ValueError(
            f"RATE_LIMIT_AUTHN must look like '300 per minute' or 'off', got {limit!r}"
        ) from exc
    # Registered before the limiter's own hook, so it runs after it.
    app.after_request(_retry_after_only_when_refused)
    options = cast(dict[str, Any], {"connection_pool": stores.redis.connection_pool})
    limiter = Limiter(
        _client,
        app=app,
        application_limits=[limit],
        application_limits_exempt_when=_not_limited,
        headers_enabled=True,
        header_name_mapping=HEADERS,
        strategy="fixed-window",
        # The app's own Redis connection pool: a real Redis or the embedded fakeredis.
        storage_uri="redis://",
        storage_options=options,
        key_prefix="ratelimit",
    )
    app.extensions[EXTENSION] = limiter
    return limiter
