"""Rate limits on the endpoints anyone may call without a credential.

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
fixed-window counter per client and window), so every worker and host shares
them; with the embedded fakeredis they are in-process like the rest.

The count costs no round trip of its own: it rides with the request's first
Redis round trip (app.store.rate_limit), which does nothing else when the
client is over its limit. flask-limiter, used before, counts in a hook of
its own before the view: a round trip of its own on every call even when cut
to one (three as it comes: the count, then its value and its expiry for the
headers), on top of the two most calls need (issue 13: two in all). What
an over-limit request still costs: the reading of its body and, for a
password, the user's lookup and policy in SQL, which come before its first
round trip; never a hash, a lockout slot or a lease.

Behind a reverse proxy, set ``TRUSTED_PROXY_COUNT`` to the number of proxies
that append to ``X-Forwarded-For`` so that the client's address, not the
proxy's, is the key (werkzeug's ``ProxyFix``).
"""

from __future__ import annotations

import time

from flask import Flask, Response, g, request
from limits import RateLimitItem, parse_many
from werkzeug.middleware.proxy_fix import ProxyFix

from app.api.errors import error_response
from app.api.outages import REDIS_DOWN
from app.config import Settings
from app.domain.errors import ApiError
from app.store import Stores
from app.store.rate_limit import Hit, RateLimited, Window, defer, settle

#: Paths under the per-client limit.
PREFIXES = ("/api/v1/authn",)


def _limited() -> bool:
    return request.method != "OPTIONS" and request.path.startswith(PREFIXES)


def _windows(items: list[RateLimitItem], address: str) -> tuple[Window, ...]:
    return tuple(
        Window(
            f"ratelimit:{item.amount}/{item.get_expiry()}s:{address}",
            item.amount,
            item.get_expiry(),
        )
        for item in items
    )


def _refusal(hit: Hit) -> Response:
    wait = max(hit.ttl, 1)
    return error_response(ApiError("E0000047", headers={"Retry-After": str(wait)}))


def _refuse_in_place(response: Response, hit: Hit) -> None:
    """Turn an answer into the refusal, keeping the headers the other hooks
    (CORS, security headers) have already set on it."""
    refusal = _refusal(hit)
    response.status_code = refusal.status_code
    response.set_data(refusal.get_data())
    response.headers["Content-Type"] = refusal.headers["Content-Type"]
    response.headers["Retry-After"] = refusal.headers["Retry-After"]


def _with_headers(response: Response, hit: Hit) -> Response:
    assert hit.shown is not None
    response.headers["X-Rate-Limit-Limit"] = str(hit.shown.limit)
    response.headers["X-Rate-Limit-Remaining"] = str(hit.remaining)
    response.headers["X-Rate-Limit-Reset"] = str(int(time.time() + hit.ttl + 1))
    return response


def parse(limit: str) -> list[RateLimitItem]:
    """``RATE_LIMIT_AUTHN`` as windows, shortest first; [] when it is off."""
    limit = limit.strip()
    if limit.lower() in ("", "off", "0"):
        return []
    try:
        items = parse_many(limit)
    except ValueError as exc:
        raise ValueError(
            f"RATE_LIMIT_AUTHN must look like '300 per minute' or 'off', got {limit!r}"
        ) from exc
    return sorted(items, key=lambda item: item.get_expiry())


def register(app: Flask, settings: Settings, stores: Stores) -> None:
    """Limit ``PREFIXES`` per client; nothing when ``RATE_LIMIT_AUTHN`` is off."""
    if settings.trusted_proxy_count > 0:
        count = settings.trusted_proxy_count
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count)  # type: ignore[method-assign]
    items = parse(settings.rate_limit_authn)
    if not items:
        return

    @app.before_request
    def count_with_the_first_round_trip() -> None:
        hit = Hit(_windows(items, request.remote_addr or "unknown")) if _limited() else None
        g.rate_limit_hit = hit
        defer(hit)  # also drops one a previous request on this thread left

    @app.after_request
    def answer_with_the_count(response: Response) -> Response:
        hit: Hit | None = g.pop("rate_limit_hit", None)
        defer(None)
        if hit is None:
            return response
        # A request whose round trips failed answers 503 already, uncounted;
        # one that made none (a 400, a 413) is counted now.
        if not hit.tried:
            defer(hit)
            try:
                settle(stores.redis)
            except RateLimited:
                _refuse_in_place(response, hit)
            except REDIS_DOWN:  # the answer stands, uncounted: it touched nothing
                defer(None)
                return response
        return _with_headers(response, hit) if hit.counted else response

    app.register_error_handler(RateLimited, lambda exc: _refusal(exc.hit))
