"""Redis connections: a real server by URL, or an in-process fakeredis."""

from __future__ import annotations

import fakeredis
import redis

_FAKE_SERVERS: dict[str, fakeredis.FakeServer] = {}


def connect(url: str, timeout: float = 2.0) -> redis.Redis:
    """``redis://…`` / ``rediss://…`` / ``unix://…`` or ``fakeredis://[name]``.

    Each fakeredis name is one in-process server shared by every client made
    for it, so the app and the CLI in one process see the same data.
    ``timeout``: seconds to connect to a real server, and for each reply.
    """
    if url.startswith("fakeredis://"):
        name = url[len("fakeredis://") :] or "default"
        server = _FAKE_SERVERS.setdefault(name, fakeredis.FakeServer())
        return fakeredis.FakeRedis(server=server, decode_responses=True)
    # Nothing waits for ever (``timeout`` seconds to connect, and for each
    # reply); a connection that died is replaced on the next use.
    return redis.Redis.from_url(
        url,
        decode_responses=True,
        health_check_interval=30,
        socket_connect_timeout=timeout,
        socket_timeout=timeout,
    )
