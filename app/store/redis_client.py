"""Redis connections: a real server by URL, a primary found through Sentinel,
or an in-process fakeredis."""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote

import redis
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.retry import Retry
from redis.sentinel import Sentinel, SentinelConnectionPool, SentinelManagedConnection

from app.store.rate_limit import guard

if TYPE_CHECKING:  # imported when a fakeredis:// URL asks for it: it brings numpy along
    import fakeredis

_FAKE_SERVERS: dict[str, fakeredis.FakeServer] = {}

#: One retry after a short pause, not redis-py's default of several: enough to
#: replace a pooled connection that died (a restart, a failover), and a
#: request on a Redis that does not answer waits about twice the timeout.
ONE_RETRY = Retry(ExponentialBackoff(cap=0.5, base=0.1), 1)

SENTINEL_SCHEME = "redis+sentinel"
SENTINEL_PORT = 26379
#: The only query parameter a Sentinel URL takes (the password of the sentinels
#: themselves, when they have one of their own).
_SENTINEL_OPTIONS = ("sentinel_password",)
#: Seconds between two questions to the sentinels, in each process, whether
#: the primary moved (:class:`_FollowingPool`).
SENTINEL_CHECK_EVERY = 1.0


@dataclass(frozen=True)
class SentinelUrl:
    """``redis+sentinel://[[user]:password@]host[:port][,host[:port]…]/service[/db]``.

    The spelling of the Redis-Sentinel-Url package, of the rate-limit
    library ``limits`` and of Prefect: sentinels comma-separated (port 26379 by
    default), the monitored service (Sentinel's "master name") as the first
    path segment, the database number as the second. The credentials are the
    data nodes' (primary and replicas); ``?sentinel_password=…`` is for
    sentinels that have a password of their own.
    """

    sentinels: tuple[tuple[str, int], ...]
    service: str
    db: int = 0
    username: str | None = None
    password: str | None = None
    sentinel_password: str | None = None

    @classmethod
    def parse(cls, url: str) -> SentinelUrl:
        """Parse ``url`` or raise ``ValueError`` saying what is wrong; the message
        never repeats the URL, which may hold a password."""
        # Split by hand: urlsplit refuses a host list that holds a [v6] address.
        scheme, sep, rest = url.partition("://")
        if scheme != SENTINEL_SCHEME or not sep:
            raise ValueError(f"REDIS_URL: a Sentinel URL starts with {SENTINEL_SCHEME}://")
        rest, hash_sign, _ = rest.partition("#")
        if hash_sign:
            raise ValueError("REDIS_URL: a Sentinel URL takes no #fragment")
        rest, _, query = rest.partition("?")
        netloc, slash, path = rest.partition("/")
        credentials, _, hosts = netloc.rpartition("@")
        username, password = _credentials(credentials)
        sentinels = tuple(_sentinel(item) for item in hosts.split(","))
        segments = path.split("/") if slash else []
        if not segments or not segments[0]:
            raise ValueError(
                "REDIS_URL: a Sentinel URL names the monitored service after the hosts "
                f"({SENTINEL_SCHEME}://host:26379/mymaster), and this one names none"
            )
        if len(segments) > 2:
            raise ValueError("REDIS_URL: a Sentinel URL's path is /service or /service/db")
        service = unquote(segments[0])
        db = _db(segments[1]) if len(segments) == 2 and segments[1] else 0
        options = parse_qs(query, keep_blank_values=True, strict_parsing=False)
        unknown = sorted(set(options) - set(_SENTINEL_OPTIONS))
        if unknown:
            raise ValueError(
                f"REDIS_URL: unknown Sentinel URL option(s) {', '.join(unknown)} "
                f"(the only one is sentinel_password)"
            )
        sentinel_password = options.get("sentinel_password", [None])[-1]
        return cls(sentinels, service, db, username, password, sentinel_password or None)


def _credentials(userinfo: str) -> tuple[str | None, str | None]:
    if not userinfo:
        return None, None
    user, colon, password = userinfo.partition(":")
    if not colon:  # "secret@host": redis-py reads a lone name as the password too
        return None, unquote(user) or None
    return unquote(user) or None, unquote(password) or None


def _sentinel(item: str) -> tuple[str, int]:
    """``host``, ``host:port``, ``[v6]`` or ``[v6]:port``."""
    if item.startswith("["):
        host, bracket, rest = item[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise ValueError(
                "REDIS_URL: a Sentinel host in brackets is [address] or [address]:port"
            )
        port = rest[1:]
    else:
        host, _, port = item.partition(":")
    if not host:
        raise ValueError(
            "REDIS_URL: a Sentinel URL lists host[:port] of each sentinel, comma-separated, "
            "and one of them is empty"
        )
    if not port:
        return host, SENTINEL_PORT
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"REDIS_URL: a sentinel's port must be 1 to 65535, got {port!r}")
    return host, int(port)


def _db(segment: str) -> int:
    if not segment.isdigit():
        raise ValueError(
            f"REDIS_URL: the database after the service must be a number, got {segment!r}"
        )
    return int(segment)


def connect(url: str, timeout: float = 2.0) -> redis.Redis:
    """``redis://…`` / ``rediss://…`` / ``unix://…``, ``redis+sentinel://…``
    (:class:`SentinelUrl`) or ``fakeredis://[name]``.

    Each fakeredis name is one in-process server shared by every client made
    for it, so the app and the CLI in one process see the same data.
    ``timeout``: seconds to connect to a real server, and for each reply.
    Every client carries a request's rate-limit count ahead of its first
    command (app.store.rate_limit).
    """
    return guard(_client(url, timeout))


def _client(url: str, timeout: float) -> redis.Redis:
    if url.startswith("fakeredis://"):
        name = url[len("fakeredis://") :] or "default"
        import fakeredis

        server = _FAKE_SERVERS.setdefault(name, fakeredis.FakeServer())
        return fakeredis.FakeRedis(server=server, decode_responses=True)
    if url.startswith(SENTINEL_SCHEME + ":"):
        return _sentinel_primary(SentinelUrl.parse(url), timeout)
    if url.startswith("rediss+sentinel:"):
        raise ValueError("REDIS_URL: TLS through Sentinel (rediss+sentinel://) is not supported")
    # Nothing waits for ever (``timeout`` seconds to connect, and for each
    # reply); a connection that died is replaced on the next use, by the one
    # retry: redis-py's default of several would hold a request on a silent
    # Redis for many times ``timeout`` before its 503. No health-check PING
    # before a command: the retry replaces a dead connection anyway, and the
    # PING, with retries of its own, doubled the wait on a silent Redis.
    return redis.Redis.from_url(
        url,
        decode_responses=True,
        socket_connect_timeout=timeout,
        socket_timeout=timeout,
        retry=ONE_RETRY,
    )


class _FollowingConnection(SentinelManagedConnection):
    """A Sentinel connection that asks the sentinels whenever it reconnects.

    redis-py (7.1 in redis/redis-py#3874, 8.1 here) reconnects a connection
    that a failed command dropped through ``connect_check_health``, to the
    address it had, not through the Sentinel connection's ``connect``, which
    asks the sentinels: the retry after a ``READONLY`` from a demoted primary
    went back to it (tests/integration/test_sentinel.py). A redis-py that
    reconnects through ``connect`` never calls this.
    """

    _connecting_to = False  # in connect_to, with an address just asked for

    def connect_to(self, address: tuple[str, int]) -> None:
        self._connecting_to = True
        try:
            super().connect_to(address)
        finally:
            self._connecting_to = False

    def connect_check_health(self, *args: Any, **kwargs: Any) -> None:
        if self._sock is None and not self._connecting_to:
            self.host, self.port = self.connection_pool.get_master_address()
        super().connect_check_health(*args, **kwargs)


class _FollowingPool(SentinelConnectionPool):
    """A Sentinel pool that also asks, at most every :data:`SENTINEL_CHECK_EVERY`
    seconds, whether the primary moved.

    redis-py's pool asks only when it opens a connection, and a promoted
    replica is not the end of a failover: Sentinel demotes the old primary
    only when it next hears from it (about eight seconds later when it is
    still up, as after ``SENTINEL FAILOVER``). Meanwhile the old primary
    still takes writes on the connections kept open to it, and drops them
    when it becomes a replica: sessions, lockout counts and replay marks
    written there would be lost. Moving on within a second bounds that loss.
    """

    def __init__(self, service_name: str, sentinel_manager: Sentinel, **kwargs: Any) -> None:
        self._checked = 0.0
        self._check_lock = threading.Lock()
        super().__init__(service_name, sentinel_manager, **kwargs)

    def get_connection(self, *args: Any, **kwargs: Any) -> Any:
        now = time.monotonic()
        with self._check_lock:
            due = now - self._checked >= SENTINEL_CHECK_EVERY
            if due:
                self._checked = now
        # No sentinel answering is no reason to drop a primary that may still
        # answer: the command itself finds out. (The request that asks waits
        # for the sentinels' timeouts, one request a second.)
        with contextlib.suppress(redis.exceptions.ConnectionError):
            if due:
                # Drops the idle connections when the address changed; one in
                # use is dropped when it is given back (owns_connection).
                self.get_master_address()
        return super().get_connection(*args, **kwargs)


def _sentinel_primary(parsed: SentinelUrl, timeout: float) -> redis.Redis:
    """A client of the service's primary, as the sentinels name it now.

    Its pool asks the sentinels for the primary's address at each new
    connection and drops idle connections to an address that is no longer
    the primary. A connection to a primary that was demoted under it gets
    ``READONLY`` on its next write; redis-py's ``SentinelManagedConnection``
    turns that into a disconnect and a ``ConnectionError``. The one retry
    below then reconnects through the sentinels (:class:`_FollowingConnection`),
    so a request that meets a finished failover goes through; one that meets
    it mid-way answers 503 (``app.api.outages``), and the next one heals, with
    no restart.
    """
    sentinels = Sentinel(
        list(parsed.sentinels),
        # The next sentinel in the list is the retry: one that does not
        # answer must not hold up discovery with retries of its own.
        sentinel_kwargs={
            "socket_connect_timeout": timeout,
            "socket_timeout": timeout,
            "password": parsed.sentinel_password,
            "retry": Retry(NoBackoff(), 0),
        },
    )
    primary: redis.Redis = sentinels.master_for(
        parsed.service,
        connection_pool_class=_FollowingPool,
        connection_class=_FollowingConnection,
        db=parsed.db,
        username=parsed.username,
        password=parsed.password,
        decode_responses=True,
        socket_connect_timeout=timeout,
        socket_timeout=timeout,
        # A request waits at most about twice ``timeout`` (per sentinel asked)
        # before its 503.
        retry=ONE_RETRY,
    )
    return primary
