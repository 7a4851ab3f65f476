"""The check of a pooled PostgreSQL connection before it is handed out
(app.store.db._check_out): a connection the server ended is replaced before
any request uses it, and a healthy one costs no round trip."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from flask import Flask

from app import create_app
from app.services import api_tokens
from app.store import db, migrations
from tests.conftest import _reset_postgres, settings_for

pytestmark = pytest.mark.integration


@pytest.fixture
def served(tmp_path: Path, postgres_url: str) -> Iterator[tuple[Flask, dict[str, str], str]]:
    _reset_postgres(postgres_url)
    app = create_app(settings_for(tmp_path, database_url=postgres_url))
    ctx = app.extensions["portcullis"]
    migrations.upgrade(ctx.stores.database)
    _, token = api_tokens.create_token(ctx, "pool")
    yield app, {"Authorization": f"SSWS {token}"}, postgres_url
    ctx.stores.database.dispose()


def _pings(app: Flask, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    engine = app.extensions["portcullis"].stores.database.engine
    pings: list[int] = []
    real = engine.dialect.do_ping

    def counted(dbapi_connection: Any) -> bool:
        pings.append(1)
        return bool(real(dbapi_connection))

    monkeypatch.setattr(engine.dialect, "do_ping", counted)
    return pings


def _end_the_servers_side(url: str) -> int:
    """What a restart does to the pool: every other backend of the database ends."""
    with psycopg.connect(url, autocommit=True) as conn:
        ended = conn.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
    assert ended is not None
    return int(ended[0])


def test_a_healthy_pooled_connection_is_handed_out_without_a_ping(
    served: tuple[Flask, dict[str, str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    app, admin, _ = served
    client = app.test_client()
    assert client.get("/api/v1/users", headers=admin).status_code == 200
    pings = _pings(app, monkeypatch)
    for _ in range(20):
        assert client.get("/api/v1/users", headers=admin).status_code == 200
    assert pings == []
    # A connection idle past PING_IF_IDLE_SECONDS is pinged (a firewall may have dropped it).
    monkeypatch.setattr(db, "PING_IF_IDLE_SECONDS", -1.0)
    assert client.get("/api/v1/users", headers=admin).status_code == 200
    assert pings == [1]


def test_a_connection_the_server_ended_is_replaced_before_a_request_uses_it(
    served: tuple[Flask, dict[str, str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    app, admin, url = served
    client = app.test_client()
    assert client.get("/api/v1/users", headers=admin).status_code == 200
    assert _end_the_servers_side(url) >= 1
    pings = _pings(app, monkeypatch)
    # The server's goodbye reaches the pooled socket in a moment (no timed assertion:
    # the loop only waits for what the test needs to have happened).
    engine = app.extensions["portcullis"].stores.database.engine
    pooled = engine.pool._pool.queue  # type: ignore[attr-defined]
    deadline = time.monotonic() + 10
    while not all(db._readable(r.dbapi_connection) for r in pooled):
        assert time.monotonic() < deadline, "the ended connections never became readable"
        time.sleep(0.01)
    for _ in range(5):
        r = client.get("/api/v1/users", headers=admin)
        assert r.status_code == 200, r.get_json()
    assert pings == [1]  # the one ended connection, pinged once, then replaced
