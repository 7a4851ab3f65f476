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

Each limited request costs one Redis round trip (:class:`OneTripRedisStorage`):
flask-limiter's fixed window otherwise makes three (the counter, then its
value and its expiry for the headers).

Behind a reverse proxy, set ``TRUSTED_PROXY_COUNT`` to the number of proxies
that append to ``X-Forwarded-For`` so that the client's address, not the
proxy's, is the key (werkzeug's ``ProxyFix``).
"""

from __future__ import annotations

import time
from typing import Any, cast

from flask import Flask, Response, g, has_app_context, request
from flask_limiter import HeaderNames, Limiter
from limits import parse_many
from limits.storage import RedisStorage
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
#: The storage URI of :class:`OneTripRedisStorage`; the pool is the app's own.
STORAGE_URI = "portcullis+redis://"

# KEYS: the counter. ARGV: the window in seconds, the cost. {count, TTL in seconds}.
# The expiry is set whenever the counter has none (not only on the first hit),
# so a counter can never be left without one and refuse its client for ever.
_HIT = """
local count = redis.call('INCRBY', KEYS[1], ARGV[2])
local ttl = redis.call('TTL', KEYS[1])
if ttl < 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
"""


class OneTripRedisStorage(RedisStorage):
    """``limits``' Redis storage in one round trip per request.

    The fixed-window strategy hits the counter (one script) and, for the
    ``X-Rate-Limit-*`` headers, then asks for its value and its expiry: two
    more round trips for what the hit already knew. Here the hit's script
    answers both, and :meth:`get` and :meth:`get_expiry` give that answer
    back for the key this request hit. It is kept in ``flask.g``, so it never
    outlives the request; outside a request (the ``flask limiter`` commands)
    they ask Redis as before. The count is the one this request's hit made,
    which is what its ``X-Rate-Limit-Remaining`` should say.
    """

    STORAGE_SCHEME = ["portcullis+redis"]

    def initialize_storage(self, _uri: str) -> None:
        super().initialize_storage(_uri)
        self._hit = self.get_connection().register_script(_HIT)

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        count, ttl = self._hit([self.prefixed_key(key)], [expiry, amount])
        if has_app_context():
            g.rate_limit_window = (key, int(count), max(int(ttl), 0) + time.time())
        return int(count)

    def _seen(self, key: str) -> tuple[str, int, float] | None:
        window = g.get("rate_limit_window") if has_app_context() else None
        return window if window is not None and window[0] == key else None

    def get(self, key: str) -> int:
        window = self._seen(key)
        return window[1] if window else super().get(key)

    def get_expiry(self, key: str) -> float:
        window = self._seen(key)
        return window[2] if window else super().get_expiry(key)


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
        storage_uri=STORAGE_URI,
        storage_options=options,
        key_prefix="ratelimit",
    )
    app.extensions[EXTENSION] = limiter
    return limiter
