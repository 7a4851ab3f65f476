"""A store that cannot be reached: ``503`` with ``Retry-After``, one log line per outage.

When Redis or PostgreSQL does not answer (connection refused, a timeout, a
failover in progress, a connection that died under the request), nothing
the request needed can be trusted, so nothing proceeds on a guess: the
answer is ``503 E0000010`` (Okta's one 503) with ``Retry-After:
OUTAGE_RETRY_AFTER`` and a cause naming the store, or WorkOS's shape under
``/auth/``. The unit of work has rolled back already; a sign-in step whose
transaction could not be read is refused, never allowed.

An outage is logged once when it starts (the store and the error class) and
once when a request finds the store answering again, with how long it lasted
and how many requests it refused; not once per request with a traceback:
those stay for real bugs (``app.api.errors``). The pings that notice the
recovery run in the background, and ``/healthz/live`` starts none.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import redis.exceptions
import sqlalchemy.exc
from flask import Flask, Response, request

from app.api.errors import error_response, unexpected
from app.domain.errors import ApiError
from app.services.context import Context

log = logging.getLogger("portcullis.outages")

#: What a store raises when it cannot be reached (as opposed to a bad query).
REDIS_DOWN = (
    redis.exceptions.ConnectionError,  # refused, reset, TimeoutError's parent too
    redis.exceptions.TimeoutError,
    redis.exceptions.BusyLoadingError,  # a restarted server loading its data
    redis.exceptions.ReadOnlyError,  # a replica that was the primary, mid-failover
)
DATABASE_DOWN = (
    sqlalchemy.exc.OperationalError,  # refused, timed out, terminated, shutting down
    sqlalchemy.exc.InterfaceError,  # the connection was closed under us
)


class Outages:
    """Which stores are down, as this process has seen them. While one is, a
    request's end starts a ping of it (at most one a second, in a thread of
    its own, so that no request waits on a store that does not answer), and
    the recovery is logged once, when it happens."""

    PROBE_EVERY = 1.0  # seconds

    def __init__(self, probes: dict[str, Callable[[], object]]) -> None:
        self._probes = probes
        self._down: dict[str, _Outage] = {}
        self._lock = threading.Lock()
        self._last_probe = 0.0
        self._probing = False

    def failed(self, store: str, exc: BaseException) -> None:
        with self._lock:
            outage = self._down.get(store)
            first = outage is None
            if outage is None:
                outage = self._down[store] = _Outage(time.monotonic())
            outage.refused += 1
            if first:  # the failure was the first probe
                self._last_probe = time.monotonic()
        if first:
            log.warning("%s is unreachable (%s): answering 503", store, type(exc).__name__)

    def probe_soon(self) -> None:
        """Ping the stores that are down, in the background, if one is due."""
        if not self._down:
            return
        now = time.monotonic()
        with self._lock:
            if self._probing or now - self._last_probe < self.PROBE_EVERY:
                return
            self._last_probe = now
            self._probing = True
        threading.Thread(target=self.probe, name="outage-probe", daemon=True).start()

    def probe(self) -> None:
        """Ping each store that is down; log the ones that answer again."""
        try:
            self._probe()
        finally:
            with self._lock:
                self._probing = False

    def _probe(self) -> None:
        with self._lock:
            down = sorted(self._down)
        for store in down:
            try:
                self._probes[store]()
            except Exception:  # still down: it was logged when it went
                continue
            with self._lock:
                outage = self._down.pop(store, None)
            if outage is not None:
                log.warning(
                    "%s answers again after %.1f s; %d requests were refused with 503",
                    store,
                    time.monotonic() - outage.since,
                    outage.refused,
                )


@dataclass
class _Outage:
    since: float  # time.monotonic() of the first refusal
    refused: int = 0  # requests answered 503 for this store, in this process


def _unreachable(exc: Exception) -> bool:
    """PostgreSQL's driver raises OperationalError only when the server cannot
    be used (refused, gone, a timeout); SQLite's also for a schema error, of
    which only a lock held too long is an outage."""
    original = getattr(exc, "orig", None)
    if isinstance(original, sqlite3.Error):
        return "locked" in str(original) or "busy" in str(original)
    return True


LIVENESS = "/healthz/live"
REDIS = "Redis"
DATABASE = "The database"


def register(app: Flask, ctx: Context) -> Outages:
    stores = ctx.stores
    outages = Outages({REDIS: stores.redis.ping, DATABASE: stores.database.ping})
    retry_after = str(ctx.settings.outage_retry_after)

    def unavailable(store: str, exc: BaseException) -> Response:
        outages.failed(store, exc)
        error = ApiError(
            "E0000010",
            causes=[f"{store} is unreachable: try again in {retry_after} seconds."],
            headers={"Retry-After": retry_after},
        )
        return error_response(error)

    def redis_down(exc: Exception) -> Response:
        return unavailable(REDIS, exc)

    def database_down(exc: Exception) -> Response:
        if not _unreachable(exc):  # a bug (a missing table, say): a 500 and its traceback
            return unexpected(exc)
        return unavailable(DATABASE, exc)

    def probe(response: Response) -> Response:
        if request.path != LIVENESS:
            outages.probe_soon()
        return response

    for redis_error in REDIS_DOWN:
        app.register_error_handler(redis_error, redis_down)
    for database_error in DATABASE_DOWN:
        app.register_error_handler(database_error, database_down)
    app.after_request(probe)
    return outages
