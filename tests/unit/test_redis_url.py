"""``REDIS_URL=redis+sentinel://…``: the forms accepted, and the ones that stop
the server at start with a message that says what is wrong (and never
repeats the URL, which may carry a password)."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis
from redis.sentinel import MasterNotFoundError, SentinelConnectionPool

from app import create_app
from app.store.redis_client import SentinelUrl, connect
from tests.conftest import settings_for

GOOD = [
    (
        "redis+sentinel://127.0.0.1:26379/mymaster",
        SentinelUrl((("127.0.0.1", 26379),), "mymaster"),
    ),
    (
        "redis+sentinel://s1,s2:26380,s3:1/mymaster/2",
        SentinelUrl((("s1", 26379), ("s2", 26380), ("s3", 1)), "mymaster", db=2),
    ),
    (
        "redis+sentinel://:p%40ss%3Aword@s1:26379/cache",
        SentinelUrl((("s1", 26379),), "cache", password="p@ss:word"),
    ),
    (
        "redis+sentinel://portcullis:secret@s1/mymaster/0?sentinel_password=other",
        SentinelUrl(
            (("s1", 26379),),
            "mymaster",
            username="portcullis",
            password="secret",
            sentinel_password="other",
        ),
    ),
    (
        "redis+sentinel://[::1]:26379,[fd00::2]/mymaster",
        SentinelUrl((("::1", 26379), ("fd00::2", 26379)), "mymaster"),
    ),
    ("redis+sentinel://s1/mymaster/", SentinelUrl((("s1", 26379),), "mymaster")),
]


@pytest.mark.parametrize(("url", "expected"), GOOD, ids=[url for url, _ in GOOD])
def test_good_forms(url: str, expected: SentinelUrl) -> None:
    assert SentinelUrl.parse(url) == expected


BAD = [
    ("redis+sentinel://s1:26379", "names the monitored service"),
    ("redis+sentinel://s1:26379/", "names the monitored service"),
    ("redis+sentinel://:secret@s1:26379/", "names the monitored service"),
    ("redis+sentinel:///mymaster", "one of them is empty"),
    ("redis+sentinel://s1,,s2/mymaster", "one of them is empty"),
    ("redis+sentinel://s1:0/mymaster", "port must be 1 to 65535, got '0'"),
    ("redis+sentinel://s1:65536/mymaster", "port must be 1 to 65535"),
    ("redis+sentinel://s1:x/mymaster", "port must be 1 to 65535, got 'x'"),
    ("redis+sentinel://[::1/mymaster", "in brackets"),
    ("redis+sentinel://s1/mymaster/one", "must be a number, got 'one'"),
    ("redis+sentinel://s1/mymaster/0/extra", "/service or /service/db"),
    ("redis+sentinel://s1/mymaster?socket_timeout=1", "unknown Sentinel URL option(s)"),
    ("redis+sentinel://s1/mymaster#x", "no #fragment"),
    ("rediss+sentinel://s1/mymaster", "TLS through Sentinel"),
]


@pytest.mark.parametrize(("url", "message"), BAD, ids=[url for url, _ in BAD])
def test_bad_forms_stop_the_server_at_start(tmp_path: Path, url: str, message: str) -> None:
    secret_url = url.replace("://", "://:hunter2@", 1) if "@" not in url else url
    with pytest.raises(ValueError, match="REDIS_URL") as refused:
        create_app(settings_for(tmp_path, redis_url=secret_url))
    assert message in str(refused.value)
    assert "hunter2" not in str(refused.value) and "secret" not in str(refused.value)


def test_the_client_asks_the_sentinels_with_the_timeouts() -> None:
    """Nothing is contacted until the first command; the pool is Sentinel's,
    decoding replies and bounded by REDIS_TIMEOUT like a plain URL's."""
    client = connect("redis+sentinel://:pw@127.0.0.1:1,127.0.0.1:2/mymaster/3", timeout=0.25)
    pool = client.connection_pool
    assert isinstance(pool, SentinelConnectionPool) and pool.service_name == "mymaster"
    kwargs = pool.connection_kwargs
    assert kwargs["db"] == 3 and kwargs["password"] == "pw" and kwargs["decode_responses"]
    assert kwargs["socket_timeout"] == kwargs["socket_connect_timeout"] == 0.25
    sentinels = pool.sentinel_manager.sentinels
    assert [s.connection_pool.connection_kwargs["port"] for s in sentinels] == [1, 2]
    assert all(s.connection_pool.connection_kwargs["socket_timeout"] == 0.25 for s in sentinels)
    # The servers' password is not sent to the sentinels, nor theirs to the servers.
    assert all(s.connection_pool.connection_kwargs["password"] is None for s in sentinels)
    other = connect("redis+sentinel://:pw@127.0.0.1:1/m?sentinel_password=sp", timeout=0.25)
    sentinel = other.connection_pool.sentinel_manager.sentinels[0]
    assert sentinel.connection_pool.connection_kwargs["password"] == "sp"
    assert other.connection_pool.connection_kwargs["password"] == "pw"


def test_no_sentinel_answering_is_a_connection_error() -> None:
    """MasterNotFoundError is a ConnectionError, so app.api.outages answers 503."""
    assert issubclass(MasterNotFoundError, redis.exceptions.ConnectionError)
    client = connect("redis+sentinel://127.0.0.1:1/mymaster", timeout=0.25)
    with pytest.raises(MasterNotFoundError):
        client.ping()
